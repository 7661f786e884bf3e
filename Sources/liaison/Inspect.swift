import ArgumentParser
import Foundation
import LiaisonCore

/// `liaison inspect DATA_DIR`: a support tool for operators.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the rooms, message counts, journal size and last snapshot time of a data directory.")

    @Argument(help: "The data directory.") var dataDir: String = "data"

    func run() throws {
        let report = try DataDirectoryReport(directory: URL(fileURLWithPath: dataDir))
        let formatter = ISO8601DateFormatter()
        func time(_ millis: Millis?) -> String {
            millis.map { formatter.string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "never"
        }
        print("data directory: \(dataDir)")
        print("rooms: \(report.rooms.count), messages: \(report.rooms.reduce(0) { $0 + $1.messages }), user records: \(report.users)")
        print("journal: \(report.journalSegments) segment(s), \(report.journalBytes) bytes, \(report.journalRecords) room records not yet in snapshots")
        print("last snapshot: \(time(report.lastSnapshot))")
        if !report.rooms.isEmpty {
            print("")
            print("ROOM                   TENANT       KIND    MEMBERS  MESSAGES  SNAPSHOT")
            for room in report.rooms {
                print([room.id.padding(22), room.tenant.padding(12), room.kind.padding(7), String(room.members).padding(8),
                       String(room.messages).padding(9), time(room.snapshotAt)].joined(separator: " "))
            }
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
