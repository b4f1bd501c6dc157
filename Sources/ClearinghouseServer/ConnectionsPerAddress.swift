import Logging
import NIOCore
import Synchronization

/// How many connections each client address holds, shared by every connection of a listener.
///
/// Rate limits count requests; an idle connection sends none, so without this a client could
/// open connections until the daemon runs out of file descriptors. One address may hold
/// `limits.connections_per_address`; a connection past that is closed as soon as it opens.
public final class ConnectionsPerAddress: Sendable {
    let limit: Int
    private let open = Mutex<[String: Int]>([:])

    public init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new connection of `address`; false (and not counted) when it would be over the limit.
    func admit(_ address: String) -> Bool {
        open.withLock { counts in
            guard counts[address, default: 0] < limit else { return false }
            counts[address, default: 0] += 1
            return true
        }
    }

    func release(_ address: String) {
        open.withLock { counts in
            counts[address, default: 1] -= 1
            if counts[address] == 0 { counts.removeValue(forKey: address) }
        }
    }

    /// Connections `address` holds now (for tests).
    public func count(for address: String) -> Int {
        open.withLock { $0[address, default: 0] }
    }
}

/// The per-connection side of ``ConnectionsPerAddress``: admits the connection when it becomes
/// active, closes it when its address is over the limit, and gives its place back when it ends.
final class ConnectionsPerAddressHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let connections: ConnectionsPerAddress
    private let logger: Logger
    private var admitted: String?
    private var checked = false

    init(_ connections: ConnectionsPerAddress, logger: Logger) {
        self.connections = connections
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { check(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        check(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let admitted { connections.release(admitted) }
        admitted = nil
        context.fireChannelInactive()
    }

    private func check(_ context: ChannelHandlerContext) {
        guard !checked else { return }
        checked = true
        guard let address = context.channel.remoteAddress?.ipAddress else { return }
        if connections.admit(address) {
            admitted = address
        } else {
            RateLimitMetrics.limited("connections_per_address")
            logger.notice(
                "connection refused: too many from one address",
                metadata: ["client.address": "\(address)", "limit.kind": "connections_per_address"])
            context.close(promise: nil)
        }
    }
}
