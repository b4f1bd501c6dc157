import Synchronization

/// At most `limit` uploads in flight per partner (OWASP API4): each upload holds a spool file
/// and, at its end, the single SQLite writer, so one partner opening many connections at once
/// would crowd out the others. Past the limit the upload gets 429 before its body is read.
public final class ConcurrentUploadLimiter: Sendable {
    let limit: Int
    private let inFlight = Mutex<[String: Int]>([:])

    public init(limit: Int) {
        self.limit = limit
    }

    /// Runs `body` holding one of `key`'s slots; `nil` without running it when none is free.
    public func withSlot<T>(_ key: String, _ body: () async throws -> T) async rethrows -> T? {
        let acquired = inFlight.withLock { counts in
            guard counts[key, default: 0] < limit else { return false }
            counts[key, default: 0] += 1
            return true
        }
        guard acquired else { return nil }
        defer {
            inFlight.withLock { counts in
                counts[key, default: 1] -= 1
                if counts[key] == 0 { counts.removeValue(forKey: key) }
            }
        }
        return try await body()
    }

    /// Uploads in flight for `key` (for tests and metrics).
    public func count(for key: String) -> Int {
        inFlight.withLock { $0[key, default: 0] }
    }
}
