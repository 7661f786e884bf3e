/// The `system` message a call leaves in its room, true for every member who reads it: an answered call
/// names both parties.
enum CallRecordText {
    static func describe(media: CallState.Media, caller: String, callee: String?, reason: CallState.EndReason,
                         durationMillis: Millis?) -> String {
        let kind = media == .video ? "video call" : "audio call"
        if let durationMillis {
            let parties = callee.map { "from \(caller) to \($0)" } ?? "from \(caller)"
            return "\(kind.capitalizedFirst) \(parties) ended after \(format(durationMillis))"
        }
        switch reason {
        case .rejected: return "\(kind.capitalizedFirst) from \(caller) was declined"
        case .busy: return "Missed \(kind) from \(caller) (busy)"
        default: return "Missed \(kind) from \(caller)"
        }
    }

    /// `1h 2m 3s`, `2m 3s`, `3s`.
    static func format(_ millis: Millis) -> String {
        let seconds = max(0, millis / 1000)
        let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60)
        if h > 0 { return "\(h)h \(m)m \(s)s" }
        if m > 0 { return "\(m)m \(s)s" }
        return "\(s)s"
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
