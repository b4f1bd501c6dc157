import Foundation

/// Computes and stores one release: check the budget, read one snapshot, count, guard, store.
///
/// Used by `clearinghouse release now` and by the daemon's scheduled releases. Storage streams
/// the persons of each person range into that range's accumulator, `workers` ranges at a time,
/// each on a database reader's own thread (never on the Swift concurrency pool that serves
/// requests); the counts are merged, guarded and stored.
public struct ReleaseService: Sendable {
    public let store: any ClearinghouseStore
    public let settings: PrivacySettings
    public let budget: PrivacyBudget
    public let workers: Int
    /// Where the exact counts are computed (`release.engine`).
    public let engine: ReleaseEngine
    /// What the release's pooled acceptance counts and costs.
    public let feedback: FeedbackSettings

    public init(
        store: any ClearinghouseStore, settings: PrivacySettings, budget: PrivacyBudget, workers: Int = 2,
        engine: ReleaseEngine = .columnar, feedback: FeedbackSettings = FeedbackSettings()
    ) {
        self.feedback = feedback
        self.store = store
        self.settings = settings
        self.budget = budget
        self.workers = workers
        self.engine = engine
    }

    /// The exact counts, from the configured engine.
    public func exactCounts(at now: Int64) async throws -> ExactCounts {
        switch engine {
        case .database:
            guard let counted = try await store.databaseCounts(at: now, bounds: settings.bounds) else {
                throw ReleaseError.invalidSettings("release.engine = database needs PostgreSQL (storage.url); SQLite counts in memory")
            }
            return counted
        case .columnar:
            if let counted = try await store.columnarCounts(at: now, bounds: settings.bounds, threads: threads) {
                return counted
            }
            return try await scannedCounts(at: now)
        case .memory:
            return try await scannedCounts(at: now)
        }
    }

    /// Counting threads: the configured workers, never more than the cores (counting is CPU
    /// work: more threads than cores only add accumulators).
    public var threads: Int { max(1, min(workers, ProcessInfo.processInfo.activeProcessorCount)) }

    /// The exact counts from a scan of one database snapshot.
    private func scannedCounts(at now: Int64) async throws -> ExactCounts {
        let settings = self.settings
        // Three person ranges per reader: ranges differ in cost, and a reader that finishes
        // early takes the next range, so all readers stay busy until the end.
        let (catalog, accumulators) = try await store.readReleaseSignals(
            at: now, parts: threads * 3, concurrency: threads
        ) { catalog in
            AffinityAccumulator(catalog: catalog, bounds: settings.bounds)
        }
        return ExactCounts(
            catalog: catalog, counts: AffinityAccumulator.merged(accumulators), signals: accumulators.reduce(0) { $0 + $1.signals })
    }

    /// Epsilon left in the current period, or `nil` when differential privacy is off.
    public func epsilonLeft(at now: Int64) async throws -> Double? {
        guard settings.differentialPrivacy else { return nil }
        return budget.epsilonLeft(spentRho: try await store.spentRho(period: budget.period.key(at: now)))
    }

    public func releaseNow(trigger: String, at now: Int64) async throws -> ReleaseRecord {
        if let problem = settings.problem { throw ReleaseError.invalidSettings(problem) }
        let clock = ContinuousClock()
        let started = clock.now
        let plan = settings.plan
        let period = budget.period.key(at: now)
        // A new generator per release: its words are never shared with another release.
        var generator = KernelRandom()
        var pooled: PooledAcceptance?
        if PooledAcceptance.isDue(at: now, releases: try await store.releases(), privacy: settings, feedback: feedback) {
            pooled = PooledAcceptance.compute(
                records: try await store.outcomes(partner: nil, endingAfter: now - Int64(feedback.poolDays) * 86_400_000), now: now,
                privacy: settings, feedback: feedback, generator: &generator)
        }
        if settings.differentialPrivacy {
            // Checked again by the store in the transaction that stores the release; this
            // early check only spares reading the signals when the budget is already spent.
            let spent = try await store.spentRho(period: period)
            // The pooled acceptance is worth less than the release: without room for both, the
            // release goes out without it (the next release pools instead).
            if let cost = pooled?.rho, !budget.allows(cost: plan.rho + cost, spent: spent) { pooled = nil }
            let cost = plan.rho + (pooled?.rho ?? 0)
            _ = try budget.admit(rho: cost, spentRho: spent, period: period, epsilonNeeded: budget.epsilonSpent(rho: cost))
        }
        let exact = try await exactCounts(at: now)
        let (catalog, counts, signals) = (exact.catalog, exact.counts, exact.signals)
        // The guard loops over every cell (a million at 1,000 items): on a lower-priority
        // thread of its own, like the counting, so requests keep the CPU first.
        let settings = self.settings
        // The generator moves to that thread; nothing here draws from it afterwards.
        let built = await CountingThreads.runLowPriority { [generator] in
            var generator = generator
            return ReleaseBuilder.build(counts: counts, catalog: catalog, settings: settings, signals: signals, generator: &generator)
        }
        let elapsed = clock.now - started
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        return try await store.storeRelease(
            NewRelease(
                createdAt: now, trigger: trigger, settings: settings, plan: plan, summary: built.summary,
                budgetPeriod: period, durationMilliseconds: milliseconds, table: built.table, pooled: pooled),
            budget: budget)
    }
}

/// A release about to be stored.
public struct NewRelease: Sendable {
    public var createdAt: Int64
    public var trigger: String
    public var settings: PrivacySettings
    public var plan: NoisePlan
    public var summary: ReleaseSummary
    public var budgetPeriod: String
    public var durationMilliseconds: Int64
    public var table: ReleasedTable
    /// The pooled acceptance published with it; its rho is charged with the release's.
    public var pooled: PooledAcceptance?

    public init(
        createdAt: Int64, trigger: String, settings: PrivacySettings, plan: NoisePlan, summary: ReleaseSummary,
        budgetPeriod: String, durationMilliseconds: Int64, table: ReleasedTable, pooled: PooledAcceptance? = nil
    ) {
        self.pooled = pooled
        self.createdAt = createdAt
        self.trigger = trigger
        self.settings = settings
        self.plan = plan
        self.summary = summary
        self.budgetPeriod = budgetPeriod
        self.durationMilliseconds = durationMilliseconds
        self.table = table
    }
}

/// Why a release was not made, with what to do.
public enum ReleaseError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSettings(String)
    case budgetExhausted(period: String, epsilonLeft: Double, epsilonNeeded: Double)

    public var description: String {
        switch self {
        case .invalidSettings(let problem): return "the privacy settings cannot be used: \(problem)"
        case .budgetExhausted(let period, let left, let needed):
            return "the privacy budget of period \(period) is spent: a release costs epsilon \(needed.formatted3), "
                + "\(left.formatted3) is left; the next release is possible when the next period starts "
                + "(or raise privacy.budget_epsilon, knowingly)"
        }
    }
}

extension Double {
    /// Three decimals, for messages.
    var formatted3: String {
        let scaled = (self * 1000).rounded() / 1000
        return "\(scaled)"
    }
}
