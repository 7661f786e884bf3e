import Foundation
import Synchronization

/// The users the server knows, per tenant: learned at `hello` or provisioned with `user.put`.
///
/// Persisted as JSON lines in `users.jsonl` (the last line for a user wins), fsynced on every change.
public final class UserDirectory: Sendable {
    private let users: Mutex<[UserKey: UserRecord]>
    private let file: AppendOnlyFile

    public init(directory: URL) throws {
        let url = directory.appendingPathComponent("users.jsonl")
        var known: [UserKey: UserRecord] = [:]
        if var data = FileManager.default.contents(atPath: url.path) {
            if let last = data.last, last != UInt8(ascii: "\n") {
                // A torn last line (a crash mid-write) was never acknowledged: cut it, so the next
                // record starts on a line of its own.
                let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
                data = data.prefix(keep)
                guard truncate(url.path, off_t(keep)) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            }
            let decoder = JSONDecoder()
            for line in data.split(separator: UInt8(ascii: "\n")) {
                if let record = try? decoder.decode(UserRecord.self, from: line) {
                    known[record.key] = record
                }
            }
        }
        users = Mutex(known)
        file = try AppendOnlyFile(url: url)
    }

    /// The user `user` of `tenant`, if known.
    public func lookup(_ key: UserKey) -> UserRecord? {
        users.withLock { $0[key] }
    }

    /// Records `record`, persisting it when it is new or changed. Returns whether it changed.
    @discardableResult
    public func put(_ record: UserRecord) throws -> Bool {
        var line = try JSONEncoder().encode(record)
        line.append(UInt8(ascii: "\n"))
        // Appending under the lock keeps the file in the same order as memory.
        let changed = try users.withLock { users in
            guard users[record.key] != record else { return false }
            try file.append(line)
            users[record.key] = record
            return true
        }
        if changed { try file.sync() }
        return changed
    }

    /// Every known user of `tenant` with `role`.
    public func users(tenant: String, role: Role) -> [UserRecord] {
        users.withLock { $0.values.filter { $0.tenant == tenant && $0.role == role } }
    }
}
