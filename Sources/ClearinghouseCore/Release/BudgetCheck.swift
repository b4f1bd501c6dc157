import Foundation

/// The budget check a store makes when it stores a release, inside the transaction that
/// stores it, so that two releases started at once with room for one cannot both be stored.
extension PrivacyBudget {
    /// Admits `release` after `spentRho` has been spent in its period, or throws
    /// ``ReleaseError/budgetExhausted(period:epsilonLeft:epsilonNeeded:)``. Returns the epsilon
    /// left after it, or `nil` when the release is not differentially private (it costs nothing).
    public func admit(_ release: NewRelease, spentRho spent: Double) throws -> Double? {
        guard release.settings.differentialPrivacy else { return nil }
        return try admit(
            rho: release.chargedRho, spentRho: spent, period: release.budgetPeriod,
            epsilonNeeded: epsilonSpent(rho: release.chargedRho))
    }

    /// Admits a cost of `rho` after `spent` in `period`; returns the epsilon left after it.
    public func admit(rho cost: Double, spentRho spent: Double, period: String, epsilonNeeded: Double) throws -> Double {
        guard allows(cost: cost, spent: spent) else {
            throw ReleaseError.budgetExhausted(period: period, epsilonLeft: epsilonLeft(spentRho: spent), epsilonNeeded: epsilonNeeded)
        }
        return epsilonLeft(spentRho: spent + cost)
    }
}

extension NewRelease {
    /// The release as it is stored, decided in the transaction that stores it: without its
    /// pooled acceptance when another release pooled within its window since it was computed
    /// (windows never overlap), or when the period has room for the release alone.
    public func settled(spentRho spent: Double, pooledSinceWindowStart: Bool, budget: PrivacyBudget) -> NewRelease {
        guard let pooled else { return self }
        var settled = self
        if pooledSinceWindowStart || !budget.allows(cost: plan.rho + pooled.rho, spent: spent) { settled.pooled = nil }
        return settled
    }

    /// The rho recorded against the budget: the release's and its pooled acceptance's; zero
    /// when differential privacy is off.
    public var chargedRho: Double { settings.differentialPrivacy ? plan.rho + (pooled?.rho ?? 0) : 0 }

    /// The stored JSON of the release's settings, plan and summary (sorted keys), the same on
    /// every backend.
    public func storedJSON() throws -> (settings: String, plan: String, summary: String, pooled: String?) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func text(_ value: some Encodable) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        return (try text(settings), try text(plan), try text(summary), try pooled.map(text))
    }
}

extension ReleaseRecord {
    /// A stored release read back from its columns (JSON as written by ``NewRelease/storedJSON()``).
    public static func decodeStored(
        id: Int64, createdAt: Int64, trigger: String, budgetPeriod: String, epsilonLeft: Double?, settings: String,
        plan: String, summary: String, durationMilliseconds: Int64, pooled: String? = nil
    ) throws -> ReleaseRecord {
        let decoder = JSONDecoder()
        return ReleaseRecord(
            id: id, createdAt: RFC3339.format(milliseconds: createdAt), trigger: trigger,
            settings: try decoder.decode(PrivacySettings.self, from: Data(settings.utf8)),
            plan: try decoder.decode(NoisePlan.self, from: Data(plan.utf8)),
            summary: try decoder.decode(ReleaseSummary.self, from: Data(summary.utf8)),
            budgetPeriod: budgetPeriod, epsilonLeft: epsilonLeft, durationMilliseconds: durationMilliseconds,
            pooled: try pooled.map { try decoder.decode(PooledAcceptance.self, from: Data($0.utf8)) })
    }
}
