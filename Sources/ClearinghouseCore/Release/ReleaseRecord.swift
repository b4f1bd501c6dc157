/// A stored release as the operator and partners see its metadata.
///
/// Immutable once stored. `summary` holds exact sizes computed without noise, so only the
/// operator's CLI shows it; the HTTP API shows `PublicReleaseInfo`.
public struct ReleaseRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var createdAt: String
    /// What started it: `cli` or `schedule`.
    public var trigger: String
    public var settings: PrivacySettings
    public var plan: NoisePlan
    public var summary: ReleaseSummary
    /// Budget period of the release and epsilon left in it right after it.
    public var budgetPeriod: String
    public var epsilonLeft: Double?
    public var durationMilliseconds: Int64
    /// The consortium's pooled acceptance this release published (noisy), or `nil` when it
    /// published none (no outcomes in the window, or differential privacy off).
    public var pooled: PooledAcceptance?

    public init(
        id: Int64, createdAt: String, trigger: String, settings: PrivacySettings, plan: NoisePlan, summary: ReleaseSummary,
        budgetPeriod: String, epsilonLeft: Double?, durationMilliseconds: Int64, pooled: PooledAcceptance? = nil
    ) {
        self.pooled = pooled
        self.id = id
        self.createdAt = createdAt
        self.trigger = trigger
        self.settings = settings
        self.plan = plan
        self.summary = summary
        self.budgetPeriod = budgetPeriod
        self.epsilonLeft = epsilonLeft
        self.durationMilliseconds = durationMilliseconds
    }

    /// What the release charged to its budget period: its own rho and its pooled acceptance's.
    public var chargedRho: Double { settings.differentialPrivacy ? plan.rho + (pooled?.rho ?? 0) : 0 }

    /// The width partners' counts are rounded down to: without noise, exact counts would let a
    /// partner difference two releases, so they see multiples of 10; noisy counts are shown as
    /// they are (`nil`). Every place that shows a partner released counts uses this.
    public var partnerBucketWidth: Int64? { settings.differentialPrivacy ? nil : 10 }

    /// What a partner may know about this release: parameters and how many pairs came out.
    public var publicInfo: PublicReleaseInfo {
        PublicReleaseInfo(
            id: id, createdAt: createdAt, k: settings.k, differentialPrivacy: settings.differentialPrivacy,
            epsilon: settings.differentialPrivacy ? settings.epsilon : nil,
            delta: settings.differentialPrivacy ? settings.delta : nil,
            noiseSigma: settings.differentialPrivacy ? plan.sigma : nil, noise: settings.differentialPrivacy ? plan.noise : "none",
            threshold: plan.threshold,
            bounds: settings.bounds, pairsReleased: summary.pairsReleased,
            countsAre: settings.differentialPrivacy ? "noisy" : "bucketed", pooledAcceptance: pooled)
    }

    enum CodingKeys: String, CodingKey {
        case id, trigger, settings, plan, summary, pooled
        case createdAt = "created_at"
        case budgetPeriod = "budget_period"
        case epsilonLeft = "epsilon_left"
        case durationMilliseconds = "duration_ms"
    }
}

/// Release metadata for partners: the parameters that say how to read the numbers.
public struct PublicReleaseInfo: Sendable, Codable, Equatable {
    public var id: Int64
    public var createdAt: String
    public var k: Int
    public var differentialPrivacy: Bool
    public var epsilon: Double?
    public var delta: Double?
    public var noiseSigma: Double?
    /// `discrete_gaussian`, `rounded_gaussian` (releases stored before it) or `none`; optional
    /// only so that export manifests written before the field still verify.
    public var noise: String?
    public var threshold: Int64
    public var bounds: ContributionBounds
    /// A function of the released (noisy) output only.
    public var pairsReleased: Int
    /// `noisy` (differential privacy on) or `bucketed` (counts rounded down to tens).
    public var countsAre: String
    /// The consortium's acceptance of suggested items, pooled over partners with noise
    /// (absent when the release published none, and in manifests written before it).
    public var pooledAcceptance: PooledAcceptance?

    enum CodingKeys: String, CodingKey {
        case id, k, epsilon, delta, threshold, bounds, noise
        case pooledAcceptance = "pooled_acceptance"
        case createdAt = "created_at"
        case differentialPrivacy = "differential_privacy"
        case noiseSigma = "noise_sigma"
        case pairsReleased = "pairs_released"
        case countsAre = "counts_are"
    }
}
