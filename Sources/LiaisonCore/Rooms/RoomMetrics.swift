import Metrics

/// Metrics of rooms and their storage.
enum RoomMetrics {
    static let messages = Counter(label: "liaison_messages_accepted_total")
    static let replayed = Counter(label: "liaison_messages_replayed_total")
    static let snapshotSeconds = Timer(label: "liaison_snapshot_duration_seconds")
    static let snapshotRooms = Recorder(label: "liaison_snapshot_rooms")
}
