@testable import ClearinghouseServer
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--port-file` and in-process callers hear of the API port only once every listener is bound,
/// so whoever reads the port can scrape the Prometheus listener at once.
@Suite struct ListenersReadyTests {
    @Test(arguments: [true, false])
    func apiPortComesOnceBothListenersAreBound(apiFirst: Bool) {
        let heard = Mutex<[Int]>([])
        let ready = ListenersReady { port in heard.withLock { $0.append(port) } }
        let metricsBound = ready.expectOther()
        if apiFirst { ready.apiBound(port: 8420) } else { metricsBound() }
        #expect(heard.withLock { $0 }.isEmpty, "announced before the second listener was bound")
        if apiFirst { metricsBound() } else { ready.apiBound(port: 8420) }
        #expect(heard.withLock { $0 } == [8420])
    }

    @Test func withoutOtherListenersTheApiAloneAnnounces() {
        let heard = Mutex<[Int]>([])
        let ready = ListenersReady { port in heard.withLock { $0.append(port) } }
        ready.apiBound(port: 9000)
        #expect(heard.withLock { $0 } == [9000])
    }

    /// A real daemon with the Prometheus listener, three times: when `onListening` runs, the
    /// metrics port is already bound (checked the way `serve` checks ports, by trying to bind it).
    @Test func metricsPortIsBoundWhenTheApiPortIsAnnounced() async throws {
        var announced = 0
        var attempts = 0
        while announced < 3 {
            attempts += 1
            try #require(attempts <= 10, "the daemon did not start in 10 attempts")
            let directory = NSTemporaryDirectory() + "clearinghouse-ready-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let metricsPort = try Self.freeLoopbackPort()
            let settings = ServerSettings(host: "127.0.0.1", port: 0, dataDirectory: directory, metricsPort: metricsPort)
            let logger = Logger(label: "clearinghouse.test.ready", factory: { _ in SwiftLogNoOpLogHandler() })
            let (announcements, continuation) = AsyncStream<Bool?>.makeStream()
            let app = try await buildApplication(
                settings, logger: logger, metrics: PrometheusCollectorRegistry(),
                onListening: { _ in
                    continuation.yield(ListenAddressCheck.isInUse(host: "127.0.0.1", port: metricsPort))
                    continuation.finish()
                })
            let group = ServiceGroup(services: [app], logger: logger)
            // The stream ends when the group does (a listener that could not bind) or at the deadline.
            let running = Task {
                defer { continuation.finish() }
                try await group.run()
            }
            let deadline = Task {
                try await Task.sleep(for: .seconds(30))
                continuation.finish()
            }
            var iterator = announcements.makeAsyncIterator()
            let metricsBound = await iterator.next()
            deadline.cancel()
            await group.triggerGracefulShutdown()
            let ended: (any Error)? = await { () async -> (any Error)? in
                do { try await running.value; return nil } catch { return error }
            }()
            guard let metricsBound else {
                // Another test took the port between our probe and the daemon's bind: try another.
                if let ended, "\(ended)".contains("in use") { continue }
                Issue.record("port \(metricsPort): no announcement within 30 s; the daemon ended with \(ended.map { "\($0)" } ?? "no error")")
                return
            }
            announced += 1
            #expect(metricsBound == true, "attempt \(attempts): the metrics port \(metricsPort) was not bound yet")
            print("ListenersReadyTests: announcement \(announced) in attempt \(attempts), metrics port \(metricsPort) bound: \(metricsBound)")
        }
    }

    /// A port the kernel just handed out on loopback, closed again for the daemon to bind.
    static func freeLoopbackPort() throws -> Int {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
