import ClearinghouseCore
import Logging
import ServiceLifecycle

/// Computes a release every `release.every`, as a service beside the HTTP server.
///
/// The next release is due one interval after the latest stored one (so a restart does not
/// release early and spend budget twice), or one interval after start when there is none
/// (so a fresh daemon does not spend budget on an empty database). A release refused because
/// the period's budget is spent is logged once, and the next one waits for the period to reset
/// (`pause`, shown by `/readyz` and `GET /v1/budget`). Stops at once on graceful shutdown: a sleeping scheduler is
/// cancelled, and a running computation is never half-stored (storing is one transaction).
/// With `export.dir` set, each stored release is then exported for every partner.
public struct ReleaseScheduler: Service {
    let service: ReleaseService
    let intervalSeconds: Int
    let exports: ScheduledExports?
    /// With several daemons on one database, only the lease holder releases.
    let lease: SchedulerLease?
    /// Set while the period's budget is spent (what `/readyz` and `/v1/budget` report).
    let pause: ScheduledReleasePause
    /// "Now" for due times, release times and budget periods (the daemon's runtime clock).
    let clock: @Sendable () -> Int64
    let logger: Logger

    public init(
        service: ReleaseService, intervalSeconds: Int, exports: ScheduledExports? = nil, lease: SchedulerLease? = nil,
        pause: ScheduledReleasePause = ScheduledReleasePause(), clock: @escaping @Sendable () -> Int64 = WallClock.nowMilliseconds,
        logger: Logger
    ) {
        self.service = service
        self.intervalSeconds = intervalSeconds
        self.exports = exports
        self.lease = lease
        self.pause = pause
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        let started = clock()
        // Cancellation (graceful shutdown) ends the loop; it is not an error of the service.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let wait: Int64
                do {
                    wait = try await millisecondsUntilDue(startedAt: started)
                } catch {
                    logger.error("could not read the latest release", metadata: ["error.type": "\(type(of: error))"])
                    wait = Int64(intervalSeconds) * 1000
                }
                if wait > 0 {
                    do { try await Task.sleep(for: .milliseconds(wait)) } catch { return }
                }
                if let lease, !(await lease.holds()) {
                    // Another daemon releases; look again after a renewal period.
                    do { try await Task.sleep(for: .milliseconds(max(200, lease.ttlMilliseconds / 3))) } catch { return }
                    continue
                }
                await releaseOnce()
            }
        }
    }

    private func millisecondsUntilDue(startedAt: Int64) async throws -> Int64 {
        let interval = Int64(intervalSeconds) * 1000
        var last = startedAt
        if let latest = try await service.store.release(id: nil), let created = RFC3339.parseMilliseconds(latest.createdAt) {
            last = created
        }
        return max(0, last + interval - clock())
    }

    private func releaseOnce() async {
        let at = clock()
        do {
            let record = try await service.releaseNow(trigger: "schedule", at: at)
            DaemonMetrics.released(record, spentRho: try? await service.store.spentRho(period: record.budgetPeriod))
            logger.notice(
                "scheduled release stored",
                metadata: [
                    "release.id": "\(record.id)", "release.pairs_released": "\(record.summary.pairsReleased)",
                    "release.duration_ms": "\(record.durationMilliseconds)",
                ])
            if pause.resume() { logger.notice("scheduled releases resumed", metadata: ["release.budget_period": "\(record.budgetPeriod)"]) }
            await exports?.run(release: record.id, logger: logger)
        } catch ReleaseError.budgetExhausted(let period, _, _) {
            // Nothing fits until the period resets: say so once, then wait for the reset rather
            // than retrying (and logging) every interval. The reset is that of the refused
            // release's own period, whatever the time is now.
            DaemonMetrics.releaseNotStored("refused")
            let now = clock()
            let resumesAt = max(service.budget.period.bounds(at: at).end, now + 1000)
            if pause.pause(period: period, until: resumesAt) {
                logger.warning(
                    "scheduled releases paused: privacy budget spent",
                    metadata: ["release.budget_period": "\(period)", "release.resumes_at": "\(RFC3339.format(milliseconds: resumesAt))"])
            }
            try? await Task.sleep(for: .milliseconds(resumesAt - now))
        } catch let error as ReleaseError {
            DaemonMetrics.releaseNotStored("refused")
            logger.warning("scheduled release refused", metadata: ["release.reason": "\(error)"])
            try? await Task.sleep(for: .seconds(intervalSeconds))
        } catch is CancellationError {
            return  // shutting down mid-release: neither a failure nor a storage error
        } catch {
            DaemonMetrics.releaseNotStored("failed")
            DaemonMetrics.storageError("release")
            logger.error("scheduled release failed", metadata: ["error.type": "\(type(of: error))"])
            try? await Task.sleep(for: .seconds(intervalSeconds))
        }
    }
}

/// The exports the scheduler writes after each release (`export.dir`).
public struct ScheduledExports: Sendable {
    let exporter: ReleaseExporter
    let directory: String

    public init(exporter: ReleaseExporter, directory: String) {
        self.exporter = exporter
        self.directory = directory
    }

    /// Exports `release` for every partner; a failure is logged and the next release tries again.
    func run(release: Int64, logger: Logger) async {
        do {
            let result = try await exporter.export(releaseID: release, to: directory)
            logger.notice(
                "scheduled export written",
                metadata: ["release.id": "\(result.release)", "export.partners": "\(result.outcomes.count)", "export.dir": "\(directory)"])
        } catch {
            logger.error("scheduled export failed", metadata: ["release.id": "\(release)", "error": "\(error)"])
        }
    }
}
