import Foundation

/// The epsilon a deployment may spend per calendar period, enforced across restarts.
///
/// Spending is recorded with each stored release (its rho), so the budget survives restarts
/// by construction: what has been spent in a period is the sum over the releases of that
/// period in the database. zCDP composes by addition of rho; the limit is the rho whose
/// (epsilon, delta) conversion equals the configured epsilon per period.
public struct PrivacyBudget: Sendable, Equatable {
    /// Calendar periods, in UTC.
    public enum Period: String, Sendable, CaseIterable, Codable {
        case day, week, month

        /// A stable key of the period that contains `milliseconds` since 1970, e.g. `2026-11`.
        public func key(at milliseconds: Int64) -> String {
            var calendar = Calendar(identifier: .iso8601)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            switch self {
            case .day:
                let parts = calendar.dateComponents([.year, .month, .day], from: date)
                return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            case .week:
                let parts = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
                return String(format: "%04d-W%02d", parts.yearForWeekOfYear!, parts.weekOfYear!)
            case .month:
                let parts = calendar.dateComponents([.year, .month], from: date)
                return String(format: "%04d-%02d", parts.year!, parts.month!)
            }
        }
    }

    public var epsilonPerPeriod: Double
    public var period: Period
    public var delta: Double

    public init(epsilonPerPeriod: Double = 6.5, period: Period = .month, delta: Double = 1e-6) {
        self.epsilonPerPeriod = epsilonPerPeriod
        self.period = period
        self.delta = delta
    }

    public var rhoLimit: Double { ZeroConcentratedDP.rho(epsilon: epsilonPerPeriod, delta: delta) }

    /// Epsilon (at delta) already spent in a period that has spent `rho`.
    public func epsilonSpent(rho: Double) -> Double { ZeroConcentratedDP.epsilon(rho: rho, delta: delta) }

    /// Epsilon left in a period that has spent `rho` (never negative).
    public func epsilonLeft(spentRho rho: Double) -> Double { max(0, epsilonPerPeriod - epsilonSpent(rho: rho)) }

    /// Whether a release costing `cost` fits after `spent`.
    public func allows(cost: Double, spent: Double) -> Bool {
        cost <= 0 || spent + cost <= rhoLimit * (1 + 1e-12)
    }
}
