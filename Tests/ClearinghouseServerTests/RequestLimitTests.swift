import ClearinghouseServer
import Foundation
import NIOCore
import NIOPosix
import HTTPTypes
import HummingbirdTesting
import Testing

/// The limits a hostile or broken client meets before it can hold the daemon's resources:
/// concurrent uploads per partner, the request timeout on slow bodies, the head size limit.
@Suite("Request limits")
struct RequestLimitTests {
    @Test("past limits.concurrent_uploads a partner's next upload gets 429 before it is read; other partners are unaffected")
    func concurrentUploads() async throws {
        var limits = TestDaemon.unlimited
        limits.concurrentUploads = 2
        try await TestDaemon.run(rateLimits: limits) { client, daemon in
            let port = try #require(client.port)
            let acme = daemon.keys["acme"]!
            let line = Lines.consent("held-person") + "\n"
            // Two uploads that send their head and half a body, then hold.
            try await RawConnection.with(port: port) { first in
                try await RawConnection.with(port: port) { second in
                    for connection in [first, second] {
                        try await connection.send(
                            RawConnection.head("/v1/consents", key: acme, contentLength: line.utf8.count) + String(line.prefix(20)))
                    }
                    // Both are being received: each holds one of acme's slots.
                    try await Poll.until("both held uploads to take a slot") { daemon.runtime.uploads.count(for: "acme") == 2 }
                    let body = Lines.body([Lines.consent("third-person")])
                    let answer = try await client.upload("/v1/consents", body, as: acme)
                    #expect(answer.status == .tooManyRequests)
                    #expect(answer.errorCode == "too_many_concurrent_uploads")
                    #expect(answer.headers[.retryAfter] == "1")
                    let other = try await client.upload("/v1/consents", Lines.body([Lines.consent("globex-person")]), as: daemon.keys["globex"]!)
                    #expect(other.status == .ok)

                    // One held upload finishes its body: acme has a slot again.
                    try await first.send(String(line.dropFirst(20)))
                    #expect(try await first.read(untilHead: true).hasPrefix("HTTP/1.1 200"))
                    #expect(try await client.upload("/v1/consents", body, as: acme).status == .ok)
                }
            }
        }
    }

