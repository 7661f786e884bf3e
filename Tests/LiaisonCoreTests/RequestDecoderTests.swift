import Foundation
import Testing
@testable import LiaisonCore

/// Frames in, requests or `bad_request` errors out.
@Suite struct RequestDecoderTests {
    func decode(_ text: String) -> RequestDecoder.Outcome {
        RequestDecoder.decode(Data(text.utf8))
    }

    /// The request of a valid frame, with its id and type.
    func request(_ text: String) -> (id: String, type: String, request: Request)? {
        guard case .request(let id, let type, let request) = decode(text) else { return nil }
        return (id, type, request)
    }

    /// The id and error of an invalid frame.
    func invalid(_ text: String) -> (id: String?, error: ProtocolError)? {
        guard case .invalid(let id, let error) = decode(text) else { return nil }
        return (id, error)
    }

    // MARK: valid requests

    @Test func helloDecodes() throws {
        let decoded = try #require(request(#"{"type":"hello","id":"1","token":"abc.def.ghi","device":"ipad-7","client":"app/1.2"}"#))
        #expect(decoded.id == "1")
        #expect(decoded.type == "hello")
        guard case .hello(let hello) = decoded.request else { Issue.record("not a hello: \(decoded.request)"); return }
        #expect(hello.token == "abc.def.ghi")
        #expect(hello.device == "ipad-7")
        #expect(hello.client == "app/1.2")
    }

    @Test func helloWithoutClientDecodes() throws {
        let decoded = try #require(request(#"{"type":"hello","id":"1","token":"t","device":"d"}"#))
        guard case .hello(let hello) = decoded.request else { Issue.record("not a hello"); return }
        #expect(hello.client == nil)
    }

    @Test func presenceSetDecodes() throws {
        let decoded = try #require(request(#"{"type":"presence.set","id":"p1","status":"dnd","note":"in surgery"}"#))
        #expect(decoded.id == "p1")
        guard case .presenceSet(let set) = decoded.request else { Issue.record("not a presence.set"); return }
        #expect(set.status == .dnd)
        #expect(set.note == "in surgery")
    }

    @Test func presenceSetWithoutNoteDecodes() throws {
        let decoded = try #require(request(#"{"type":"presence.set","id":"p1","status":"away"}"#))
        guard case .presenceSet(let set) = decoded.request else { Issue.record("not a presence.set"); return }
        #expect(set.status == .away)
        #expect(set.note == nil)
    }

    @Test func presenceWatchDecodes() throws {
        let decoded = try #require(request(#"{"type":"presence.watch","id":"w","users":["u1","u2"]}"#))
        guard case .presenceWatch(let list) = decoded.request else { Issue.record("not a presence.watch"); return }
        #expect(list.users == ["u1", "u2"])
    }

    @Test func presenceUnwatchDecodes() throws {
        let decoded = try #require(request(#"{"type":"presence.unwatch","id":"w","users":["u1"]}"#))
        guard case .presenceUnwatch(let list) = decoded.request else { Issue.record("not a presence.unwatch"); return }
        #expect(list.users == ["u1"])
    }

    @Test func userPutDecodes() throws {
        let decoded = try #require(request(#"{"type":"user.put","id":"x","user":"f1","role":"fmd","name":"Dr F","areas":["oncology","cardio"]}"#))
        guard case .userPut(let put) = decoded.request else { Issue.record("not a user.put"); return }
        #expect(put.user == "f1")
        #expect(put.role == .fmd)
        #expect(put.name == "Dr F")
        #expect(put.areas == ["oncology", "cardio"])
    }

    @Test func userPutWithoutOptionalFieldsDecodes() throws {
        let decoded = try #require(request(#"{"type":"user.put","id":"x","user":"h1","role":"hcp"}"#))
        guard case .userPut(let put) = decoded.request else { Issue.record("not a user.put"); return }
        #expect(put.name == nil)
        #expect(put.areas == nil)
    }

    @Test func idOfExactly64CharactersIsKept() throws {
        let id = String(repeating: "a", count: 64)
        let decoded = try #require(request(#"{"type":"presence.watch","id":"\#(id)","users":[]}"#))
        #expect(decoded.id == id)
    }

    @Test func unknownExtraFieldsAreIgnored() throws {
        let decoded = try #require(request(#"{"type":"presence.set","id":"1","status":"online","extra":{"x":1}}"#))
        #expect(decoded.type == "presence.set")
    }

