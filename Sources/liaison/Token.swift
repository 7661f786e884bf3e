import ArgumentParser
import Foundation
import LiaisonCore

/// `liaison token`: prints an HS256 access token.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a signed access token (HS256).")

    @Option(help: "The server's HS256 secret.") var secret: String
    @Option(help: "User id.") var sub: String
    @Option(help: "hcp, msl, fmd or admin.") var role: String
    @Option(help: "Tenant (organisation).") var tenant: String
    @Option(help: "Display name.") var name: String?
    @Option(help: "Areas of expertise, comma-separated.") var areas: String?
    @Option(help: "Seconds until it expires.") var ttl: Double = 3600

    func run() async throws {
        guard let role = Role(rawValue: role) else {
            throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let areas = self.areas?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let claims = TokenClaims(
            sub: sub, role: role, tenant: tenant, name: name, areas: areas, expires: Date().addingTimeInterval(ttl))
        print(try TokenIssuer.token(secret: secret, claims: claims))
    }
}
