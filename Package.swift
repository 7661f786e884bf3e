// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "liaison",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "liaison", targets: ["liaison"]),
        .executable(name: "liaison-loadtest", targets: ["liaison-loadtest"]),
        .library(name: "LiaisonCore", targets: ["LiaisonCore"]),
        .library(name: "LiaisonServer", targets: ["LiaisonServer"]),
        .library(name: "LiaisonClient", targets: ["LiaisonClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // The C boundary: libwebsockets through pkg-config, plus a few inline shims.
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev", "libssl-dev"])]
        ),
        // The C boundary of cluster mode: the NATS C client (libnats) through pkg-config, plus inline shims.
        .systemLibrary(
            name: "CNats",
            pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]
        ),
        // The lock shared state is kept under (visible to ThreadSanitizer).
        .target(name: "LiaisonSync"),
        // The domain: protocol, policy, presence, rooms, MOD, calls, audit, persistence. No I/O to sockets.
        .target(
            name: "LiaisonCore",
            dependencies: [
                "LiaisonSync",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Outbound HTTP (the identity provider's JWKS, push gateways) through AsyncHTTPClient, on its own event loops.
        .target(
            name: "LiaisonOutbound",
            dependencies: [
                "LiaisonCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Cluster mode: the active node's lease and its journal in NATS JetStream.
        .target(
            name: "LiaisonCluster",
            dependencies: [
                "CNats",
                "LiaisonCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The transport: libwebsockets server, sessions, outboxes, HTTP endpoints.
        .target(
            name: "LiaisonServer",
            dependencies: [
                "CLibWebSockets",
                "LiaisonCore",
                "LiaisonOutbound",
                "LiaisonSync",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Protocol/ links to docs/schema and docs/asyncapi.yaml, served at /v1/schema and /v1/asyncapi.yaml.
            resources: [.copy("Console"), .copy("Protocol")]
        ),
        // A client of the wire protocol over libwebsockets' client API.
        .target(
            name: "LiaisonClient",
            dependencies: ["CLibWebSockets", "LiaisonSync"]
        ),
        .executableTarget(
            name: "liaison",
            dependencies: [
                "LiaisonCluster",
                "LiaisonServer",
                "LiaisonCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "liaison-loadtest",
            dependencies: [
                "LiaisonClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "loadtest/Sources"
        ),
        .testTarget(
            name: "LiaisonCoreTests",
            dependencies: ["LiaisonCore", "LiaisonSync", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "LiaisonClusterTests",
            dependencies: ["LiaisonCluster", "LiaisonSync"]
        ),
        .testTarget(
            name: "LiaisonServerTests",
            dependencies: [
                "LiaisonServer", "LiaisonCore", "LiaisonClient",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ]
)
