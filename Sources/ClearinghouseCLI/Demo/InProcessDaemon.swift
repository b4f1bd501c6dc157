import ClearinghouseServer
import Hummingbird
import Logging
import ServiceLifecycle

/// The daemon `serve` runs, started inside this process on a free loopback port, so the demo
/// uploads through the real HTTP API and stops it when done.
struct InProcessDaemon {
    struct DidNotStart: Error, CustomStringConvertible {
        let cause: (any Error)?
        var description: String { "the demo's daemon did not start" + (cause.map { ": \($0)" } ?? "") }
    }

    let runtime: DaemonRuntime
    let port: Int
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    /// Opens the data folder and returns once the API listener accepts connections.
    static func start(_ runtime: DaemonRuntime, logger: Logger) async throws -> InProcessDaemon {
        let (ports, listening) = AsyncStream<Int>.makeStream()
        let app = try buildApplication(runtime, logger: logger, onListening: { port in
            listening.yield(port)
            listening.finish()
        })
        let group = ServiceGroup(services: [app], logger: logger)
        let running = Task {
            defer { listening.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            // The group ended before the listener was bound: its error says why.
            let cause: (any Error)? = await { () async -> (any Error)? in
                do { try await running.value; return nil } catch { return error }
            }()
            throw DidNotStart(cause: cause)
        }
        return InProcessDaemon(runtime: runtime, port: port, group: group, running: running)
    }

    /// Graceful shutdown, as SIGTERM does for `serve`.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
