import ClearinghouseCore
import Foundation
import Synchronization

/// Token buckets by key (a partner id, a source address): `rate` tokens a second up to `burst`.
///
/// The limits of OWASP API4 (unrestricted resource consumption) and of API key brute force
/// both need "at most this many, this often, per who". Memory stays bounded: at most
/// `maximumKeys` buckets are kept, and when that many exist, full (idle) buckets are dropped
/// first, since a full bucket and no bucket mean the same.
public final class TokenBucketLimiter: Sendable {
    public struct Limit: Sendable, Equatable {
        /// Tokens added per second.
        public var rate: Double
        /// Most tokens a bucket holds (the largest burst).
        public var burst: Double

        public init(rate: Double, burst: Double) {
            self.rate = rate
            self.burst = burst
        }
    }

    private struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    let limit: Limit
    let maximumKeys: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(_ limit: Limit, maximumKeys: Int = 100_000) {
        self.limit = limit
        self.maximumKeys = maximumKeys
    }

    /// Takes one token for `key`: `nil` when allowed, else how long until a token is back.
    public func take(_ key: String, now: Int64 = WallClock.nowMilliseconds()) -> Duration? {
        buckets.withLock { buckets in
            var bucket = refilled(buckets[key], now: now)
            guard bucket.tokens >= 1 else { return wait(for: bucket) }
            bucket.tokens -= 1
            store(bucket, for: key, in: &buckets, now: now)
            return nil
        }
    }

    /// Whether `key` has a token, without taking it: `nil` when it has, else the wait.
    public func check(_ key: String, now: Int64 = WallClock.nowMilliseconds()) -> Duration? {
        buckets.withLock { buckets in
            let bucket = refilled(buckets[key], now: now)
            return bucket.tokens >= 1 ? nil : wait(for: bucket)
        }
    }

    private func refilled(_ bucket: Bucket?, now: Int64) -> Bucket {
        guard var bucket else { return Bucket(tokens: limit.burst, updated: now) }
        let elapsed = Double(max(0, now - bucket.updated)) / 1000
        bucket.tokens = min(limit.burst, bucket.tokens + elapsed * limit.rate)
        bucket.updated = now
        return bucket
    }

    private func wait(for bucket: Bucket) -> Duration {
        .milliseconds(Int64(((1 - bucket.tokens) / limit.rate * 1000).rounded(.up)))
    }

    private func store(_ bucket: Bucket, for key: String, in buckets: inout [String: Bucket], now: Int64) {
        if buckets[key] == nil && buckets.count >= maximumKeys {
            let idle = buckets.filter { refilled($0.value, now: now).tokens >= limit.burst }.map(\.key)
            for stale in idle { buckets.removeValue(forKey: stale) }
            if buckets.count >= maximumKeys { buckets.removeValue(forKey: buckets.keys.first!) }
        }
        buckets[key] = bucket
    }
}

/// The configured request limits (settings `limits.*`).
public struct RateLimits: Sendable, Equatable {
    /// Write requests (batches) per partner.
    public var writes: TokenBucketLimiter.Limit
    /// Read requests per partner.
    public var reads: TokenBucketLimiter.Limit
    /// Failed authentications per source address; stricter than normal traffic.
    public var authenticationFailures: TokenBucketLimiter.Limit
    /// Uploads one partner may have in flight at once (each holds a spool and, at the end, the writer).
    public var concurrentUploads: Int
    /// Open connections one client address may hold (authenticated or not).
    public var connectionsPerAddress: Int

    public init(
        writes: TokenBucketLimiter.Limit = .init(rate: 10, burst: 20),
        reads: TokenBucketLimiter.Limit = .init(rate: 50, burst: 100),
        authenticationFailures: TokenBucketLimiter.Limit = .init(rate: 10.0 / 60, burst: 10),
        concurrentUploads: Int = 4,
        connectionsPerAddress: Int = 64
    ) {
        self.writes = writes
        self.reads = reads
        self.authenticationFailures = authenticationFailures
        self.concurrentUploads = concurrentUploads
        self.connectionsPerAddress = connectionsPerAddress
    }
}
