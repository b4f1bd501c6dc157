import Foundation
import NIOCore
import NIOPosix

/// A bare TCP connection to the daemon, for what an HTTP client library will not do: send half
/// a body and hold it, trickle bytes, send an oversized head.
struct RawConnection: Sendable {
    let inbound: NIOAsyncChannelInboundStream<ByteBuffer>
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// Connects, runs `body`, and closes the connection whatever `body` does.
    static func with<T: Sendable>(port: Int, _ body: (RawConnection) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(RawConnection(inbound: inbound, outbound: outbound))
        }
    }

    /// The start of a POST whose body is `contentLength` bytes, of which none is sent yet.
    static func head(_ path: String, key: String, contentLength: Int, extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(key)\r\n"
            + "Content-Type: application/x-ndjson\r\nContent-Length: \(contentLength)\r\n\(extra)\r\n"
    }

    func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    /// What the daemon sends until it closes the connection, or until a whole response head has
    /// arrived when `untilHead`; throws after `limit`.
    func read(untilHead: Bool = false, limit: Duration = .seconds(15)) async throws -> String {
        try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                var text = ""
                for try await buffer in inbound {
                    text += String(buffer: buffer)
                    if untilHead && text.contains("\r\n\r\n") { break }
                }
                return text
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            guard let text = first else { throw CancellationError() }
            return text
        }
    }
}
