import Histogram
import LiaisonClient
import Synchronization

/// A latency distribution in microseconds (HdrHistogram, 3 significant digits, up to 2 minutes).
struct Latency: Sendable {
    static let maxMicros: UInt64 = 120_000_000
    var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: Latency.maxMicros, numberOfSignificantValueDigits: .three)

    mutating func record(nanos: UInt64) {
        _ = histogram.record(min(max(1, nanos / 1000), Self.maxMicros))
    }

    mutating func merge(_ other: Latency) {
        histogram.add(other.histogram)
    }

    var count: UInt64 { histogram.totalCount }

    func millis(atPercentile p: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(p)) / 1000
    }

    var maxMillis: Double { count == 0 ? 0 : Double(histogram.max) / 1000 }
    var meanMillis: Double { count == 0 ? 0 : histogram.mean / 1000 }

    /// `p50 1.23  p90 …  p99 …  p99.9 …  max …` in milliseconds.
    var summary: String {
        guard count > 0 else { return "no samples" }
        return "p50 \(fmt(millis(atPercentile: 50)))  p90 \(fmt(millis(atPercentile: 90)))  "
            + "p99 \(fmt(millis(atPercentile: 99)))  p99.9 \(fmt(millis(atPercentile: 99.9)))  "
            + "max \(fmt(maxMillis)) ms  (n=\(count))"
    }

    var json: JSON {
        [
            "count": .number(Double(count)),
            "mean_ms": .number(round3(meanMillis)),
            "p50_ms": .number(round3(millis(atPercentile: 50))),
            "p90_ms": .number(round3(millis(atPercentile: 90))),
            "p99_ms": .number(round3(millis(atPercentile: 99))),
            "p999_ms": .number(round3(millis(atPercentile: 99.9))),
            "max_ms": .number(round3(maxMillis)),
        ]
    }
}

/// Counts of errors by kind, shared by all tasks.
final class ErrorTally: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let total = Atomic<Int>(0)

    func add(_ kind: String, count: Int = 1) {
        guard count > 0 else { return }
        counts.withLock { $0[kind, default: 0] += count }
        total.add(count, ordering: .relaxed)
    }

    var snapshot: [String: Int] { counts.withLock { $0 } }

    var json: JSON { .object(snapshot.mapValues { .int($0) }) }

    var lines: [String] {
        snapshot.sorted { $0.value > $1.value }.map { "  \($0.value) × \($0.key)" }
    }
}

func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

func fmt(_ value: Double, _ decimals: Int = 2) -> String {
    if decimals == 0 { return value.isFinite ? String(Int(value.rounded())) : "\(value)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
        let fraction = text[text.index(after: dot)...]
        if fraction.count < decimals { text += String(repeating: "0", count: decimals - fraction.count) }
    } else if decimals > 0 {
        text += "." + String(repeating: "0", count: decimals)
    }
    return text
}

/// A two-column summary table for stdout.
struct SummaryTable {
    private var rows: [(String, String)] = []

    mutating func add(_ key: String, _ value: String) { rows.append((key, value)) }

    func render() -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { key, value in
            key + String(repeating: " ", count: width - key.count) + "  " + value
        }.joined(separator: "\n")
    }
}

/// Writes `results` as indented JSON to `path`, if given.
func writeResults(_ results: JSON, to path: String?) throws {
    guard let path else { return }
    let text = results.prettyString() + "\n"
    guard let file = fopen(path, "w") else { throw ValidationFailure("cannot write \(path)") }
    defer { fclose(file) }
    fputs(text, file)
}

struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

#if canImport(Glibc)
import Glibc
#endif
