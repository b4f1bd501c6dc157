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
    /// When a refusal was last logged: a flood of connections must not become a flood of log lines.
    private let lastLogged = Mutex<ContinuousClock.Instant?>(nil)

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

    /// Whether to log this refusal: at most one line every 10 seconds (the metric counts them all).
    func shouldLogRefusal() -> Bool {
        lastLogged.withLock { last in
            let now = ContinuousClock.now
            if let last, now - last < .seconds(10) { return false }
            last = now
            return true
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
    private var refused = false

    init(_ connections: ConnectionsPerAddress, logger: Logger) {
        self.connections = connections
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { _ = check(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        // A refused connection goes no further up the pipeline: it is closing.
        if check(context) { context.fireChannelActive() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let admitted { connections.release(admitted) }
        admitted = nil
        context.fireChannelInactive()
    }

    /// Admits the connection, or closes it; false when it was refused.
    private func check(_ context: ChannelHandlerContext) -> Bool {
        guard !checked else { return !refused }
        checked = true
        guard let address = context.channel.remoteAddress?.ipAddress else { return true }
        if connections.admit(address) {
            admitted = address
            return true
        }
        refused = true
        RateLimitMetrics.limited("connections_per_address")
        if connections.shouldLogRefusal() {
            logger.notice(
                "connection refused: too many from one address (logged at most every 10 s)",
                metadata: ["client.address": "\(address)", "limit.kind": "connections_per_address"])
        }
        context.close(promise: nil)
        return false
    }
}
