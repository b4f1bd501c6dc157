import ClearinghouseCore
import Logging
import ServiceLifecycle

/// Purges on a schedule (`retention.every`): consents that have expired, with their signals;
/// signals older than `retention.signal_days`; person keys no consent holds any more. Each
/// purge is one transaction with one ledger entry, then a WAL checkpoint so no copy lingers.
public struct RetentionService: Service {
    let store: any ClearinghouseStore
    let intervalSeconds: Int
    let retentionDays: Int
    /// With several daemons on one database, only the lease holder purges.
    let lease: SchedulerLease?
    let logger: Logger

    public init(store: any ClearinghouseStore, intervalSeconds: Int, retentionDays: Int, lease: SchedulerLease? = nil, logger: Logger) {
        self.store = store
        self.intervalSeconds = intervalSeconds
        self.retentionDays = retentionDays
        self.lease = lease
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    guard await lease?.holds() ?? true else { throw NotTheLeaseHolder() }
                    let now = WallClock.nowMilliseconds()
                    _ = try await store.purge(at: now, signalsObservedBefore: now - Int64(retentionDays) * 86_400_000)
                } catch is NotTheLeaseHolder {
                    // Another daemon purges.
                } catch {
                    DaemonMetrics.storageError("purge")
                    logger.error("scheduled purge failed", metadata: ["error.type": "\(type(of: error))"])
                }
                do { try await Task.sleep(for: .seconds(intervalSeconds)) } catch { return }
            }
        }
    }
}

/// This daemon does not hold the scheduler lease: another runs the schedules.
struct NotTheLeaseHolder: Error {}
