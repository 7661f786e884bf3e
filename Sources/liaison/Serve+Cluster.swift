import Foundation
import LiaisonCluster
import LiaisonCore
import LiaisonServer
import LiaisonSync
import Prometheus
import Synchronization

/// `serve --cluster`: every node serves WebSockets; one node at a time, the one holding the lease, is active
/// (it runs the hub, with its journal in JetStream), the others relay their connections' sessions to it.
extension Serve {
    /// Relays until this node holds the lease, then serves as the active node on the same ports until
    /// stopped. An active node that loses the lease, or finds that another node wrote to the journal, stops
    /// at once with exit status 3, so that two nodes never write; a supervisor restarts it (as a relay).
    func serveClusterNode(_ cluster: ClusterNode.Configuration, _ resolved: Resolved,
                          metrics: PrometheusCollectorRegistry, signals: StopSignals) async throws {
        let node = try ClusterNode(configuration: cluster)
        var configuration = resolved
        configuration.server.clusterHealth = {
            ClusterHealth(node: cluster.node, role: "relay", active: node.lease.lastSeenHolder, busConnected: node.busConnected)
        }
        let edge = Locked<RelayEdge?>(nil)
        // Where the active node and every node are reached, for redirects and /v1/info: read on the service
        // thread, so looked up on a thread of its own, for the life of the node.
        let activeURL = Locked<String?>(nil)
        let nodeURLs = Locked<[String]>([])
        let running = Atomic<Bool>(true)
        let lookup = Thread {
            var tick = 0
            while running.load(ordering: .relaxed) {
                // Listing the bucket's keys makes a consumer on the NATS server: every 2 s (nodes come and go
                // rarely); the active node's URL is one key read, every 0.5 s.
                if tick % 4 == 0 { nodeURLs.withLock { $0 = Array(node.lease.nodeURLs().values) } }
                activeURL.withLock { $0 = node.lease.lastSeenHolder.flatMap { node.lease.url(of: $0) } }
                tick += 1
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        lookup.start()
        defer { running.store(false, ordering: .relaxed) }
        configuration.server.clusterNodeURLs = { nodeURLs.withLock { $0 } }
        let relay = try LiaisonServer(relaying: configuration.server, metrics: metrics,
                                      activeURL: { activeURL.withLock { $0 } }) { transport in
            let made = try! RelayEdge(node: cluster.node, bus: node.bus, transport: transport)
            edge.withLock { $0 = made }
            return made
        }
        print("liaison: node \(cluster.node) of the cluster on \(cluster.url) relays to the active node (now \(node.lease.holder() ?? "none")) until it holds the lease")
        printBanner(configuration, port: relay.port, tlsPort: relay.tlsPort)
        try node.lease.publish(url: relay.publicURL)
        signals.onStop {
            node.lease.stop()
            relay.stop()
        }
        let relayTask = Task { await relay.run() }
        let revision = await node.lease.acquire { holder in
            guard holder != cluster.node else { return }
            edge.withLock { $0 }?.closeAll(reason: "the cluster's active node is now \(holder); reconnect")
        }
        relay.stop(reason: "this node becomes the cluster's active node; reconnect")
        await relayTask.value
        edge.withLock { $0 }?.stop()
        guard let revision, !signals.received else {
            node.close()
            return
        }

        let stop: @Sendable (String) -> Void = { reason in
            FileHandle.standardError.write(Data("liaison: node \(cluster.node) stops: \(reason)\n".utf8))
            Foundation.exit(3)
        }
        node.lease.keep(from: revision, lost: stop)
        try Hub.discardJournaledState(in: configuration.server.dataDirectory)
        // A NATS server just lost may leave a stream without a leader for a moment: each read is retried.
        let trail = configuration.server.dataDirectory.appendingPathComponent("audit.log").path
        var started = ContinuousClock.now
        // The hub's snapshot files are checkpointed from what changed in them.
        let files = ChangeTrackingFileSystem(root: configuration.server.dataDirectory.path, base: LocalFileSystem(),
                                             tracked: Hub.isSnapshotFile)
        configuration.server.fileSystem = files
        configuration.server.externalJournal = try await retrying("reading the journal") {
            try node.openJournal(files: files, fenced: stop)
        }
        print("liaison: node \(cluster.node) read \(configuration.server.externalJournal?.records.count ?? 0) journal records in \(ContinuousClock.now - started)")
        configuration.server.fileReplica = try await retrying("opening the file store") { try node.fileReplica() }
        started = .now
        configuration.server.auditMirror = try await retrying("reading the audit trail") {
            try node.startAudit(trail: trail, fenced: stop)
        }
        print("liaison: node \(cluster.node) read the audit trail in \(ContinuousClock.now - started)")
        started = .now
        configuration.server.clusterHealth = {
            ClusterHealth(node: cluster.node, role: "active", active: cluster.node, busConnected: node.busConnected)
        }
        configuration.server.port = relay.port
        if relay.tlsEnabled { configuration.server.tlsPort = relay.tlsPort }
        let server = try await LiaisonServer(configuration: configuration.server, metrics: metrics) { local in
            RoutingTransport(local: local, bus: node.bus)
        }
        guard let hub = server.hub else { return }
        let core = try RelayCore(sessions: hub, bus: node.bus)
        try node.lease.publish(url: server.publicURL)
        print("liaison: node \(cluster.node) is active: \(configuration.server.externalJournal?.records.count ?? 0) journal records applied in \(ContinuousClock.now - started)")
        printBanner(configuration, port: server.port, tlsPort: server.tlsPort)
        signals.onStop {
            node.lease.stop()
            server.stop()
        }
        await server.run()
        core.stop()
        node.close()
    }

    /// `body`, tried again every second while it throws, for at most a minute.
    private func retrying<T>(_ what: String, _ body: () throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try body()
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                FileHandle.standardError.write(Data("liaison: \(what) failed, retrying: \(error)\n".utf8))
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
