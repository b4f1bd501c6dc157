import ClearinghouseCore
import Hummingbird

/// `GET /healthz` (the process answers) and `GET /readyz` (the database is open and migrated),
/// for load balancers and service managers. Neither needs a key; neither says more than that and
/// the build's version (so a rolling upgrade shows which daemons run which build).
public struct HealthController: Sendable {
    let store: any ClearinghouseStore
    /// When scheduled releases wait for the budget to reset, `/readyz` says so in `details`
    /// (still 200: the daemon serves every request).
    let releasePause: ScheduledReleasePause?
    let clock: @Sendable () -> Int64

    public init(
        store: any ClearinghouseStore, releasePause: ScheduledReleasePause? = nil,
        clock: @escaping @Sendable () -> Int64 = WallClock.nowMilliseconds
    ) {
        self.store = store
        self.releasePause = releasePause
        self.clock = clock
    }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("healthz") { _, _ in try Self.status("ok", .ok) }
        routes.get("readyz") { _, context in
            do {
                try await store.checkReady()
                if let paused = releasePause?.description(at: clock()) {
                    return try JSONBody.response(
                        ReadyWithDetails(status: "ready", version: ClearinghouseVersion.current, details: ["scheduled_releases": paused]))
                }
                return try Self.status("ready", .ok)
            } catch {
                context.logger.warning("not ready", metadata: ["error.type": "\(type(of: error))"])
                return try Self.status("not ready", .serviceUnavailable)
            }
        }
        return routes
    }

    private static func status(_ text: String, _ status: HTTPResponse.Status) throws -> Response {
        try JSONBody.response(["status": text, "version": ClearinghouseVersion.current], status: status)
    }
}

/// `/readyz` with something the operator should know.
private struct ReadyWithDetails: Encodable {
    let status: String
    let version: String
    let details: [String: String]
}