    // MARK: envelope errors

    @Test func malformedJSONIsBadRequestWithoutID() throws {
        let error = try #require(invalid(#"{"type":"hello","id":"1""#))
        #expect(error.id == nil)
        #expect(error.error.code == .badRequest)
    }

    @Test func nonObjectJSONIsBadRequestWithoutID() throws {
        for text in [#"["hello"]"#, #""hello""#, "42", "null", ""] {
            let error = try #require(invalid(text), "\(text)")
            #expect(error.id == nil)
            #expect(error.error.code == .badRequest)
        }
    }

    @Test func missingIDIsBadRequestWithoutID() throws {
        let error = try #require(invalid(#"{"type":"presence.set","status":"online"}"#))
        #expect(error.id == nil)
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("id"))
    }

    @Test func nonStringIDIsTreatedAsMissing() throws {
        let error = try #require(invalid(#"{"type":"presence.set","id":7,"status":"online"}"#))
        #expect(error.id == nil)
        #expect(error.error.code == .badRequest)
    }

    @Test func idLongerThan64IsTreatedAsMissing() throws {
        let id = String(repeating: "a", count: 65)
        let error = try #require(invalid(#"{"type":"presence.set","id":"\#(id)","status":"online"}"#))
        #expect(error.id == nil)
        #expect(error.error.code == .badRequest)
    }

    @Test func missingTypeIsBadRequestWithID() throws {
        let error = try #require(invalid(#"{"id":"9","status":"online"}"#))
        #expect(error.id == "9")
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("type"))
    }

    @Test func unknownTypeIsBadRequestWithIDNamingTheType() throws {
        let error = try #require(invalid(#"{"type":"room.teleport","id":"7"}"#))
        #expect(error.id == "7")
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("room.teleport"))
    }

    // MARK: parameter errors

    @Test func missingFieldNamesTheField() throws {
        let error = try #require(invalid(#"{"type":"presence.set","id":"3"}"#))
        #expect(error.id == "3")
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("status"))
    }

    @Test func missingHelloTokenNamesTheField() throws {
        let error = try #require(invalid(#"{"type":"hello","id":"1","device":"d"}"#))
        #expect(error.id == "1")
        #expect(error.error.message.contains("token"))
    }

    @Test func wrongTypeNamesTheField() throws {
        let error = try #require(invalid(#"{"type":"presence.set","id":"3","status":5}"#))
        #expect(error.id == "3")
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("status"))
    }

    @Test func nullFieldNamesTheField() throws {
        let error = try #require(invalid(#"{"type":"presence.set","id":"3","status":null}"#))
        #expect(error.id == "3")
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("status"))
    }

    @Test func wrongTypeOfOptionalFieldNamesTheField() throws {
        let error = try #require(invalid(#"{"type":"presence.set","id":"3","status":"away","note":17}"#))
        #expect(error.id == "3")
        #expect(error.error.message.contains("note"))
    }

    @Test func usersNotAnArrayNamesTheField() throws {
        let error = try #require(invalid(#"{"type":"presence.watch","id":"4","users":"u1"}"#))
        #expect(error.id == "4")
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("users"))
    }

    @Test func wrongElementTypeNamesTheElement() throws {
        let error = try #require(invalid(#"{"type":"presence.watch","id":"4","users":["u1",2]}"#))
        #expect(error.id == "4")
        #expect(error.error.message.contains("users[1]"))
    }

    @Test func invalidStatusNamesTheFieldAndTheAllowedValues() throws {
        let error = try #require(invalid(#"{"type":"presence.set","id":"5","status":"sleeping"}"#))
        #expect(error.id == "5")
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("status"))
        #expect(error.error.message.contains("sleeping"))
        #expect(error.error.message.contains("dnd"))
    }

    @Test func offlineIsNotASettableStatus() throws {
        let error = try #require(invalid(#"{"type":"presence.set","id":"5","status":"offline"}"#))
        #expect(error.error.message.contains("status"))
    }

    @Test func invalidRoleNamesTheField() throws {
        let error = try #require(invalid(#"{"type":"user.put","id":"6","user":"x","role":"superuser"}"#))
        #expect(error.id == "6")
        #expect(error.error.code == .badRequest)
        #expect(error.error.message.contains("role"))
    }
}
