import Synchronization

/// The Idempotency-Keys of requests this daemon is serving right now, per partner.
///
/// A second request with a key still in flight is answered 409 at once (the IETF
/// idempotency-key draft): the client retries after the first is answered, and gets its replay.
/// Two daemons on one PostgreSQL database need no such answer: the key's advisory lock makes
/// the second wait for the first and then replay it.
public final class IdempotencyKeysInFlight: Sendable {
    private let keys = Mutex<Set<String>>([])

    init() {}

    /// Marks `key` of `partner` in flight; false when it already is.
    func claim(_ key: String, partner: Int64) -> Bool {
        keys.withLock { $0.insert("\(partner) \(key)").inserted }
    }

    func release(_ key: String, partner: Int64) {
        _ = keys.withLock { $0.remove("\(partner) \(key)") }
    }

    /// Keys in flight, every partner's (for tests and metrics).
    public var count: Int { keys.withLock { $0.count } }
}
