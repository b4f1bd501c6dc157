import ClearinghouseCore
import Logging
import ServiceLifecycle

/// Builds the columnar copy of the signals once the daemon listens (`release.engine =
/// columnar`), so that the first release after a start counts a ready copy instead of
/// building one (3.3 s at 10 million signals on the development machine). Stores without a
/// copy (PostgreSQL) do nothing. A failed build is logged, not fatal: the next release builds
/// the copy, or scans.
struct ColumnarCopyWarmup: Service {
    let store: any ClearinghouseStore
    let logger: Logger

    func run() async throws {
        do {
            try await store.prepareColumnarCopy()
        } catch is CancellationError {
            return
        } catch {
            logger.warning(
                "building the columnar copy at start failed; the next release builds it or scans",
                metadata: ["error.type": "\(type(of: error))"])
        }
        // A service that returns would end the daemon: stay until it shuts down.
        try? await gracefulShutdown()
    }
}
