import Foundation
import Logging
import Metrics

/// The files of every tenant: uploads in, records and encrypted bytes under `files/` in the data
/// directory, sharing into rooms, and who may read what — the uploader, and members of a room where
/// a message carried the file. Anyone else, in any tenant, is told the file does not exist.
public actor FileLibrary {
    public nonisolated let configuration: FilesConfiguration
    private nonisolated let dataKeys: DataKeys
    private nonisolated let directory: String
    private nonisolated let fileSystem: any FileSystem
    private let rooms: RoomService
    private let audit: AuditLog
    /// Where each change of a file's record is also recorded, durable before it is acted on.
    private let journal: (any JournalWriter)?
    /// Where the bytes are also kept (cluster mode).
    private let replica: (any FileReplica)?
    private let io = IOQueue(label: "liaison.files")
    /// Records read so far (the files themselves stay on disk).
    private var records: [String: StoredFile] = [:]
    /// Files being fetched from the cluster's copy, by id.
    private var fetching: [String: Task<Void, Never>] = [:]
    private let logger = Logger(label: "liaison.files")

    /// Opens `files/` under `dataDirectory` and writes the file records of the journal's `file.stored` records
    /// there (in cluster mode, files another node stored): uploads a crash cut short are removed, as are bytes
    /// whose record was never written.
    init(dataDirectory: String, configuration: FilesConfiguration, dataKeys: DataKeys, rooms: RoomService,
         audit: AuditLog, fileSystem: any FileSystem, journal: (any JournalWriter)? = nil, records: [Data] = [],
         replica: (any FileReplica)? = nil) throws {
        self.configuration = configuration
        self.dataKeys = dataKeys
        self.rooms = rooms
        self.audit = audit
        self.fileSystem = fileSystem
        self.journal = journal
        self.replica = replica
        directory = Path.join(dataDirectory, "files")
        let temporary = Path.join(directory, "tmp")
        try fileSystem.makeDirectory(directory)
        try fileSystem.makeDirectory(temporary)
        var latest: [String: [UInt8]] = [:]
        let decoder = JSONDecoder(), encoder = JSONEncoder()
        for data in records where JournalRecordType.may(data, be: FileStoredRecord.type) {
            guard let record = try? decoder.decode(FileStoredRecord.self, from: data), record.type == FileStoredRecord.type
            else { continue }
            latest[record.file.file] = Array(try encoder.encode(record.file))
        }
        for (id, bytes) in latest where Self.isID(id) {
            let meta = Path.join(directory, id + ".json")
            if try fileSystem.contents(of: meta) != bytes { try fileSystem.replace(meta, with: bytes) }
        }
        try fileSystem.remove(try fileSystem.list(temporary).map { Path.join(temporary, $0) }, in: temporary)
        let names = Set(try fileSystem.list(directory))
        let orphans = names.filter { $0.hasSuffix(".blob") && !names.contains($0.dropLast(5) + ".json") }
        try fileSystem.remove(orphans.map { Path.join(directory, $0) }, in: directory)
    }

    /// Starts an upload once its size and type are acceptable (413 / 415 otherwise). Safe on any thread.
    public nonisolated func beginUpload(tenant: String, uploader: String, name: String?, contentType: String,
                                        size: Int64) throws(FileRefusal) -> FileUpload {
        let type = try acceptedType(size: size, contentType: contentType)
        let id = Self.newID()
        do {
            return try FileUpload(
                file: id, tenant: tenant, uploader: uploader, name: Self.cleanName(name), contentType: type,
                expectedSize: size, temporaryPath: Path.join(Path.join(directory, "tmp"), id + ".part"),
                dataKeys: dataKeys, fileSystem: fileSystem)
        } catch {
            throw FileRefusal(500, "internal", "the upload could not be started")
        }
    }

    /// The bare content type of an upload of `size` bytes, or why it is refused (413, 415). Safe on any thread.
    public nonisolated func acceptedType(size: Int64, contentType: String) throws(FileRefusal) -> String {
        guard size <= configuration.maxFileBytes else {
            throw FileRefusal(413, "payload_too_large", "files may be at most \(configuration.maxFileBytes) bytes")
        }
        guard let type = configuration.allowed(contentType) else {
            throw FileRefusal(415, "unsupported_media_type", "files of type '\(contentType)' may not be uploaded")
        }
        return type
    }

    /// Seals, syncs and moves an upload in place, then writes its record: only then is it visible.
    public func finish(_ upload: FileUpload, device: String?) async throws -> StoredFile {
        let started = WallClock.now()
        let (blob, meta) = (blobPath(upload.file), metaPath(upload.file))
        let stored = try await io.run { [fileSystem] in
            let stored = try upload.seal(now: WallClock.now())
            try fileSystem.rename(upload.temporaryPath, to: blob)
            return stored
        }
        try await replica?.storeBlob(stored.file, from: blob)
        await journaled(stored)
        try await io.run { [fileSystem, directory] in
            try fileSystem.replace(meta, with: Array(try JSONEncoder().encode(stored)))
            try fileSystem.syncDirectory(directory)
        }
        records[stored.file] = stored
        FileMetrics.uploads.increment()
        FileMetrics.bytesIn.increment(by: Int64(stored.size))
        FileMetrics.uploadTime.recordMilliseconds(WallClock.now() - started)
        audit.record(AuditEvent("file.upload", tenant: stored.tenant, actor: stored.uploader, device: device, detail: [
            "file": stored.file, "size": String(stored.size), "sha256": stored.sha256, "content_type": stored.contentType,
        ]))
        return stored
    }

    /// Attaches files to a message in `room`: each must be the caller's own upload or one they can
    /// already read (`not_found` otherwise, as for a file that does not exist). Returns what the
    /// `msg` event carries, once the sharing is durable.
    func share(_ ids: [String], in room: String, tenant: String, by user: String) async throws(ProtocolError) -> [Attachment] {
        var attachments: [Attachment] = []
        for id in ids {
            guard var stored = await readable(id, tenant: tenant, user: user) else {
                throw ProtocolError(.notFound, "no file '\(id)'")
            }
            guard stored.erasedAt == nil else { throw ProtocolError(.notFound, "file '\(id)' was erased by retention") }
            if !stored.rooms.contains(room) {
                stored = records[id] ?? stored
                stored.rooms.append(room)
                records[id] = stored
                await journaled(stored)
                do {
                    try await io.run { [fileSystem, meta = metaPath(id), stored] in
                        try fileSystem.replace(meta, with: Array(try JSONEncoder().encode(stored)))
                    }
                } catch {
                    logger.error("sharing file \(id) could not be stored: \(error)")
                    throw ProtocolError(.internal, "the attachment could not be stored")
                }
            }
            attachments.append(Attachment(stored))
        }
        return attachments
    }

    /// Opens a file for the caller; nil when they may not read it or it
    /// does not exist. The download is audited here.
    public func open(_ id: String, tenant: String, user: String, device: String?) async -> FileReader? {
        guard let stored = await readable(id, tenant: tenant, user: user), stored.erasedAt == nil else { return nil }
        if let replica, !fileSystem.exists(blobPath(id)) { await fetch(id, from: replica) }
        guard let reader = try? FileReader(stored: stored, path: blobPath(id), dataKeys: dataKeys,
                                           fileSystem: fileSystem) else {
            logger.error("file \(id) could not be opened")
            return nil
        }
        FileMetrics.downloads.increment()
        audit.record(AuditEvent("file.download", tenant: tenant, actor: user, device: device, detail: [
            "file": id, "size": String(stored.size), "sha256": stored.sha256,
            "rooms": stored.rooms.joined(separator: ","),
        ]))
        return reader
    }

    /// Whether the caller could read the file but retention erased it (a `410`, not a `404`).
    public func isErased(_ id: String, tenant: String, user: String) async -> Bool {
        await readable(id, tenant: tenant, user: user)?.erasedAt != nil
    }

    /// Retention: erases the bytes of files uploaded before `cutoff`, unless a room they were shared in
    /// is under legal hold. The record stays (name, size, SHA-256, `erased_at`); a `retention.erase_file`
    /// audit record is synced before the bytes go.
    func eraseExpired(before cutoff: Millis) async {
        guard let names = try? fileSystem.list(directory) else { return }
        let now = WallClock.now()
        for name in names where name.hasSuffix(".json") {
            guard let stored = record(String(name.dropLast(5))), stored.erasedAt == nil, stored.createdAt < cutoff
            else { continue }
            var held = false
            for roomID in stored.rooms {
                if let room = try? rooms.room(roomID, tenant: stored.tenant), await room.isHeld { held = true }
            }
            guard !held else { continue }
            var erased = stored
            erased.erasedAt = now
            audit.record(AuditEvent("retention.erase_file", tenant: stored.tenant, detail: [
                "file": stored.file, "size": String(stored.size), "sha256": stored.sha256, "before": String(cutoff),
            ]))
            audit.flush()
            await journaled(erased)
            do {
                try? await replica?.eraseBlob(stored.file)
                try await io.run { [fileSystem, directory, meta = metaPath(stored.file), blob = blobPath(stored.file), erased] in
                    try fileSystem.replace(meta, with: Array(try JSONEncoder().encode(erased)))
                    try fileSystem.remove(blob)
                    try fileSystem.syncDirectory(directory)
                }
                records[stored.file] = erased
                FileMetrics.erased.increment()
            } catch {
                logger.error("retention could not erase file \(stored.file): \(error)")
            }
        }
    }

    /// Fetches file `id`'s bytes, stored by another node of the cluster, into this node's files; downloads
    /// that ask meanwhile wait for the same fetch.
    private func fetch(_ id: String, from replica: any FileReplica) async {
        if let running = fetching[id] { return await running.value }
        let fetch = Task { [fileSystem, io, logger, blob = blobPath(id), partial = Path.join(Path.join(directory, "tmp"), id + ".fetch")] in
            do {
                if try await replica.fetchBlob(id, to: partial) {
                    try await io.run { try fileSystem.rename(partial, to: blob) }
                    FileMetrics.fetchedFromCluster.increment()
                }
            } catch {
                logger.error("file \(id) could not be fetched from the cluster: \(error)")
            }
        }
        fetching[id] = fetch
        await fetch.value
        fetching[id] = nil
    }

    /// Records `stored` as it now is in the journal, if any, and waits until that is durable.
    private func journaled(_ stored: StoredFile) async {
        guard let journal, let bytes = try? Array(JSONEncoder().encode(FileStoredRecord(file: stored))) else { return }
        await withCheckedContinuation { done in journal.append(.bytes(bytes), kind: .kept) { done.resume() } }
    }

    /// The record, if it exists, is this tenant's and `user` uploaded it or shares a room it was sent to.
    private func readable(_ id: String, tenant: String, user: String) async -> StoredFile? {
        guard let stored = record(id), stored.tenant == tenant else { return nil }
        if stored.uploader == user { return stored }
        for roomID in stored.rooms {
            if let room = try? rooms.room(roomID, tenant: tenant), await room.isMember(user) { return stored }
        }
        return nil
    }

    private func record(_ id: String) -> StoredFile? {
        if let stored = records[id] { return stored }
        guard Self.isID(id), let bytes = try? fileSystem.contents(of: metaPath(id)),
              let stored = try? JSONDecoder().decode(StoredFile.self, from: Data(bytes)) else { return nil }
        records[id] = stored
        return stored
    }

    private nonisolated func blobPath(_ id: String) -> String { Path.join(directory, id + ".blob") }
    private nonisolated func metaPath(_ id: String) -> String { Path.join(directory, id + ".json") }

    /// `f` and 24 hex digits.
    static func newID() -> String {
        "f" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }

    static func isID(_ id: String) -> Bool {
        id.utf8.count == 25 && id.hasPrefix("f") && id.utf8.dropFirst().allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// A file name without a path, control characters or more than 255 characters; `file` when none.
    static func cleanName(_ name: String?) -> String {
        let base = (name ?? "").split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let clean = String(base.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }.prefix(255))
            .trimmingCharacters(in: .whitespaces)
        return clean.isEmpty || clean == "." || clean == ".." ? "file" : clean
    }
}

/// Why an upload is refused: an HTTP status, an error code and a message for people.
public struct FileRefusal: Error, Sendable {
    public let status: UInt32
    public let code: String
    public let message: String
    public init(_ status: UInt32, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}

/// File metrics.
enum FileMetrics {
    static let uploads = Counter(label: "liaison_files_uploaded_total")
    static let downloads = Counter(label: "liaison_files_downloaded_total")
    static let bytesIn = Counter(label: "liaison_files_bytes_in_total")
    static let bytesOut = Counter(label: "liaison_files_bytes_out_total")
    static let uploadTime = Timer(label: "liaison_files_upload_seconds")
    static let erased = Counter(label: "liaison_files_erased_total")
    /// Files whose bytes another node stored, fetched from the cluster's copy (cluster mode).
    static let fetchedFromCluster = Counter(label: "liaison_files_fetched_from_cluster_total")
}
