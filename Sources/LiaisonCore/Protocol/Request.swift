/// A client request, decoded and type-checked. Each case carries its parameters.
public enum Request: Sendable {
    case hello(Hello)
    case presenceSet(PresenceSet)
    case presenceWatch(UserList)
    case presenceUnwatch(UserList)
    case userPut(UserPut)
    case userSearch(UserSearch)
    case roomCreate(RoomCreate)
    case roomInvite(RoomInvite)
    case roomLeave(RoomRef)
    case roomList
    case roomHistory(RoomHistory)
    case roomHold(RoomHold)
    case msgSend(MessageSend)
    case msgAck(Cursor)
    case msgRead(Cursor)
    case typing(RoomRef)
    case modRequest(ModRequestParams)
    case modClaim(ModRef)
    case modDecline(ModRef)
    case modCancel(ModRef)
    case callInvite(CallInvite)
    case callAccept(CallAnswer)
    case callCandidate(CallCandidate)
    case callSDP(CallSDP)
    case callReject(CallRef)
    case callHangup(CallRef)
    case turnCredentials
    case auditRead(AuditRead)
    case pushRegister(PushRegister)
    case pushUnregister(PushUnregister)
    case pushList
    case meetingCreate(MeetingCreate)
    case meetingRSVP(MeetingRSVP)
    case meetingUpdate(MeetingUpdate)
    case meetingCancel(MeetingRef)
    case meetingForward(MeetingForward)
    case meetingList(MeetingList)
    case meetingGet(MeetingRef)
    case meetingNote(MeetingNote)
    case meetingFeed(MeetingFeed)
    case callNote(CallNote)

    /// `hello {token, device, client?}`: the first frame of every session.
    public struct Hello: Decodable, Sendable {
        public let token: String
        public let device: String
        public let client: String?
    }

    /// `presence.set {status, note?}`.
    public struct PresenceSet: Decodable, Sendable {
        public let status: SettableStatus
        public let note: String?
    }

    /// `presence.watch {users}` and `presence.unwatch {users}`.
    public struct UserList: Decodable, Sendable {
        public let users: [String]
    }

    /// `user.put {user, role, name?, areas?}`: an admin provisions a user of their tenant.
    public struct UserPut: Decodable, Sendable {
        public let user: String
        public let role: Role
        public let name: String?
        public let areas: [String]?
    }

    /// `user.search {query?, role?, area?, limit?}`: the people directory.
    public struct UserSearch: Decodable, Sendable {
        public let query: String?
        public let role: Role?
        public let area: String?
        public let limit: Int?
    }

    /// `room.create {kind, members, title?}`.
    public struct RoomCreate: Decodable, Sendable {
        public let kind: CreatableRoomKind
        public let members: [String]
        public let title: String?
    }

    /// `room.invite {room, user}`.
    public struct RoomInvite: Decodable, Sendable {
        public let room: String
        public let user: String
    }

    /// Requests naming just a room: `room.leave`, `typing`.
    public struct RoomRef: Decodable, Sendable {
        public let room: String
    }

    /// `room.hold {room, on}`: an admin puts a room under legal hold (retention erases nothing) or releases it.
    public struct RoomHold: Decodable, Sendable {
        public let room: String
        public let on: Bool
    }

    /// `room.history {room, before?, limit?}`.
    public struct RoomHistory: Decodable, Sendable {
        public let room: String
        public let before: UInt64?
        public let limit: Int?
    }

    /// `msg.send {room, body, client_msg_id}`.
    public struct MessageSend: Decodable, Sendable {
        public let room: String
        public let body: String?
        public let clientMsgID: String?
        public let attachments: [AttachmentRef]?

        enum CodingKeys: String, CodingKey {
            case room, body, attachments
            case clientMsgID = "client_msg_id"
        }
    }

    /// `{file}`: an uploaded file a message carries.
    public struct AttachmentRef: Decodable, Sendable {
        public let file: String
    }

