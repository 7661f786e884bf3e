import Foundation
@testable import LiaisonCluster

extension JetStreamLog {
    /// Every record up to sequence `last`, oldest first (what the tests check a log holds).
    func readAll(through last: UInt64) throws -> [Data] {
        var records: [Data] = []
        try forEach(through: last) { record in records.append(Data(record.bytes)) }
        return records
    }
}
