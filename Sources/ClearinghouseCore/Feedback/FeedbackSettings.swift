/// The knobs of the feedback loop (settings `feedback.*`): how outcomes are checked, how they
/// set each suggestion's prior, and what the pooled acceptance of a release costs.
public struct FeedbackSettings: Sendable, Equatable {
    /// A reported period may last at most this many days: a longer one would blur a campaign
    /// into a season and let one line stand for what should be many.
    public var maxPeriodDays: Int
    /// A partner's acceptance rate before it has reported anything: the prior's centre.
    public var priorRate: Double
    /// How many invitations the release's evidence is worth in a suggestion's prior. Small, so
    /// that a few hundred of the partner's own invitations outweigh it.
    public var priorStrength: Double
    /// The most invitations the consortium's pooled acceptance may be worth in a prior: what
    /// worked elsewhere is tried here sooner, but the partner's own outcomes decide.
    public var pooledStrength: Double
    /// Epsilon (at `privacy.delta`) one release's pooled acceptance spends, charged to the
    /// same budget as the release.
    public var pooledEpsilon: Double
    /// The pooled acceptance counts the outcome periods that lie within this many days before
    /// the release.
    public var poolDays: Int
    /// Partners attest that a customer is counted in at most this many of their outcome lines
    /// whose periods lie within one pooling window: the per-customer bound the pooled
    /// acceptance's sensitivity is derived from (SECURITY.md).
    public var maxLinesPerCustomer: Int

    public init(
        maxPeriodDays: Int = 31, priorRate: Double = 0.05, priorStrength: Double = 20, pooledStrength: Double = 100,
        pooledEpsilon: Double = 0.5, poolDays: Int = 28, maxLinesPerCustomer: Int = 4
    ) {
        self.maxPeriodDays = maxPeriodDays
        self.priorRate = priorRate
        self.priorStrength = priorStrength
        self.pooledStrength = pooledStrength
        self.pooledEpsilon = pooledEpsilon
        self.poolDays = poolDays
        self.maxLinesPerCustomer = maxLinesPerCustomer
    }
}
