import ClearinghouseCore
import ClearinghouseServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Request limits (OWASP API4) and the failed-authentication limit, over a real socket.
@Suite("Rate limits")
struct RateLimitTests {
    static let tight = RateLimits(
        writes: .init(rate: 0.02, burst: 2), reads: .init(rate: 0.02, burst: 3), authenticationFailures: .init(rate: 1.0 / 60, burst: 3))

    @Test("a partner's writes and reads each have a bucket: 429 with Retry-After past the burst, others unaffected")
    func perPartnerBuckets() async throws {
        try await TestDaemon.run(rateLimits: Self.tight) { client, daemon in
            let acme = daemon.keys["acme"]!, globex = daemon.keys["globex"]!
            let body = Lines.body([Lines.consent("limited-person")])
            #expect(try await client.upload("/v1/consents", body, as: acme).status == .ok)
            #expect(try await client.upload("/v1/consents", body, as: acme).status == .ok)
            let third = try await client.upload("/v1/consents", body, as: acme)
            #expect(third.status == .tooManyRequests)
            #expect(third.errorCode == "rate_limited")
            let retryAfter = try #require(third.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...50).contains(retryAfter))
            #expect(try daemon.count("SELECT COUNT(*) FROM batch") == 2, "a refused batch stores nothing")
            // Another partner's writes, and acme's reads, draw from other buckets.
            #expect(try await client.upload("/v1/consents", body, as: globex).status == .ok)
            let read = try await client.execute(uri: "/v1/ledger/head", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(read.status == .ok)
            // Refilling at the configured rate is checked without waiting in `bucketArithmetic`.
        }
    }

    @Test("past the burst of failed authentications an address gets 429 for every request, even with a good key")
    func authenticationFailures() async throws {
        try await TestDaemon.run(rateLimits: Self.tight) { client, daemon in
            let acme = daemon.keys["acme"]!
            let wrong = "chk_" + String(repeating: "a", count: 12) + "_" + String(repeating: "b", count: 43)
            for _ in 0..<3 {
                let refused = try await client.execute(uri: "/v1/releases", method: .get, headers: [.authorization: "Bearer \(wrong)"])
                #expect(refused.status == .unauthorized)
            }
            let blocked = try await client.execute(uri: "/v1/releases", method: .get, headers: [.authorization: "Bearer \(wrong)"])
            #expect(blocked.status == .tooManyRequests)
            #expect(blocked.errorCode == "too_many_failed_authentications")
            #expect(Int(blocked.headers[.retryAfter] ?? "") ?? 0 >= 30, "one failure a minute refills slowly")
            let good = try await client.execute(uri: "/v1/releases", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(good.status == .tooManyRequests, "the address is blocked, whatever the key")
            #expect(!blocked.text.contains(wrong) && !daemon.logText.contains(String(wrong.suffix(43))))
        }
    }

    @Test("the limiter refills at its rate, caps at its burst, and forgets idle keys first when full")
    func bucketArithmetic() {
        let limiter = TokenBucketLimiter(.init(rate: 2, burst: 3), maximumKeys: 2)
        #expect(limiter.take("a", now: 0) == nil)
        #expect(limiter.take("a", now: 0) == nil)
        #expect(limiter.take("a", now: 0) == nil)
        #expect(limiter.take("a", now: 0) == .milliseconds(500))
        #expect(limiter.take("a", now: 500) == nil, "one token back after 1/rate")
        #expect(limiter.check("a", now: 500) == .milliseconds(500))
        #expect(limiter.take("b", now: 10_000) == nil)
        // "a" has refilled by now, so it is idle and is the one dropped for "c".
        #expect(limiter.take("c", now: 10_000) == nil)
        #expect(limiter.take("b", now: 10_000) == nil && limiter.take("b", now: 10_000) == nil)
        #expect(limiter.take("b", now: 10_000) != nil, "b kept its bucket")
    }
}