    /// `push.register {gateway, app_id, pushkey, device_name?, lang?}`: a pusher for the caller's device.
    public struct PushRegister: Decodable, Sendable {
        public let gateway: String
        public let appID: String
        public let pushkey: String
        public let deviceName: String?
        public let lang: String?

        enum CodingKeys: String, CodingKey {
            case gateway, pushkey, lang
            case appID = "app_id", deviceName = "device_name"
        }
    }

    /// `push.unregister {app_id, pushkey}`.
    public struct PushUnregister: Decodable, Sendable {
        public let appID: String
        public let pushkey: String

        enum CodingKeys: String, CodingKey {
            case pushkey
            case appID = "app_id"
        }
    }

    /// `meeting.create {title, starts_at, duration_min, tz, invitees, room?, agenda?, forwardable?}`.
    public struct MeetingCreate: Decodable, Sendable {
        public let title: String
        public let startsAt: Millis
        public let durationMin: Int
        public let tz: String
        public let invitees: [String]
        public let room: String?
        public let agenda: String?
        public let forwardable: Bool?

        enum CodingKeys: String, CodingKey {
            case title, tz, invitees, room, agenda, forwardable
            case startsAt = "starts_at", durationMin = "duration_min"
        }
    }

    /// `meeting.rsvp {meeting, response}`.
    public struct MeetingRSVP: Decodable, Sendable {
        public let meeting: String
        public let response: Meeting.Response
    }

    /// `meeting.update {meeting, title?, starts_at?, duration_min?, agenda?}`.
    public struct MeetingUpdate: Decodable, Sendable {
        public let meeting: String
        public let title: String?
        public let startsAt: Millis?
        public let durationMin: Int?
        public let agenda: String?

        enum CodingKeys: String, CodingKey {
            case meeting, title, agenda
            case startsAt = "starts_at", durationMin = "duration_min"
        }
    }

    /// `meeting.cancel {meeting}` and `meeting.get {meeting}`.
    public struct MeetingRef: Decodable, Sendable {
        public let meeting: String
    }

    /// `meeting.forward {meeting, user}`.
    public struct MeetingForward: Decodable, Sendable {
        public let meeting: String
        public let user: String
    }

    /// `meeting.list {from?, to?}` (ms since the epoch).
    public struct MeetingList: Decodable, Sendable {
        public let from: Millis?
        public let to: Millis?
    }

    /// `meeting.note {meeting, text, kind}`.
    public struct MeetingNote: Decodable, Sendable {
        public let meeting: String
        public let text: String
        public let kind: Meeting.NoteKind
    }

    /// `call.note {call, text, kind}`.
    public struct CallNote: Decodable, Sendable {
        public let call: String
        public let text: String
        public let kind: Meeting.NoteKind
    }

    /// `meeting.feed {reset?}`.
    public struct MeetingFeed: Decodable, Sendable {
        public let reset: Bool?
    }

    /// `msg.ack {room, seq}` and `msg.read {room, seq}`.
    public struct Cursor: Decodable, Sendable {
        public let room: String
        public let seq: UInt64
    }

    /// `mod.request {area, question, mode, ttl_s?}`.
    public struct ModRequestParams: Decodable, Sendable {
        public let area: String
        public let question: String
        public let mode: ModRequest.Mode
        public let ttl: Double?

        enum CodingKeys: String, CodingKey {
            case area, question, mode
            case ttl = "ttl_s"
        }
    }

    /// `mod.claim`, `mod.decline`, `mod.cancel`: `{request}`.
    public struct ModRef: Decodable, Sendable {
        public let request: String
    }

    /// `call.invite {room, media, sdp}`: `sdp` is the caller's offer.
    public struct CallInvite: Decodable, Sendable {
        public let room: String
        public let media: CallState.Media
        public let sdp: String
    }

    /// `call.accept {call, sdp}`: `sdp` is the answer.
    public struct CallAnswer: Decodable, Sendable {
        public let call: String
        public let sdp: String
    }

