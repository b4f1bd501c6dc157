import ClearinghouseCore
import Hummingbird

/// `GET /v1/budget`: the consortium's privacy budget for the current period, for every partner.
///
/// Partners are the ones whose customers the epsilon protects, so each may see what has been
/// spent, what is left, how many releases still fit and when the period resets, and which
/// releases spent it. Nothing in it is row-level: it is computed from release metadata alone.
public struct BudgetController: Sendable {
    let store: any ClearinghouseStore
    let privacy: PrivacySettings
    let budget: PrivacyBudget
    let pause: ScheduledReleasePause
    let clock: @Sendable () -> Int64

    public init(_ runtime: DaemonRuntime) {
        store = runtime.store
        privacy = runtime.settings.privacy
        budget = runtime.settings.budget
        pause = runtime.releasePause
        clock = runtime.clock
    }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("budget") { _, context in
            _ = try context.requirePartner()
            let now = clock()
            let status = BudgetStatus(
                budget: budget, settings: privacy, releases: try await store.releases(), at: now,
                scheduledReleases: pause.description(at: now))
            return try JSONBody.response(status)
        }
        return routes
    }
}
