/// Owns the `PresenceBook` and performs its actions: events to watchers, grace timers, audit.
public actor PresenceService {
    private var book = PresenceBook()
    private let grace: Duration
    private let registry: SessionRegistry
    private let transport: any Transport
    private let audit: AuditLog
    private let directory: UserDirectory

    init(grace: Double, registry: SessionRegistry, transport: any Transport, audit: AuditLog, directory: UserDirectory) {
        self.directory = directory
        self.grace = .milliseconds(Int64(grace * 1000))
        self.registry = registry
        self.transport = transport
        self.audit = audit
    }

    func connect(_ user: UserKey, device: String, session: SessionID) {
        perform(book.connect(user, device: device, session: session, now: WallClock.now()))
    }

    func set(_ user: UserKey, device: String, session: SessionID, status: SettableStatus, note: String?) {
        perform(book.set(user, device: device, session: session, status: status, note: note, now: WallClock.now()))
    }

    func disconnect(_ user: UserKey, device: String, session: SessionID) {
        book.dropWatcher(session)
        perform(book.disconnect(user, device: device, session: session, now: WallClock.now()))
    }

    func watch(_ users: [UserKey], session: SessionID) -> [PresenceInfo] {
        zip(users, book.watch(users, session: session)).map { user, info in
            var named = info
            named.name = directory.name(of: user.user, tenant: user.tenant)
            return named
        }
    }

    /// The current status of each of `users`.
    func statuses(of users: [UserKey]) -> [UserKey: PresenceStatus] {
        Dictionary(users.map { ($0, book.info($0).status) }, uniquingKeysWith: { first, _ in first })
    }

    /// Those of `users` whose last device left in `dnd`.
    func leftInDoNotDisturb(_ users: [UserKey]) -> Set<UserKey> {
        Set(users.filter(book.leftInDoNotDisturb))
    }

    func unwatch(_ users: [UserKey], session: SessionID) {
        book.unwatch(users, session: session)
    }

    private func graceExpired(_ user: UserKey, generation: UInt64) {
        perform(book.graceExpired(user, generation: generation, now: WallClock.now()))
    }

    private func perform(_ actions: [PresenceBook.Action]) {
        for action in actions {
            switch action {
            case .publish(let user, let info, let watchers):
                Instruments.presenceEvents.increment()
                audit.record(AuditEvent("presence.change", tenant: user.tenant, actor: user.user,
                                        detail: ["status": info.status.rawValue, "devices": String(info.devices)]))
                let peers = registry.sessions(watchers).compactMap(\.peer)
                if !peers.isEmpty {
                    let name = directory.name(of: user.user, tenant: user.tenant)
                    transport.broadcast(FrameEncoder.event(PresenceEvent(info: info, name: name)), to: peers)
                }
            case .armGrace(let user, let generation):
                let grace = self.grace
                Task {
                    try? await Task.sleep(for: grace)
                    self.graceExpired(user, generation: generation)
                }
            }
        }
    }
}
