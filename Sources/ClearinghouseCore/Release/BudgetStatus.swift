import Foundation

/// The privacy budget of the current period as partners and the operator see it: what is
/// spent and left, how many releases still fit, when it resets, and what each release of the
/// period spent.
///
/// Computed from the stored releases (each records its rho and period), the same figures the
/// store checks when it admits a release, so the answer and the enforcement cannot disagree.
/// Epsilons do not add up: the period's epsilon is the conversion of the summed rho, which is
/// why each release's own epsilon is listed beside its rho.
public struct BudgetStatus: Sendable, Codable, Equatable {
    public struct Spent: Sendable, Codable, Equatable {
        public var release: Int64
        public var createdAt: String
        public var trigger: String
        /// The release's rho, its pooled acceptance's included.
        public var rho: Double
        /// This release's epsilon at the budget's delta, had it been the only one.
        public var epsilon: Double
        /// Of `rho`, what its pooled acceptance of outcomes spent; absent when it pooled none.
        public var pooledRho: Double?

        enum CodingKeys: String, CodingKey {
            case release, trigger, rho, epsilon
            case createdAt = "created_at"
            case pooledRho = "pooled_rho"
        }
    }

    public var differentialPrivacy: Bool
    public var period: String
    public var periodKind: String
    public var periodStart: String
    public var resetsAt: String
    public var delta: Double
    public var epsilonPerPeriod: Double
    public var epsilonPerRelease: Double?
    public var epsilonSpent: Double
    public var epsilonLeft: Double
    public var rhoSpent: Double
    public var rhoLimit: Double
    /// Releases at the configured epsilon that still fit in this period (a release that pools
    /// outcomes costs `feedback.pooled_epsilon` more, which this count does not foresee).
    public var releasesLeft: Int?
    /// No release at the configured epsilon fits until `resetsAt`.
    public var exhausted: Bool
    /// What the scheduler does about it, when this daemon has paused its releases.
    public var scheduledReleases: String?
    public var releases: [Spent]

    enum CodingKeys: String, CodingKey {
        case period, delta, exhausted, releases
        case differentialPrivacy = "differential_privacy"
        case periodKind = "period_kind"
        case periodStart = "period_start"
        case resetsAt = "resets_at"
        case epsilonPerPeriod = "epsilon_per_period"
        case epsilonPerRelease = "epsilon_per_release"
        case epsilonSpent = "epsilon_spent"
        case epsilonLeft = "epsilon_left"
        case rhoSpent = "rho_spent"
        case rhoLimit = "rho_limit"
        case releasesLeft = "releases_left"
        case scheduledReleases = "scheduled_releases"
    }

    /// The status at `now` from every stored release.
    public init(budget: PrivacyBudget, settings: PrivacySettings, releases: [ReleaseRecord], at now: Int64, scheduledReleases: String? = nil) {
        let bounds = budget.period.bounds(at: now)
        let key = budget.period.key(at: now)
        let ofPeriod = releases.filter { $0.budgetPeriod == key }.sorted { $0.id < $1.id }
        let spent = ofPeriod.reduce(0) { $0 + $1.chargedRho }
        differentialPrivacy = settings.differentialPrivacy
        period = key
        periodKind = budget.period.rawValue
        periodStart = RFC3339.format(milliseconds: bounds.start)
        resetsAt = RFC3339.format(milliseconds: bounds.end)
        delta = budget.delta
        epsilonPerPeriod = budget.epsilonPerPeriod
        epsilonSpent = budget.epsilonSpent(rho: spent)
        epsilonLeft = budget.epsilonLeft(spentRho: spent)
        rhoSpent = spent
        rhoLimit = budget.rhoLimit
        if settings.differentialPrivacy {
            let cost = settings.plan.rho
            epsilonPerRelease = settings.epsilon
            // The same tolerance as `PrivacyBudget.allows`, which the store enforces.
            let fit = cost > 0 ? max(0, Int(((budget.rhoLimit * (1 + 1e-12) - spent) / cost).rounded(.down))) : 0
            releasesLeft = fit
            exhausted = fit == 0
        } else {
            epsilonPerRelease = nil
            releasesLeft = nil
            exhausted = false
        }
        self.scheduledReleases = scheduledReleases
        self.releases = ofPeriod.map {
            Spent(
                release: $0.id, createdAt: $0.createdAt, trigger: $0.trigger, rho: $0.chargedRho,
                epsilon: budget.epsilonSpent(rho: $0.chargedRho), pooledRho: $0.pooled?.rho)
        }
    }
}

extension PrivacyBudget.Period {
    /// The first millisecond of the period holding `milliseconds`, and of the next one (UTC;
    /// weeks start on Monday, ISO 8601).
    public func bounds(at milliseconds: Int64) -> (start: Int64, end: Int64) {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        let component: Calendar.Component
        switch self {
        case .day: component = .day
        case .week: component = .weekOfYear
        case .month: component = .month
        }
        let interval = calendar.dateInterval(of: component, for: date)!
        return (Int64(interval.start.timeIntervalSince1970 * 1000), Int64(interval.end.timeIntervalSince1970 * 1000))
    }
}
