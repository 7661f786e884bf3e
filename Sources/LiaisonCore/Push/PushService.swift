import Foundation
import LiaisonSync
import Logging
import Metrics

/// Wakes devices that are not connected. Keeps the pushers (persisted in `pushers.json`), decides which
/// events are due to which device, coalesces messages per device, and sends through the gateway client
/// off the actor, retrying with backoff while the event is fresh. The queue of notifications under way
/// is bounded: overflow drops the oldest.
public actor PushService {
    /// A device of a user.
    struct DeviceKey: Hashable {
        let user: UserKey
        let device: String
    }

    /// A durable message due to recipients with pushers, handed over by a room without waiting.
    struct DueMessage: Sendable {
        let message: PendingMessage
        let recipients: [UserKey]
    }

    /// A message waiting for the coalescing delay.
    struct PendingMessage: Sendable {
        let room: String
        let seq: UInt64
        let sender: String
        let senderName: String
        let body: String
        let ts: Millis
    }

    private var book: PusherBook
    /// Users with at least one pusher, readable without entering the actor (the chat hot path asks).
    private let withPushers: Locked<Set<UserKey>>
    private let configuration: PushConfiguration
    private let client: (any PushGatewayClient)?
    private let registry: SessionRegistry
    private let audit: AuditLog
    private let path: String
    private let fileSystem: any FileSystem
    /// Where each change to a user's pushers is also recorded (nil: only pushers.json).
    private let journal: (any JournalWriter)?
    private let io = IOQueue(label: "liaison.push")
    private let logger = Logger(label: "liaison.push")

    /// Messages rooms handed over, taken in batches (one hop into the actor per batch, not per message).
    private let inbox = Locked<[DueMessage]>([])
    private var pending: [DeviceKey: [PendingMessage]] = [:]
    /// Read cursors of users with pushers, so a message read on another device is not pushed.
    private var readThrough: [UserKey: [String: UInt64]] = [:]
    /// Calls that rang a user with pushers and ended unanswered since a device of theirs last connected.
    private var missedCalls: [UserKey: Int] = [:]
    /// MOD offers and calls still worth notifying, with when they stop being.
    private var liveEvents: [String: Millis] = [:]
    /// Notifications under way (sending or waiting to retry), oldest first by ticket.
    private var underway: [Int: Task<Void, Never>] = [:]
    private var nextTicket = 0

    /// Loads `pushers.json`, then applies the `push.pushers` records among `records` (a journal's). With a
    /// journal, each change is also recorded there (in cluster mode the node that takes over rebuilds from it).
    init(configuration: PushConfiguration, client: (any PushGatewayClient)?, dataDirectory: String,
         registry: SessionRegistry, audit: AuditLog, fileSystem: any FileSystem, journal: (any JournalWriter)? = nil,
         records: [Data] = []) throws {
        self.configuration = configuration
        self.client = client
        self.registry = registry
        self.audit = audit
        self.fileSystem = fileSystem
        self.journal = journal
        path = Path.join(dataDirectory, "pushers.json")
        let stored = try fileSystem.contents(of: path).map { try JSONDecoder().decode([Pusher].self, from: Data($0)) } ?? []
        book = PusherBook(stored)
        let decoder = JSONDecoder()
        for data in records where JournalRecordType.may(data, be: PushersRecord.type) {
            guard let record = try? decoder.decode(PushersRecord.self, from: data), record.type == PushersRecord.type
            else { continue }
            book.replace(record.owner, with: record.pushers)
        }
        withPushers = Locked(Set(book.byUser.keys))
    }

    // MARK: Pushers

    /// Registers a pusher for the caller's device.
    func register(_ params: Request.PushRegister, caller: Caller) async throws(ProtocolError) {
        guard !configuration.gateways.isEmpty else {
            throw ProtocolError(.notFound, "no push gateway is configured (liaison serve --push-gateway NAME=URL)")
        }
        guard configuration.gateways[params.gateway] != nil else {
            throw ProtocolError(.notFound, "no push gateway named '\(params.gateway)'")
        }
        let pusher = Pusher(
            tenant: caller.record.tenant, user: caller.record.user, device: caller.device, gateway: params.gateway,
            appID: params.appID, pushkey: params.pushkey, pushkeyTS: Int64(Date().timeIntervalSince1970),
            deviceName: params.deviceName, lang: params.lang)
        let before = book
        try book.register(pusher, limitPerDevice: configuration.pushersPerDevice)
        try await saved(since: before)
        audit.record(AuditEvent("push.register", tenant: pusher.tenant, actor: pusher.user, device: pusher.device,
                                detail: ["gateway": pusher.gateway, "app_id": pusher.appID]))
    }

    /// Removes one of the caller's pushers.
    func unregister(_ params: Request.PushUnregister, caller: Caller) async throws(ProtocolError) {
        let before = book
        try book.unregister(PusherKey(appID: params.appID, pushkey: params.pushkey), of: caller.key)
        try await saved(since: before)
        audit.record(AuditEvent("push.unregister", tenant: caller.record.tenant, actor: caller.record.user,
                                device: caller.device, detail: ["app_id": params.appID]))
    }

    /// The caller's pushers on all their devices.
    func pushers(of caller: Caller) -> [Pusher] {
        book.pushers(of: caller.key)
    }

    /// Which of `users` have pushers: the only ones an event may have to wake.
    nonisolated func withPushers(_ users: some Sequence<UserKey>) -> [UserKey] {
        withPushers.withLock { set in set.isEmpty ? [] : users.filter(set.contains) }
    }

    /// Persists the book after a change; `before` is the book before it, so the journal gets a record of
    /// each user whose pushers changed.
    private func saved(since before: PusherBook) async throws(ProtocolError) {
        withPushers.withLock { $0 = Set(book.byUser.keys) }
        if let journal {
            let owners = Set(before.byUser.keys).union(book.byUser.keys).filter { before.byUser[$0] != book.byUser[$0] }
            for owner in owners {
                let bytes = (try? Array(JSONEncoder().encode(PushersRecord(owner: owner, pushers: book.byUser[owner] ?? [])))) ?? []
                await withCheckedContinuation { done in journal.append(.bytes(bytes), kind: .kept) { done.resume() } }
            }
        }
        let all = book.all.sorted { ($0.user, $0.device, $0.appID) < ($1.user, $1.device, $1.appID) }
        do {
            let bytes = Array(try JSONEncoder().encode(all))
            try await io.run { [fileSystem, path] in try fileSystem.replace(path, with: bytes) }
        } catch {
            logger.error("pushers could not be stored: \(error)")
            throw ProtocolError(.internal, "the pushers could not be stored; retry later")
        }
    }

    // MARK: Events

    /// A message became durable: each recipient device that is not connected gets it after the
    /// coalescing delay, unless it connects or the message is read meanwhile. Called from a room's
    /// durability callback: it only queues.
    nonisolated func messageDurable(room: String, seq: UInt64, sender: String, senderName: String, body: String,
                                    ts: Millis, recipients: [UserKey]) {
        let due = DueMessage(message: PendingMessage(room: room, seq: seq, sender: sender, senderName: senderName,
                                                     body: body, ts: ts),
                             recipients: recipients)
        let first = inbox.withLock { inbox in
            inbox.append(due)
            return inbox.count == 1
        }
        if first { Task { await self.drainInbox() } }
    }

    private func drainInbox() {
        for due in inbox.withLock({ inbox in defer { inbox = [] }; return inbox }) {
            queue(due.message, for: due.recipients)
        }
    }

    private func queue(_ message: PendingMessage, for recipients: [UserKey]) {
        for user in recipients {
            for device in offlineDevices(of: user) {
                let key = DeviceKey(user: user, device: device)
                if pending[key] == nil {
                    let delay = configuration.delay
                    Task { [weak self] in
                        try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                        await self?.flushMessages(key)
                    }
                }
                pending[key, default: []].append(message)
            }
        }
    }

    /// `user` read `room` through `seq` on some device.
    func read(_ user: UserKey, room: String, through seq: UInt64) {
        if seq > readThrough[user]?[room] ?? 0 { readThrough[user, default: [:]][room] = seq }
    }

    /// A MOD request was opened: eligible FMDs with no connected device are woken (`prio: high`).
    func modOffer(_ request: ModRequest, to experts: [UserKey]) {
        liveEvents[request.id] = request.expiresAt
        let notification = PushNotification(
            kind: .modOffer, eventID: request.id, roomID: nil, sender: request.requester,
            senderName: request.requesterName, content: ["question": request.question, "area": request.area])
        for expert in experts where registry.entries(ofAll: [expert]).isEmpty {
            deliver(notification, to: book.pushers(of: expert), freshUntil: request.expiresAt)
        }
    }

    /// A call rings: the callees' devices that are not connected are woken (`prio: high`).
    func callRing(_ call: String, room: String, caller: UserRecord, media: String, until deadline: Millis,
                  to callees: [UserKey]) {
        liveEvents[call] = deadline
        let notification = PushNotification(
            kind: .callRing, eventID: call, roomID: room, sender: caller.user, senderName: caller.name,
            content: ["media": media])
        for callee in callees {
            let offline = Set(offlineDevices(of: callee))
            deliver(notification, to: book.pushers(of: callee).filter { offline.contains($0.device) }, freshUntil: deadline)
        }
    }

    /// A meeting invitation or reminder: the users' devices that are not connected are woken (a reminder
    /// with `prio: high`).
    func meeting(_ meeting: String, room: String, organizer: String, organizerName: String, title: String,
                 startsAt: Millis, reminder: Bool, freshUntil: Millis, to users: [UserKey]) {
        var notification = PushNotification(
            kind: .meeting, eventID: meeting, roomID: room, sender: organizer, senderName: organizerName,
            content: ["title": title, "starts_at": String(startsAt), "reminder": String(reminder)])
        notification.highPriority = reminder
        for user in users {
            let offline = Set(offlineDevices(of: user))
            deliver(notification, to: book.pushers(of: user).filter { offline.contains($0.device) }, freshUntil: freshUntil)
        }
    }

    /// A call ended without an answer (timeout, or the caller gave up) while ringing `callees`.
    func callMissed(by callees: [UserKey]) {
        for callee in callees { missedCalls[callee, default: 0] += 1 }
    }

    /// A device of `user` connected: their missed calls are seen.
    func connected(_ user: UserKey) {
        missedCalls[user] = nil
    }

    /// A MOD request or call is no longer worth waking anyone for (claimed, answered, ended).
    func withdraw(_ event: String) {
        liveEvents[event] = nil
    }

    private func offlineDevices(of user: UserKey) -> [String] {
        guard let pushers = book.byUser[user] else { return [] }
        let connected = registry.entries(ofAll: [user]).map(\.caller.device)
        var devices: [String] = []
        for pusher in pushers where !connected.contains(pusher.device) && !devices.contains(pusher.device) {
            devices.append(pusher.device)
        }
        return devices
    }

    private func flushMessages(_ key: DeviceKey) {
        guard let messages = pending.removeValue(forKey: key) else { return }
        guard !registry.entries(ofAll: [key.user]).contains(where: { $0.caller.device == key.device }) else { return }
        let cursors = readThrough[key.user] ?? [:]
        let unread = messages.filter { $0.seq > cursors[$0.room] ?? 0 }
        guard let last = unread.last else { return }
        var notification = PushNotification(
            kind: .message, eventID: "\(last.room):\(last.seq)", roomID: last.room, sender: last.sender,
            senderName: last.senderName, content: ["body": last.body])
        notification.unread = unread.count
        let freshUntil = last.ts + Millis(configuration.messageFreshness * 1000)
        deliver(notification, to: book.pushers(of: key.user).filter { $0.device == key.device }, freshUntil: freshUntil)
    }

    // MARK: Sending

    /// One POST per gateway, listing that gateway's pushers (all of one user) as `devices`.
    private func deliver(_ notification: PushNotification, to pushers: [Pusher], freshUntil: Millis) {
        guard let client, let owner = pushers.first?.owner else { return }
        var notification = notification
        notification.missedCalls = missedCalls[owner] ?? 0
        let started = ContinuousClock.now
        for (gateway, devices) in Dictionary(grouping: pushers, by: \.gateway) {
            guard let base = configuration.gateways[gateway] else {
                logger.warning("pushers of gateway '\(gateway)' skipped: it is no longer configured")
                continue
            }
            let body = notification.body(for: devices, fullContent: configuration.fullContent)
            if underway.count >= configuration.queueLimit, let oldest = underway.keys.min() {
                underway.removeValue(forKey: oldest)?.cancel()
                PushMetrics.dropped.increment()
            }
            let ticket = nextTicket
            nextTicket += 1
            let attempt = PushAttempt(url: PushConfiguration.notifyURL(base), body: body, gateway: gateway,
                                      devices: devices, kind: notification.kind, event: notification.eventID,
                                      freshUntil: freshUntil, started: started)
            underway[ticket] = Task.detached { [weak self] in
                await attempt.run(client: client, isFresh: { [weak self] in await self?.isFresh(attempt) ?? false }) {
                    [weak self] answer in await self?.finished(ticket, attempt, answer)
                }
            }
        }
    }

    private func isFresh(_ attempt: PushAttempt) -> Bool {
        guard WallClock.now() < attempt.freshUntil else { return false }
        return attempt.kind == .message || attempt.kind == .meeting || liveEvents[attempt.event] != nil
    }

    private func finished(_ ticket: Int, _ attempt: PushAttempt, _ answer: PushGatewayAnswer) async {
        underway[ticket] = nil
        guard case .accepted(let rejected) = answer else { return }
        for pusher in attempt.devices where !rejected.contains(pusher.pushkey) {
            audit.record(AuditEvent("push.sent", tenant: pusher.tenant, actor: pusher.user, device: pusher.device, detail: [
                "gateway": attempt.gateway, "type": attempt.kind.rawValue, "event": attempt.event, "app_id": pusher.appID,
            ]))
        }
        guard !rejected.isEmpty else { return }
        let before = book
        let removed = book.reject(Set(rejected), among: attempt.devices)
        for pusher in removed {
            PushMetrics.rejected.increment()
            audit.record(AuditEvent("push.rejected", tenant: pusher.tenant, actor: pusher.user, device: pusher.device,
                                    detail: ["gateway": attempt.gateway, "type": attempt.kind.rawValue,
                                             "event": attempt.event, "app_id": pusher.appID]))
        }
        if !removed.isEmpty { try? await saved(since: before) }
    }
}
