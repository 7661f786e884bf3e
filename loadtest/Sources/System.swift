import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in nanoseconds.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Seconds since the Unix epoch.
func wallClockSeconds() -> Double {
    Date().timeIntervalSince1970
}

/// Raises the soft open-files limit to the hard limit; returns the new soft limit.
@discardableResult
func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(limit.rlim_cur)
}

/// Resident set size of a process in KiB (VmRSS in /proc/PID/status), or nil.
func residentKiB(pid: Int32) -> Int? {
    // /proc files report size 0: read them with plain read(2) until EOF.
    let fd = open("/proc/\(pid)/status", O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let number = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
        return number.flatMap { Int($0) }
    }
    return nil
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// Whether standard error is a terminal.
let stderrIsTerminal = isatty(STDERR_FILENO) != 0

func sleep(seconds: Double) async {
    guard seconds > 0 else { return }
    try? await Task.sleep(for: .nanoseconds(Int64(seconds * 1e9)))
}
