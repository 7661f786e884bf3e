import ArgumentParser

/// `liaison-loadtest`: drives many authenticated connections at a Liaison server
/// and reports throughput and latency percentiles.
@main
struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liaison-loadtest",
        abstract: "Load-test a Liaison server over WebSocket.",
        discussion: """
            Every scenario mints its own HS256 tokens with --secret (the server's --jwt-secret), \
            one distinct user and device per connection, prints a summary table on stdout and, \
            with --json FILE, writes the same figures as JSON. A progress line is shown on \
            stderr when it is a terminal.
            """,
        subcommands: [
            ConnectScenario.self, RTTScenario.self, PresenceScenario.self, ChatScenario.self, FanoutScenario.self,
            MirrorScenario.self, ModScenario.self, CallsScenario.self, ChurnScenario.self,
        ]
    )
}
