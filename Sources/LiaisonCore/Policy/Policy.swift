/// The role rules: who may see, reach and act on whom. One place, used by every feature.
///
/// Tenant isolation is not a rule here but a precondition: callers look users up in their own
/// tenant only, so another tenant's user is simply `not_found`.
public struct Policy: Sendable {
    /// Whose presence each role may watch without sharing a room.
    public var watchable: [Role: Set<Role>]
    /// With whom each role may open a direct room.
    public var directRoomPeers: [Role: Set<Role>]
    /// Whom each role may invite into a room.
    public var invitable: [Role: Set<Role>]
    /// Whom each role may invite to (or forward) a meeting: as for rooms, and an HCP may ask an MSL.
    public var meetingInvitable: [Role: Set<Role>]
    /// Roles that may raise MOD requests.
    public var modRequesters: Set<Role>
    /// Roles that may claim MOD requests.
    public var modClaimers: Set<Role>
    /// Roles that may read and send chat content.
    public var chatRoles: Set<Role>

    /// The default policy of the wire contract.
    public static let `default` = Policy(
        watchable: [
            .hcp: [.msl, .fmd],
            .msl: [.hcp, .msl, .fmd, .admin],
            .fmd: [.msl, .fmd],
            .admin: Set(Role.allCases),
        ],
        directRoomPeers: [
            .hcp: [.msl],
            .msl: [.hcp, .msl, .fmd],
            .fmd: [.msl, .fmd],
        ],
        invitable: [
            .msl: [.hcp, .msl, .fmd],
            .fmd: [.msl, .fmd],
        ],
        meetingInvitable: [
            .hcp: [.msl],
            .msl: [.hcp, .msl, .fmd],
            .fmd: [.msl, .fmd],
        ],
        modRequesters: [.hcp, .msl],
        modClaimers: [.fmd],
        chatRoles: [.hcp, .msl, .fmd]
    )

    public init(
        watchable: [Role: Set<Role>], directRoomPeers: [Role: Set<Role>], invitable: [Role: Set<Role>],
        meetingInvitable: [Role: Set<Role>], modRequesters: Set<Role>, modClaimers: Set<Role>, chatRoles: Set<Role>
    ) {
        self.watchable = watchable
        self.directRoomPeers = directRoomPeers
        self.invitable = invitable
        self.meetingInvitable = meetingInvitable
        self.modRequesters = modRequesters
        self.modClaimers = modClaimers
        self.chatRoles = chatRoles
    }

    /// May `watcher` see `target`'s presence? Sharing a room lets anyone see their room's members.
    public func mayWatch(_ watcher: Role, _ target: Role, sharingRoom: Bool) -> Bool {
        sharingRoom || watchable[watcher, default: []].contains(target)
    }

    /// May `searcher` find `target` in the people directory? Whom they may watch, open a direct room
    /// with or invite: an HCP finds MSLs and FMDs, never other HCPs.
    public func mayFind(_ searcher: Role, _ target: Role) -> Bool {
        watchable[searcher, default: []].contains(target) || directRoomPeers[searcher, default: []].contains(target)
            || invitable[searcher, default: []].contains(target)
    }

    /// May `organizer` invite `invitee` to a meeting, or an attendee forward it to them?
    public func mayInviteToMeeting(_ organizer: Role, _ invitee: Role) -> Bool {
        meetingInvitable[organizer, default: []].contains(invitee)
    }

    /// May `role` provision users of its tenant?
    public func mayProvisionUsers(_ role: Role) -> Bool { role == .admin }
}
