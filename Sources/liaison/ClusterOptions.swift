import ArgumentParser
import Foundation
import LiaisonCluster

/// `serve`'s flags for cluster mode (several nodes on one NATS JetStream).
struct ClusterOptions: ParsableArguments {
    @Option(help: "NATS server with JetStream to form a cluster on, nats://HOST:PORT, or the servers of a NATS cluster separated by commas (LIAISON_CLUSTER; default: a single process).") var cluster: String?
    @Option(help: "This node's name, unique in the cluster (LIAISON_NODE; default: the host name).") var node: String?
    @Option(help: "Seconds a silent active node keeps the lease before another node takes over (LIAISON_CLUSTER_LEASE; default 5).") var clusterLease: Double?
    @Option(help: "Copies JetStream keeps of the journal: 1 on one NATS server, 3 on a cluster of three (LIAISON_CLUSTER_REPLICAS; default 1).") var clusterReplicas: Int?
    @Option(help: "Journal records after which the active node checkpoints its snapshots into JetStream and drops the records they cover (LIAISON_CLUSTER_CHECKPOINT_RECORDS; default 50000).") var clusterCheckpointRecords: Int?

    /// The cluster configuration these flags (or their LIAISON_ variables) give; nil without `--cluster`.
    func resolve() throws -> ClusterNode.Configuration? {
        guard let url = try Environment.resolve(cluster, "cluster", nil, parse: { $0 }) else { return nil }
        let urls = url.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !urls.isEmpty, urls.allSatisfy({ $0.hasPrefix("nats://") || $0.hasPrefix("tls://") }) else {
            throw ValidationError("--cluster must be NATS URLs such as nats://127.0.0.1:4222 (several separated by commas)")
        }
        let name = try Environment.resolve(node, "node", ProcessInfo.processInfo.hostName) { $0 }
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_".contains($0) }) else {
            throw ValidationError("--node must be 1 to 64 letters, digits, - or _")
        }
        var configuration = ClusterNode.Configuration(url: url, node: name)
        let lease = try Environment.resolve(clusterLease, "cluster-lease", 5) { Double($0) }
        guard lease >= 0.5, lease.isFinite else { throw ValidationError("--cluster-lease must be at least 0.5 seconds") }
        configuration.lease = .milliseconds(Int64(lease * 1000))
        configuration.replicas = try Environment.resolve(clusterReplicas, "cluster-replicas", 1) { Int($0) }
        guard [1, 3, 5].contains(configuration.replicas) else { throw ValidationError("--cluster-replicas must be 1, 3 or 5") }
        configuration.checkpointRecords = try Environment.resolve(clusterCheckpointRecords, "cluster-checkpoint-records", 50_000) { Int($0) }
        guard configuration.checkpointRecords >= 1 else { throw ValidationError("--cluster-checkpoint-records must be at least 1") }
        return configuration
    }
}
