import ArgumentParser

@main
struct Liaison: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Liaison: real-time messaging and signaling for medical-affairs teams.",
        subcommands: [Serve.self, Token.self, Audit.self, Export.self, Inspect.self])
}
