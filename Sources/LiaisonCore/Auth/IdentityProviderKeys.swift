import Foundation
import JWTKit
import Logging
import Metrics

/// The identity provider's current signing keys, from its JWKS: fetched at start, refreshed every
/// `refreshInterval` and when a token names a key id not seen yet (at most once per `unknownKeyCooldown`,
/// so tokens with made-up key ids cannot make the server hammer the provider). A failed fetch keeps the
/// keys already known. At most `maxKeys` keys are kept.
public actor IdentityProviderKeys {
    private let source: any JWKSSource
    private let refreshInterval: Duration
    private let unknownKeyCooldown: Duration
    private let maxKeys: Int
    private let logger: Logger
    private var keys = JWTKeyCollection()
    private var keyIDs: Set<String> = []
    private var lastUnknownKeyRefresh: ContinuousClock.Instant?
    private var inFlight: Task<Void, Never>?

    public init(source: any JWKSSource, refreshInterval: Duration = .seconds(600),
                unknownKeyCooldown: Duration = .seconds(10), maxKeys: Int = 32,
                logger: Logger = Logger(label: "liaison.jwks")) {
        self.source = source
        self.refreshInterval = refreshInterval
        self.unknownKeyCooldown = unknownKeyCooldown
        self.maxKeys = maxKeys
        self.logger = logger
    }

    /// The key ids loaded now.
    public var loadedKeyIDs: Set<String> { keyIDs }

    /// Fetches the key set now (joining a fetch already under way).
    public func refresh() async {
        if let inFlight { return await inFlight.value }
        let task = Task { await self.load() }
        inFlight = task
        await task.value
        inFlight = nil
    }

    /// Refreshes every `refreshInterval` until the calling task is cancelled.
    public func keepFresh() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: refreshInterval)
            if Task.isCancelled { return }
            await refresh()
        }
    }

    /// The verified claims of a token signed by one of the provider's keys.
    func verify(_ token: String, keyID: String?) async throws -> IdentityProviderClaims {
        guard let keyID else { throw JWTError.missingKIDHeader }
        if !keyIDs.contains(keyID) {
            let now = ContinuousClock.now
            if lastUnknownKeyRefresh.map({ now - $0 >= unknownKeyCooldown }) ?? true {
                lastUnknownKeyRefresh = now
                await refresh()
            }
            guard keyIDs.contains(keyID) else { throw JWTError.unknownKID(JWKIdentifier(string: keyID)) }
        }
        return try await keys.verify(token, as: IdentityProviderClaims.self)
    }

    private func load() async {
        Counter(label: "liaison_jwks_fetches_total").increment()
        do {
            let document = try await source.fetchJWKS()
            let set = try JSONDecoder().decode(JWKS.self, from: Data(document))
            let fresh = JWTKeyCollection()
            var ids: Set<String> = []
            for key in set.keys where ids.count < maxKeys {
                guard let id = key.keyIdentifier?.string, !ids.contains(id) else { continue }
                do {
                    try await fresh.add(jwk: key)
                    ids.insert(id)
                } catch {
                    logger.warning("JWKS key skipped", metadata: ["kid": "\(id)", "error": "\(error)"])
                }
            }
            if set.keys.count > maxKeys {
                logger.warning("JWKS holds more keys than kept", metadata: ["keys": "\(set.keys.count)", "kept": "\(maxKeys)"])
            }
            keys = fresh
            keyIDs = ids
            logger.info("JWKS loaded", metadata: ["keys": "\(ids.sorted())"])
        } catch {
            Counter(label: "liaison_jwks_fetch_failures_total").increment()
            logger.error("JWKS fetch failed; keeping the keys already known", metadata: ["error": "\(error)"])
        }
    }
}
