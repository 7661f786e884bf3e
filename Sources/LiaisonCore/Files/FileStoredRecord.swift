/// The journal record of a file's record as it now is (uploaded, shared into a room, erased), so that a node
/// rebuilding from the journal (cluster mode) knows every file.
struct FileStoredRecord: Codable {
    static let type = "file.stored"
    let type: String
    let file: StoredFile

    init(file: StoredFile) {
        type = Self.type
        self.file = file
    }
}
