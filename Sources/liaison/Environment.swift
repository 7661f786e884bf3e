import Foundation

/// `LIAISON_<NAME>` environment variables: every `serve` flag's fallback.
enum Environment {
    /// The value of `--some-flag`'s variable, `LIAISON_SOME_FLAG`.
    static func value(for flag: String) -> String? {
        let name = "LIAISON_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
        return ProcessInfo.processInfo.environment[name]
    }

    /// The flag's value, else its environment variable parsed with `parse`, else `fallback`.
    static func resolve<T>(_ flagValue: T?, _ flag: String, _ fallback: T, parse: (String) -> T?) throws -> T {
        if let flagValue { return flagValue }
        guard let text = value(for: flag) else { return fallback }
        guard let parsed = parse(text) else {
            throw ConfigurationError("LIAISON_\(flag.uppercased().replacingOccurrences(of: "-", with: "_")) has an invalid value '\(text)'")
        }
        return parsed
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
