import Testing
@testable import LiaisonCore

/// The default policy of the wire contract.
@Suite struct PolicyTests {
    let policy = Policy.default

    @Test func hcpMayWatchMslAndFmd() {
        #expect(policy.mayWatch(.hcp, .msl, sharingRoom: false))
        #expect(policy.mayWatch(.hcp, .fmd, sharingRoom: false))
    }

    @Test func hcpMayNotWatchHcp() {
        #expect(!policy.mayWatch(.hcp, .hcp, sharingRoom: false))
    }

    @Test func hcpMayNotWatchAdmin() {
        #expect(!policy.mayWatch(.hcp, .admin, sharingRoom: false))
    }

    @Test func mslMayWatchHcp() {
        #expect(policy.mayWatch(.msl, .hcp, sharingRoom: false))
    }

    @Test func mslMayWatchEveryRole() {
        for role in Role.allCases { #expect(policy.mayWatch(.msl, role, sharingRoom: false), "\(role)") }
    }

    @Test func fmdMayNotWatchHcpWithoutASharedRoom() {
        #expect(!policy.mayWatch(.fmd, .hcp, sharingRoom: false))
        #expect(policy.mayWatch(.fmd, .msl, sharingRoom: false))
        #expect(policy.mayWatch(.fmd, .fmd, sharingRoom: false))
    }

    @Test func adminMayWatchEveryRole() {
        for role in Role.allCases { #expect(policy.mayWatch(.admin, role, sharingRoom: false), "\(role)") }
    }

    @Test func sharingARoomAllowsWatching() {
        #expect(policy.mayWatch(.hcp, .hcp, sharingRoom: true))
        #expect(policy.mayWatch(.fmd, .hcp, sharingRoom: true))
    }

    @Test func onlyAdminProvisionsUsers() {
        #expect(policy.mayProvisionUsers(.admin))
        for role in [Role.hcp, .msl, .fmd] { #expect(!policy.mayProvisionUsers(role), "\(role)") }
    }

    @Test func hcpOpensDirectRoomsWithMslOnly() {
        #expect(policy.directRoomPeers[.hcp] == [.msl])
    }

    @Test func hcpNeverInvites() {
        #expect(policy.invitable[.hcp, default: []].isEmpty)
    }

    @Test func fmdInvitesMslAndFmdOnly() {
        #expect(policy.invitable[.fmd] == [.msl, .fmd])
    }

    @Test func onlyFmdClaimsModRequests() {
        #expect(policy.modClaimers == [.fmd])
        #expect(policy.modRequesters == [.hcp, .msl])
    }

    @Test func adminHasNoChatContent() {
        #expect(!policy.chatRoles.contains(.admin))
    }
}