    /// `call.candidate {call, candidate: {candidate, sdpMid, sdpMLineIndex}}`.
    public struct CallCandidate: Decodable, Sendable {
        public let call: String
        public let candidate: [String: JSONValue]
    }

    /// An SDP offer or answer.
    public struct SessionDescription: Codable, Sendable {
        public enum Kind: String, Sendable, Codable, WireEnum {
            case offer, answer
        }

        public let type: Kind
        public let sdp: String
    }

    /// `call.sdp {call, description: {type, sdp}}`.
    public struct CallSDP: Decodable, Sendable {
        public let call: String
        public let description: SessionDescription
    }

    /// `call.reject {call}`, `call.hangup {call}`.
    public struct CallRef: Decodable, Sendable {
        public let call: String
    }

    /// `audit.read {limit?}`: an admin reads their tenant's latest audit records.
    public struct AuditRead: Decodable, Sendable {
        public let limit: Int?
    }

    /// The wire name of each request type, and how to decode its parameters.
    static let decoders: [String: @Sendable (RequestDecoder.Fields) throws -> Request] = [
        "hello": { .hello(try $0.decode()) },
        "presence.set": { .presenceSet(try $0.decode()) },
        "presence.watch": { .presenceWatch(try $0.decode()) },
        "presence.unwatch": { .presenceUnwatch(try $0.decode()) },
        "user.put": { .userPut(try $0.decode()) },
        "user.search": { .userSearch(try $0.decode()) },
        "room.create": { .roomCreate(try $0.decode()) },
        "room.invite": { .roomInvite(try $0.decode()) },
        "room.leave": { .roomLeave(try $0.decode()) },
        "room.list": { _ in .roomList },
        "room.history": { .roomHistory(try $0.decode()) },
        "room.hold": { .roomHold(try $0.decode()) },
        "msg.send": { .msgSend(try $0.decode()) },
        "msg.ack": { .msgAck(try $0.decode()) },
        "msg.read": { .msgRead(try $0.decode()) },
        "typing": { .typing(try $0.decode()) },
        "mod.request": { .modRequest(try $0.decode()) },
        "mod.claim": { .modClaim(try $0.decode()) },
        "mod.decline": { .modDecline(try $0.decode()) },
        "mod.cancel": { .modCancel(try $0.decode()) },
        "call.invite": { .callInvite(try $0.decode()) },
        "call.accept": { .callAccept(try $0.decode()) },
        "call.candidate": { .callCandidate(try $0.decode()) },
        "call.sdp": { .callSDP(try $0.decode()) },
        "call.reject": { .callReject(try $0.decode()) },
        "call.hangup": { .callHangup(try $0.decode()) },
        "turn.credentials": { _ in .turnCredentials },
        "audit.read": { .auditRead(try $0.decode()) },
        "push.register": { .pushRegister(try $0.decode()) },
        "push.unregister": { .pushUnregister(try $0.decode()) },
        "push.list": { _ in .pushList },
        "meeting.create": { .meetingCreate(try $0.decode()) },
        "meeting.rsvp": { .meetingRSVP(try $0.decode()) },
        "meeting.update": { .meetingUpdate(try $0.decode()) },
        "meeting.cancel": { .meetingCancel(try $0.decode()) },
        "meeting.forward": { .meetingForward(try $0.decode()) },
        "meeting.list": { .meetingList(try $0.decode()) },
        "meeting.get": { .meetingGet(try $0.decode()) },
        "meeting.note": { .meetingNote(try $0.decode()) },
        "meeting.feed": { .meetingFeed(try $0.decode()) },
        "call.note": { .callNote(try $0.decode()) },
    ]
}

/// The kinds of room a client may create (`mod` rooms are made by a claim).
public enum CreatableRoomKind: String, Sendable, WireEnum {
    case direct, group
}

/// The statuses a device may set; `offline` is only ever derived.
public enum SettableStatus: String, Sendable, WireEnum {
    case online, away, busy, dnd
}
