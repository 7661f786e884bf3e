import Foundation
import Testing
@testable import LiaisonCore

/// The tenant-scoped, persisted user directory.
@Suite struct UserDirectoryTests {
    let alice = UserRecord(tenant: "t1", user: "alice", role: .msl, name: "Alice", areas: ["oncology"])

    @Test func putThenLookupFindsTheUser() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let directory = try UserDirectory(directory: dir)
            #expect(try await directory.put(alice))
            #expect(directory.lookup(alice.key) == alice)
        }
    }

    @Test func unknownUserIsNotFound() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let directory = try UserDirectory(directory: dir)
            #expect(directory.lookup(UserKey(tenant: "t1", user: "nobody")) == nil)
        }
    }

    @Test func sameIdInAnotherTenantIsNotFound() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let directory = try UserDirectory(directory: dir)
            try await directory.put(alice)
            #expect(directory.lookup(UserKey(tenant: "t2", user: "alice")) == nil)
        }
    }

    @Test func sameIdInTwoTenantsAreDifferentUsers() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let directory = try UserDirectory(directory: dir)
            let otherAlice = UserRecord(tenant: "t2", user: "alice", role: .hcp, name: "Alice Two", areas: [])
            #expect(try await directory.put(alice))
            #expect(try await directory.put(otherAlice))
            #expect(directory.lookup(alice.key) == alice)
            #expect(directory.lookup(otherAlice.key) == otherAlice)
        }
    }

    @Test func persistedAcrossReopen() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let otherAlice = UserRecord(tenant: "t2", user: "alice", role: .hcp, name: "Alice Two", areas: [])
            do {
                let directory = try UserDirectory(directory: dir)
                try await directory.put(alice)
                try await directory.put(otherAlice)
            }
            let reopened = try UserDirectory(directory: dir)
            #expect(reopened.lookup(alice.key) == alice)
            #expect(reopened.lookup(otherAlice.key) == otherAlice)
        }
    }

    @Test func latestPutWinsAcrossReopen() async throws {
        try await withTemporaryDirectoryAsync { dir in
            var promoted = alice
            promoted.role = .fmd
            promoted.areas = ["cardio"]
            do {
                let directory = try UserDirectory(directory: dir)
                try await directory.put(alice)
                #expect(try await directory.put(promoted))
                #expect(directory.lookup(alice.key) == promoted)
            }
            let reopened = try UserDirectory(directory: dir)
            #expect(reopened.lookup(alice.key) == promoted)
        }
    }

    @Test func unchangedPutReturnsFalse() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let directory = try UserDirectory(directory: dir)
            #expect(try await directory.put(alice))
            #expect(try await !directory.put(alice))
        }
    }

    @Test func unchangedPutAfterReopenReturnsFalse() async throws {
        try await withTemporaryDirectoryAsync { dir in
            do { try await UserDirectory(directory: dir).put(alice) }
            #expect(try await !UserDirectory(directory: dir).put(alice))
        }
    }

    @Test func unchangedPutAppendsNothing() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let directory = try UserDirectory(directory: dir)
            let file = dir.appendingPathComponent("users.jsonl")
            try await directory.put(alice)
            let before = try Data(contentsOf: file)
            try await directory.put(alice)
            #expect(try Data(contentsOf: file) == before)
        }
    }

    @Test func tornLastLineIsSkippedOnReopen() async throws {
        try await withTemporaryDirectoryAsync { dir in
            do { try await UserDirectory(directory: dir).put(alice) }
            let file = dir.appendingPathComponent("users.jsonl")
            let handle = try FileHandle(forWritingTo: file)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"tenant":"t1","user":"bo"#.utf8))
            try handle.close()
            let reopened = try UserDirectory(directory: dir)
            #expect(reopened.lookup(alice.key) == alice)
            #expect(reopened.lookup(UserKey(tenant: "t1", user: "bo")) == nil)
        }
    }

    @Test func putAfterATornLastLineSurvivesReopen() async throws {
        try await withTemporaryDirectoryAsync { dir in
            do { try await UserDirectory(directory: dir).put(alice) }
            let file = dir.appendingPathComponent("users.jsonl")
            let handle = try FileHandle(forWritingTo: file)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"tenant":"t1","user":"bo"#.utf8))
            try handle.close()
            let bob = UserRecord(tenant: "t1", user: "bob", role: .hcp, name: "Bob", areas: [])
            do { #expect(try await UserDirectory(directory: dir).put(bob)) }
            let reopened = try UserDirectory(directory: dir)
            #expect(reopened.lookup(alice.key) == alice)
            #expect(reopened.lookup(bob.key) == bob)
        }
    }

    @Test func usersListsOneTenantAndRole() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let directory = try UserDirectory(directory: dir)
            let fmd1 = UserRecord(tenant: "t1", user: "f1", role: .fmd, name: "F1", areas: ["oncology"])
            let fmd2 = UserRecord(tenant: "t1", user: "f2", role: .fmd, name: "F2", areas: [])
            let otherTenantFmd = UserRecord(tenant: "t2", user: "f3", role: .fmd, name: "F3", areas: [])
            for record in [alice, fmd1, fmd2, otherTenantFmd] { try await directory.put(record) }
            let found = directory.users(tenant: "t1", role: .fmd).sorted { $0.user < $1.user }
            #expect(found == [fmd1, fmd2])
        }
    }
}
