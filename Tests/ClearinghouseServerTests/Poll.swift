/// Waiting in tests: poll a condition with a deadline and fail loudly when it passes, naming
/// what was awaited. Never a bare sleep, never a loop that falls through when time runs out.
enum Poll {
    struct TimedOut: Error, CustomStringConvertible {
        let awaited: String
        let limit: Duration
        var description: String { "timed out after \(limit) waiting for \(awaited)" }
    }

    /// Returns the first value `probe` gives that is not nil.
    @discardableResult
    static func value<T>(
        _ awaited: String, within limit: Duration = .seconds(30), every interval: Duration = .milliseconds(25),
        _ probe: () async throws -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + limit
        while true {
            if let value = try await probe() { return value }
            guard ContinuousClock.now < deadline else { throw TimedOut(awaited: awaited, limit: limit) }
            try await Task.sleep(for: interval)
        }
    }

    /// Returns once `condition` holds.
    static func until(
        _ awaited: String, within limit: Duration = .seconds(30), every interval: Duration = .milliseconds(25),
        _ condition: () async throws -> Bool
    ) async throws {
        try await value(awaited, within: limit, every: interval) { try await condition() ? true : nil }
    }
}
