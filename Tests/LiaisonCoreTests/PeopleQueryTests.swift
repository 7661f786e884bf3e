import Testing
@testable import LiaisonCore

/// `user.search`'s matching and the policy of who may find whom.
@Suite struct PeopleQueryTests {
    let hana = UserRecord(tenant: "t", user: "hito", role: .fmd, name: "Dr Hana Ito-Sato", areas: ["oncology", "cardio"])

    func finds(_ text: String?, role: Role? = nil, area: String? = nil) -> Bool {
        PeopleQuery(text: text, role: role, area: area).matches(hana)
    }

    @Test func anEmptyQueryMatchesEveryone() {
        #expect(finds(nil))
        #expect(finds(""))
        #expect(finds("   "))
    }

    @Test func theIDOrTheNameMatchByPrefixIgnoringCase() {
        #expect(finds("HIT"))
        #expect(finds("dr h"))
        #expect(!finds("ito-sato x"))
        #expect(!finds("ana"))
    }

    @Test func anyWordOfTheNameMatchesByPrefix() {
        #expect(finds("hana"))
        #expect(finds("sat"))
        #expect(finds("ito"))
        #expect(!finds("ato"))
    }

    @Test func roleAndAreaFiltersNarrowTheMatch() {
        #expect(finds("hana", role: .fmd, area: "cardio"))
        #expect(!finds("hana", role: .msl))
        #expect(!finds("hana", area: "neurology"))
    }

    @Test func anHCPFindsMSLsAndFMDsButNeverHCPs() {
        let policy = Policy.default
        #expect(policy.mayFind(.hcp, .msl))
        #expect(policy.mayFind(.hcp, .fmd))
        #expect(!policy.mayFind(.hcp, .hcp))
        #expect(!policy.mayFind(.hcp, .admin))
        #expect(Role.allCases.allSatisfy { policy.mayFind(.msl, $0) })
        #expect(!policy.mayFind(.fmd, .hcp))
    }
}
