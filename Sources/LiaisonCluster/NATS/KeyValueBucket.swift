import CNats

/// A JetStream key-value bucket (one value per key, file storage) with compare-and-set writes.
public final class KeyValueBucket: @unchecked Sendable {
    public let name: String
    private let store: OpaquePointer
    private let connection: NATSConnection

    /// One value with the revision it was written at.
    public struct Entry: Sendable {
        public let value: [UInt8]
        public let revision: UInt64
    }

    /// Opens the bucket `name`, creating it with `replicas` copies if it does not exist.
    public init(_ connection: NATSConnection, bucket name: String, replicas: Int) throws(NATSError) {
        var store: OpaquePointer?
        let status = lnats_key_value(&store, connection.jetStream, name, Int32(replicas))
        guard status == NATS_OK, let store else { throw NATSError("bucket \(name)", status) }
        self.connection = connection
        self.name = name
        self.store = store
    }

    deinit { kvStore_Destroy(store) }

    /// The current value of `key`, or nil if it has none.
    public func get(_ key: String) throws(NATSError) -> Entry? {
        var entry: OpaquePointer?
        let status = kvStore_Get(&entry, store, key)
        if status == NATS_NOT_FOUND { return nil }
        guard status == NATS_OK, let entry else { throw NATSError("get \(name)/\(key)", status) }
        defer { kvEntry_Destroy(entry) }
        let count = Int(kvEntry_ValueLen(entry))
        let value = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: kvEntry_Value(entry), count: count))
        return Entry(value: value, revision: kvEntry_Revision(entry))
    }

    /// Every key that has a value.
    public func keys() throws(NATSError) -> [String] {
        var list = kvKeysList()
        let status = kvStore_Keys(&list, store, nil)
        if status == NATS_NOT_FOUND { return [] }
        try check("keys of \(name)", status)
        defer { kvKeysList_Destroy(&list) }
        return (0..<Int(list.Count)).compactMap { list.Keys[$0].map { String(cString: $0) } }
    }

    /// Writes `value` whatever `key` had; returns the new revision.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8]) throws(NATSError) -> UInt64 {
        var revision: UInt64 = 0
        let status = value.withUnsafeBytes { kvStore_Put(&revision, store, key, $0.baseAddress, Int32($0.count)) }
        try check("put \(name)/\(key)", status)
        return revision
    }

    /// Writes `value` only if `key` has none; returns the new revision, or nil if it already had one.
    public func create(_ key: String, _ value: [UInt8]) throws(NATSError) -> UInt64? {
        var revision: UInt64 = 0
        let status = value.withUnsafeBytes { kvStore_Create(&revision, store, key, $0.baseAddress, Int32($0.count)) }
        if status == NATS_OK { return revision }
        if try get(key) != nil { return nil }
        throw NATSError("create \(name)/\(key)", status)
    }

    /// Writes `value` only if `key` is still at `revision`; returns the new revision, or nil if it moved on.
    public func update(_ key: String, _ value: [UInt8], revision: UInt64) throws(NATSError) -> UInt64? {
        var next: UInt64 = 0
        let status = value.withUnsafeBytes { kvStore_Update(&next, store, key, $0.baseAddress, Int32($0.count), revision) }
        if status == NATS_OK { return next }
        if let current = try get(key), current.revision != revision { return nil }
        throw NATSError("update \(name)/\(key)", status)
    }
}