    @Test("a request whose Idempotency-Key is still in flight gets 409 with Retry-After and stores nothing; once the first is answered the retry replays it")
    func idempotencyKeyInFlight() async throws {
        try await TestDaemon.run(rateLimits: TestDaemon.unlimited) { client, daemon in
            let port = try #require(client.port)
            let acme = daemon.keys["acme"]!
            let line = Lines.consent("in-flight-person") + "\n"
            let key = "Idempotency-Key: nightly-7\r\n"
            let keyHeader: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "nightly-7"]
            try await RawConnection.with(port: port) { first in
                try await first.send(
                    RawConnection.head("/v1/consents", key: acme, contentLength: line.utf8.count, extra: key) + String(line.prefix(20)))
                try await Poll.until("the held upload to claim its key") { daemon.runtime.idempotencyKeys.count == 1 }
                let busy = try await client.upload("/v1/consents", line, as: acme, headers: keyHeader)
                #expect(busy.status == .conflict && busy.errorCode == "idempotency_key_in_flight")
                #expect(busy.headers[.retryAfter] == "1")
                #expect(try daemon.count("SELECT COUNT(*) FROM batch") == 0)
                try await first.send(String(line.dropFirst(20)))
                let answer = try await first.read(untilHead: true)
                #expect(answer.hasPrefix("HTTP/1.1 200"))
            }
            let retry = try await client.upload("/v1/consents", line, as: acme, headers: keyHeader)
            #expect(retry.status == .ok && retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try daemon.count("SELECT COUNT(*) FROM consent") == 1)
        }
    }

    @Test("connections past limits.connections_per_address from one address are closed at once; a freed place is usable again")
    func connectionsPerAddress() async throws {
        var limits = TestDaemon.unlimited
        limits.connectionsPerAddress = 3
        try await TestDaemon.run(rateLimits: limits) { client, daemon in
            let port = try #require(client.port)
            // Idle connections, each checked with a request, until one is refused. The test client
            // may hold a keep-alive connection of its own, so 2 or 3 of ours are admitted.
            var open: [any Channel] = []
            var refused = false
            while open.count < 5 {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get()
                let answered = try await Self.answersHealth(channel)
                if !answered {
                    refused = true
                    break
                }
                open.append(channel)
            }
            #expect(refused, "a connection past the limit is closed")
            #expect((2...3).contains(open.count), "\(open.count) connections were admitted under a limit of 3")
            for channel in open { try await channel.close() }
            // The places are given back when their connections end: as many fresh connections
            // as were admitted are admitted again (the test client's own connection still held).
            let deadline = ContinuousClock.now + .seconds(10)
            while true {
                var fresh: [any Channel] = []
                var all = true
                for _ in open.indices {
                    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connect(host: "127.0.0.1", port: port).get()
                    fresh.append(channel)
                    if !(try await Self.answersHealth(channel)) {
                        all = false
                        break
                    }
                }
                for channel in fresh { try? await channel.close() }
                if all { break }
                guard ContinuousClock.now < deadline else {
                    Issue.record("the closed connections' places were not given back within 10 s")
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(daemon.logText.contains("connection refused: too many from one address"))
        }
    }

    /// Sends GET /healthz on a bare channel; true when an answer arrives, false when the daemon
    /// closes the connection instead.
    static func answersHealth(_ channel: any Channel) async throws -> Bool {
        let answer = channel.eventLoop.makePromise(of: Bool.self)
        do {
            try await channel.pipeline.addHandler(FirstBytes(answer)).get()
        } catch {
            answer.succeed(false)  // closed by the daemon before the handler could be added
            return try await answer.futureResult.get()
        }
        channel.writeAndFlush(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"), promise: nil)
        return try await answer.futureResult.get()
    }

    /// Succeeds its promise with true on the first bytes read, false when the channel closes first
    /// (or was closed already when it was added).
    final class FirstBytes: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: used on its channel's event loop only.
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<Bool>
        private var done = false
        init(_ promise: EventLoopPromise<Bool>) { self.promise = promise }
        private func finish(_ answered: Bool) {
            guard !done else { return }
            done = true
            promise.succeed(answered)
        }
        func handlerAdded(context: ChannelHandlerContext) { if !context.channel.isActive { finish(false) } }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { finish(true) }
        func channelInactive(context: ChannelHandlerContext) { finish(false) }
    }

    @Test("a body that keeps trickling past server.request_timeout_seconds gets 408, the connection closes, nothing is stored")
    func slowBody() async throws {
        try await TestDaemon.run(requestTimeoutSeconds: 1) { client, daemon in
            let port = try #require(client.port)
            let lines = (0..<50).map { Lines.consent("slow-\($0)") }.joined(separator: "\n") + "\n"
            let answer = try await RawConnection.with(port: port) { connection in
                try await connection.send(RawConnection.head("/v1/consents", key: daemon.keys["acme"]!, contentLength: lines.utf8.count))
                // A few bytes every 200 ms (never idle, never done) until the daemon answers.
                return try await withThrowingTaskGroup(of: String?.self) { group in
                    group.addTask { try await connection.read(limit: .seconds(60)) }
                    group.addTask {
                        var sent = lines.startIndex
                        while !Task.isCancelled, sent < lines.endIndex {
                            let next = lines.index(sent, offsetBy: 40, limitedBy: lines.endIndex) ?? lines.endIndex
                            try? await connection.send(String(lines[sent..<next]))
                            sent = next
                            try? await Task.sleep(for: .milliseconds(200))
                        }
                        return nil
                    }
                    while let finished = try await group.next() {
                        if let text = finished {
                            group.cancelAll()
                            return text
                        }
                    }
                    return ""
                }
            }
            #expect(answer.hasPrefix("HTTP/1.1 408"))
            #expect(answer.contains("request_timeout"))
            #expect(try daemon.count("SELECT COUNT(*) FROM consent") == 0)
            #expect(try daemon.count("SELECT COUNT(*) FROM batch") == 0)
        }
    }

    @Test("a request head over server.max_header_bytes gets 400 and the connection closes")
    func oversizedHead() async throws {
        try await TestDaemon.run { client, daemon in
            let padding = String(repeating: "a", count: daemon.settings.maxHeaderBytes + 1)
            let answer = try await RawConnection.with(port: try #require(client.port)) { connection in
                try await connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: \(padding)\r\n\r\n")
                return try await connection.read()
            }
            #expect(answer.hasPrefix("HTTP/1.1 400"))
            // Within the limit, the same request is answered.
            let fine = try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("X-Padding")!: "a"])
            #expect(fine.status == .ok)
        }
    }
}
