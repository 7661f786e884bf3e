/// When journal appends are made durable before they are acknowledged.
public enum FsyncMode: String, Sendable, CaseIterable {
    /// Group commit: each batch of appends is synced once, before any of them is acknowledged.
    case batch
    /// One sync per record.
    case always
    /// Never synced: acknowledged once written to the OS. Unsafe: for benchmarks only.
    case never
}
