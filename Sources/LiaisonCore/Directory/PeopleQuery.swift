import Foundation

/// What `user.search` looks for: text matched case-insensitively against a user's id and the start of
/// their name or of any word of it, optionally one role and one area. The role policy is applied apart.
public struct PeopleQuery: Sendable, Equatable {
    /// Lowercased; nil or empty matches everyone.
    public let text: String?
    public let role: Role?
    public let area: String?

    public init(text: String?, role: Role?, area: String?) {
        let trimmed = text?.trimmingCharacters(in: .whitespaces).lowercased()
        self.text = trimmed?.isEmpty == true ? nil : trimmed
        self.role = role
        self.area = area
    }

    public func matches(_ record: UserRecord) -> Bool {
        if let role, record.role != role { return false }
        if let area, !record.areas.contains(area) { return false }
        guard let text else { return true }
        let name = record.name.lowercased()
        return record.user.lowercased().hasPrefix(text) || name.hasPrefix(text)
            || name.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).contains { $0.hasPrefix(text) }
    }
}
