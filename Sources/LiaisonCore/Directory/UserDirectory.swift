import Foundation
import LiaisonSync

/// The users the server knows, per tenant: learned at `hello` or provisioned with `user.put`.
///
/// Persisted as JSON lines in `users.jsonl` (the last line for a user wins); a change is synced on the
/// storage queue before `put` returns, so no task blocks on the disk. With a journal, each change is also
/// a `user.put` record of it, durable before `put` returns: in cluster mode the node that takes over
/// rebuilds the directory from those.
public final class UserDirectory: Sendable {
    private let users: Locked<[UserKey: UserRecord]>
    private let file: any AppendableFile
    private let io: IOQueue
    private let journal: (any JournalWriter)?

    /// Opens `users.jsonl` in `directory`, then applies the `user.put` records among `records` (a journal's).
    public init(directory: String, fileSystem: any FileSystem, io: IOQueue, journal: (any JournalWriter)? = nil,
                records: [Data] = []) throws {
        let path = Path.join(directory, "users.jsonl")
        var known: [UserKey: UserRecord] = [:]
        if var data = try fileSystem.contents(of: path) {
            if let last = data.last, last != UInt8(ascii: "\n") {
                // A torn last line (a crash mid-write) was never acknowledged: cut it, so the next
                // record starts on a line of its own.
                let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
                data = Array(data.prefix(keep))
                try fileSystem.cut(path, to: UInt64(keep))
            }
            let decoder = JSONDecoder()
            for line in data.split(separator: UInt8(ascii: "\n")) {
                if let record = try? decoder.decode(UserRecord.self, from: Data(line)) {
                    known[record.key] = record
                }
            }
        }
        let decoder = JSONDecoder()
        for data in records where JournalRecordType.may(data, be: UserPutRecord.type) {
            guard let record = try? decoder.decode(UserPutRecord.self, from: data), record.type == UserPutRecord.type
            else { continue }
            known[record.user.key] = record.user
        }
        users = Locked(known)
        file = try fileSystem.openDurably(path)
        self.io = io
        self.journal = journal
    }

    /// The user `user` of `tenant`, if known.
    public func lookup(_ key: UserKey) -> UserRecord? {
        users.withLock { $0[key] }
    }

    /// The display name of `user` of `tenant`: their name when known, else the id.
    public func name(of user: String, tenant: String) -> String {
        lookup(UserKey(tenant: tenant, user: user))?.name ?? user
    }

    /// Records `record`, persisting it when it is new or changed; returns once it is durable. Returns
    /// whether it changed.
    @discardableResult
    public func put(_ record: UserRecord) async throws -> Bool {
        var line = Array(try JSONEncoder().encode(record))
        line.append(UInt8(ascii: "\n"))
        // Appending under the lock keeps the file in the same order as memory.
        let changed = try users.withLock { users in
            guard users[record.key] != record else { return false }
            try file.append(line)
            users[record.key] = record
            return true
        }
        guard changed else { return false }
        try await io.run { [file] in try file.sync() }
        if let journal {
            let bytes = Array(try JSONEncoder().encode(UserPutRecord(user: record)))
            await withCheckedContinuation { done in journal.append(.bytes(bytes), kind: .kept) { done.resume() } }
        }
        return true
    }

    /// Up to `limit` users of `tenant` that `include` accepts, sorted by name (then id).
    public func search(tenant: String, limit: Int, where include: (UserRecord) -> Bool) -> [UserRecord] {
        let found = users.withLock { $0.values.filter { $0.tenant == tenant && include($0) } }
        return Array(found.sorted { ($0.name.lowercased(), $0.user) < ($1.name.lowercased(), $1.user) }.prefix(limit))
    }

    /// Every known user of `tenant` with `role`.
    public func users(tenant: String, role: Role) -> [UserRecord] {
        users.withLock { $0.values.filter { $0.tenant == tenant && $0.role == role } }
    }
}
