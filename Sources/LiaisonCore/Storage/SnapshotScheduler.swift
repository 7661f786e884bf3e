/// Runs snapshots one at a time, each to its end: a snapshot asked for while another runs starts after
/// it, and cancelling the task that asked does not interrupt one half-way (a half-done snapshot must
/// never be followed by a journal cleanup that counted on it).
actor SnapshotScheduler {
    private var last: Task<Void, Never>?

    /// Runs `snapshot` after every earlier one and returns once it has finished.
    func run(_ snapshot: @escaping @Sendable () async -> Void) async {
        let previous = last
        let task = Task {
            await previous?.value
            await snapshot()
        }
        last = task
        await task.value
    }
}
