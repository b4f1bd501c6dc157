import ClearinghouseCore
import Logging
import ServiceLifecycle

/// Computes a release every `release.every`, as a service beside the HTTP server.
///
/// The next release is due one interval after the latest stored one (so a restart does not
/// release early and spend budget twice), or one interval after start when there is none
/// (so a fresh daemon does not spend budget on an empty database). A refused release (budget spent) is logged and tried
/// again at the next interval. Stops at once on graceful shutdown: a sleeping scheduler is
/// cancelled, and a running computation is never half-stored (storing is one transaction).
public struct ReleaseScheduler: Service {
    let service: ReleaseService
    let intervalSeconds: Int
    let logger: Logger

    public init(service: ReleaseService, intervalSeconds: Int, logger: Logger) {
        self.service = service
        self.intervalSeconds = intervalSeconds
        self.logger = logger
    }

    public func run() async throws {
        let started = WallClock.nowMilliseconds()
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
        return max(0, last + interval - WallClock.nowMilliseconds())
    }

    private func releaseOnce() async {
        do {
            let record = try await service.releaseNow(trigger: "schedule", at: WallClock.nowMilliseconds())
            logger.notice(
                "scheduled release stored",
                metadata: [
                    "release.id": "\(record.id)", "release.pairs_released": "\(record.summary.pairsReleased)",
                    "release.duration_ms": "\(record.durationMilliseconds)",
                ])
        } catch let error as ReleaseError {
            logger.warning("scheduled release refused", metadata: ["release.reason": "\(error)"])
            try? await Task.sleep(for: .seconds(intervalSeconds))
        } catch {
            logger.error("scheduled release failed", metadata: ["error.type": "\(type(of: error))"])
            try? await Task.sleep(for: .seconds(intervalSeconds))
        }
    }
}
