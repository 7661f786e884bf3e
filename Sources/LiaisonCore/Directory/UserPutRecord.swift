/// The journal record of a change to the user directory: the user's record as it now is, and `type`.
struct UserPutRecord: Codable {
    static let type = "user.put"
    let type: String
    let user: UserRecord

    init(user: UserRecord) {
        type = Self.type
        self.user = user
    }
}
