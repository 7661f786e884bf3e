import Foundation
import LiaisonClient
import LiaisonCore
import Testing

/// LiaisonClient's file helpers against the server in-process: upload, attach, download.
@Suite(.serialized) struct FileClientTests {
    private static func token(_ user: String, role: Role) throws -> String {
        try TokenIssuer.token(secret: ServerHarness.secret, claims: TokenClaims(
            sub: user, role: role, tenant: "acme", name: user.capitalized, areas: [], expires: Date().addingTimeInterval(600)))
    }

    @Test(.timeLimit(.minutes(1))) func anUploadedFileIsAttachedAndTheOtherMemberDownloadsIt() async throws {
        let harness = try await ServerHarness()
        let msl = try await harness.connect("alice", role: .msl)
        let hcp = try await harness.connect("bob", role: .hcp)
        let room = try await msl.request("room.create", ["kind": "direct", "members": ["bob"]]).get()["room"]?.string ?? ""
        let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })  // two chunks at rest

        let uploaded = try await msl.files(token: Self.token("alice", role: .msl), device: "d1")
            .upload(data: bytes, contentType: "application/pdf", filename: "Résumé 2.pdf")
        #expect(uploaded.name == "Résumé 2.pdf" && uploaded.size == bytes.count && uploaded.contentType == "application/pdf")
        #expect(uploaded.file.count == 25 && uploaded.file.hasPrefix("f") && uploaded.sha256.count == 64)

        // Not shared yet: the other user is told it does not exist.
        let bobFiles = hcp.files(token: try Self.token("bob", role: .hcp))
        let hidden = await #expect(throws: FileRequestError.self) { try await bobFiles.download(file: uploaded.file) }
        #expect(hidden?.status == 404 && hidden?.code == "not_found")

        let ok = try await msl.sendMessage(room: room, attachments: [uploaded.file], clientMsgID: "with-file")
        #expect(ok["seq"]?.int == 1)
        let event = try #require(await hcp.next("msg"))
        #expect(event["body"]?.string == "")
        #expect(try UploadedFile(try #require(event["attachments"]?[0])) == uploaded)
        #expect(try await bobFiles.download(file: uploaded.file) == bytes)

        // Refusals come back with their status and code.
        let refused = await #expect(throws: FileRequestError.self) {
            try await bobFiles.upload(data: Data("#!/bin/sh".utf8), contentType: "application/x-sh", filename: "run.sh")
        }
        #expect(refused?.status == 415 && refused?.code == "unsupported_media_type")
        let stranger = await #expect(throws: FileRequestError.self) {
            try await hcp.files(token: "not-a-token").download(file: uploaded.file)
        }
        #expect(stranger?.status == 401)
        await harness.stop()
    }
}
