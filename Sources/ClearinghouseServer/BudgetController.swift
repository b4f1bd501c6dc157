import ClearinghouseCore
import Hummingbird

/// `GET /v1/budget`: the consortium's privacy budget for the current period, for every partner.
///
/// Partners are the ones whose customers the epsilon protects, so each may see what has been
/// spent, what is left, how many releases still fit and when the period resets, and which
/// releases spent it. Nothing in it is row-level: it is computed from release metadata alone.
public struct BudgetController: Sendable {
    let runtime: DaemonRuntime

    public init(_ runtime: DaemonRuntime) {
        self.runtime = runtime
    }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("budget") { _, context in
            _ = try context.requirePartner()
            return try JSONBody.response(runtime.budgetStatus(releases: try await runtime.releaseCache.releases()))
        }
        return routes
    }
}

extension DaemonRuntime {
    /// The budget of the current period as partners see it (`GET /v1/budget`, the portal's
    /// overview), with the scheduled releases' pause, if any.
    func budgetStatus(releases: [ReleaseRecord]) -> BudgetStatus {
        let now = clock()
        return BudgetStatus(
            budget: settings.budget, settings: settings.privacy, releases: releases, at: now,
            scheduledReleases: releasePause.description(at: now))
    }
}
