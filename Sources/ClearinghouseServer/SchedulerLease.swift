import ClearinghouseCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Which of the daemons sharing a database runs the scheduled release and retention.
///
/// Every daemon runs this service; it takes or renews the lease `scheduler` in the database
/// every third of `cluster.lease_seconds`. The holder runs the schedules; the others skip
/// them. A daemon that dies stops renewing, and after at most one lease period another takes
/// the lease over; one that shuts down gracefully gives it up at once. Lease times come from
/// each daemon's clock: keep the daemons' clocks within a small part of the lease period (NTP).
public final class SchedulerLease: Service, Sendable {
    public static let name = "scheduler"

    let store: any ClearinghouseStore
    let ttlMilliseconds: Int64
    /// This daemon's name in the lease table: host, process and a random suffix.
    public let holder: String
    let logger: Logger
    private let held = Mutex(false)

    public init(store: any ClearinghouseStore, leaseSeconds: Int, logger: Logger) {
        self.store = store
        self.ttlMilliseconds = Int64(leaseSeconds) * 1000
        self.holder = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
        self.logger = logger
    }

    /// Whether this daemon held the lease at its last renewal.
    public var isHeld: Bool { held.withLock { $0 } }

    /// Renews now and says whether this daemon holds the lease (a scheduled action asks this
    /// right before it runs, so a daemon that lost the lease meanwhile does not act).
    public func holds() async -> Bool {
        await renew()
        return isHeld
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.renew()
                do { try await Task.sleep(for: .milliseconds(max(200, self.ttlMilliseconds / 3))) } catch { break }
            }
        }
        if isHeld {
            try? await store.releaseLease(Self.name, holder: holder)
            logger.notice("scheduler lease given up", metadata: ["lease.holder": "\(holder)"])
        }
    }

    private func renew() async {
        let now: Bool
        do {
            now = try await store.acquireLease(Self.name, holder: holder, now: WallClock.nowMilliseconds(), ttl: ttlMilliseconds)
        } catch {
            // Unreachable database: this daemon cannot know it still holds the lease; stop acting.
            logger.warning("scheduler lease could not be renewed", metadata: ["error.type": "\(type(of: error))"])
            now = false
        }
        let before = held.withLock { value in
            let before = value
            value = now
            return before
        }
        if now != before {
            logger.notice(now ? "scheduler lease taken" : "scheduler lease lost", metadata: ["lease.holder": "\(holder)"])
        }
    }
}
