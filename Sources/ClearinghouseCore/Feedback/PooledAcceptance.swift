import Foundation

/// The consortium's acceptance of each suggested item, pooled over every partner that invited
/// it, as one release publishes it: discrete Gaussian noise on both counts, and only items that
/// at least two partners reported, whose true invitations come from at least k distinct
/// customers (under the attested bound) and whose noisy invitations reach the threshold.
///
/// A release pools at most once per pooling window (`feedback.pool_days`): the windows of two
/// pooled releases never overlap, so each outcome line is pooled once, and the budget of a
/// period pays for about one pooled acceptance, not one per release.
///
/// This is the only way one partner's outcome counts reach another: other partners' priors
/// use it (``LearningPolicy``), so what worked elsewhere is tried sooner. SECURITY.md derives
/// the noise from the per-customer bound partners attest.
public struct PooledAcceptance: Sendable, Codable, Equatable {
    public struct Item: Sendable, Codable, Equatable {
        /// `partner:category` that was suggested.
        public var item: String
        /// Noisy; accepted is clamped to 0...invited.
        public var invited: Int64
        public var accepted: Int64
        /// How many partners reported it (at least ``PooledAcceptance/minimumPartners``). Kept
        /// inside the daemon: published, it would tell two reporters when subtracting their own
        /// counts leaves exactly the other's.
        public var partners: Int

        enum CodingKeys: String, CodingKey { case item, invited, accepted }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            item = try container.decode(String.self, forKey: .item)
            invited = try container.decode(Int64.self, forKey: .invited)
            accepted = try container.decode(Int64.self, forKey: .accepted)
            partners = PooledAcceptance.minimumPartners
        }

        public init(item: String, invited: Int64, accepted: Int64, partners: Int = PooledAcceptance.minimumPartners) {
            self.item = item
            self.invited = invited
            self.accepted = accepted
            self.partners = partners
        }

        public var rate: Double { invited > 0 ? Double(accepted) / Double(invited) : 0 }
    }

    /// An item is pooled only when this many partners or more reported it (sent a line for
    /// it, even of zero invitations: whether a partner reports is the partner's doing, not a
    /// customer's). One partner's lines alone are never published as the consortium's.
    public static let minimumPartners = 2

    /// The outcome periods counted lie within [windowStart, windowEnd] (RFC 3339).
    public var windowStart: String
    public var windowEnd: String
    /// zCDP cost, charged to the release's budget period with the release.
    public var rho: Double
    public var epsilon: Double
    public var sigma: Double
    /// A noisy invitation count must reach this to be published.
    public var threshold: Int64
    /// The L2 sensitivity: sqrt(2) * partners * feedback.max_lines_per_customer.
    public var l2Sensitivity: Double
    /// How many partners' outcomes the window holds (the sensitivity grows with them).
    public var partners: Int
    public var items: [Item]

    enum CodingKeys: String, CodingKey {
        case rho, epsilon, sigma, threshold, partners, items
        case windowStart = "window_start"
        case windowEnd = "window_end"
        case l2Sensitivity = "l2_sensitivity"
    }

    /// The published rate of each item, by name.
    public var byItem: [String: Item] { Dictionary(items.map { ($0.item, $0) }, uniquingKeysWith: { first, _ in first }) }

    /// The pooled acceptance lists built on release `id` use: the newest published by that
    /// release or an earlier one (a release pools once per window; those between carry none),
    /// unless it is older than two windows before that release: a stale pool stops steering.
    public static func latest(in releases: [ReleaseRecord], upTo id: Int64, feedback: FeedbackSettings) -> PooledAcceptance? {
        guard let release = releases.first(where: { $0.id == id }), let at = RFC3339.parseMilliseconds(release.createdAt) else {
            return nil
        }
        let oldest = at - 2 * Int64(feedback.poolDays) * 86_400_000
        return releases.filter { record in
            record.id <= id && record.pooled != nil && (RFC3339.parseMilliseconds(record.createdAt).map { $0 >= oldest } ?? false)
        }.max { $0.id < $1.id }?.pooled
    }

    /// The window's first instant, in milliseconds: a release stored after it that pooled too
    /// would overlap this one (the store checks, in the transaction that stores the release).
    public var windowStartMilliseconds: Int64? { RFC3339.parseMilliseconds(windowStart) }

    /// Whether a release at `now` pools: differential privacy on, and no pooled release within
    /// the last `feedback.pool_days` (so that pooling windows never overlap).
    public static func isDue(at now: Int64, releases: [ReleaseRecord], privacy: PrivacySettings, feedback: FeedbackSettings) -> Bool {
        guard privacy.differentialPrivacy else { return false }
        let window = Int64(feedback.poolDays) * 86_400_000
        return !releases.contains { record in
            record.pooled != nil && (RFC3339.parseMilliseconds(record.createdAt).map { now - $0 < window } ?? true)
        }
    }

    /// Whether an item's true totals may be published: reports of at least two partners, and
    /// invitations of at least k distinct customers. One customer is at most
    /// `max_lines_per_customer` invitations at each partner that invited the item, so k
    /// customers are guaranteed from k * partners * lines invitations.
    static func isEligible(invited: Int64, partners: Int, privacy: PrivacySettings, feedback: FeedbackSettings) -> Bool {
        partners >= minimumPartners && invited >= Int64(privacy.k * partners * feedback.maxLinesPerCustomer)
    }

    /// The pooled acceptance of the outcomes in `records` whose periods lie in the window of
    /// `settings.poolDays` days before `now`; `nil` when differential privacy is off (nothing is
    /// pooled without noise) or the window holds no outcome (nothing is spent).
    public static func compute<G: RandomNumberGenerator>(
        records: [OutcomeRecord], now: Int64, privacy: PrivacySettings, feedback: FeedbackSettings, generator: inout G
    ) -> PooledAcceptance? {
        guard privacy.differentialPrivacy else { return nil }
        let windowStart = now - Int64(feedback.poolDays) * 86_400_000
        let inWindow = records.filter { $0.isLive && $0.line.periodStart >= windowStart && $0.line.periodEnd <= now }
        guard !inWindow.isEmpty else { return nil }
        // Noise beyond what the exact sampler takes would drown every count: nothing is pooled.
        guard let plan = plan(partners: Set(inWindow.map(\.partner)).count, privacy: privacy, feedback: feedback) else { return nil }
        var totals: [String: OutcomeTotals] = [:]
        var reporters: [String: Set<String>] = [:]
        for record in inWindow {
            totals[record.line.suggested, default: OutcomeTotals()].add(record.line)
            reporters[record.line.suggested, default: []].insert(record.partner)
        }
        // No item that enough partners reported: nothing could be published, so nothing is
        // drawn or spent (which partners reported is theirs to decide, not a customer's).
        guard reporters.values.contains(where: { $0.count >= minimumPartners }) else { return nil }
        let sampler = DiscreteGaussian(sigmaSquared: plan.sigmaSquared)
        var items: [Item] = []
        // Every item is noised, in name order, whether or not it is published.
        for (item, total) in totals.sorted(by: { $0.key < $1.key }) {
            let invited = total.invited + sampler.sample(using: &generator)
            let accepted = total.accepted + sampler.sample(using: &generator)
            let partners = reporters[item]?.count ?? 0
            guard isEligible(invited: total.invited, partners: partners, privacy: privacy, feedback: feedback),
                invited >= plan.threshold
            else { continue }
            items.append(Item(item: item, invited: invited, accepted: min(max(0, accepted), invited), partners: partners))
        }
        return PooledAcceptance(
            windowStart: RFC3339.format(milliseconds: windowStart), windowEnd: RFC3339.format(milliseconds: now), rho: plan.rho,
            epsilon: feedback.pooledEpsilon, sigma: plan.sigmaSquared.doubleValue.squareRoot(), threshold: plan.threshold,
            l2Sensitivity: plan.l2Sensitivity, partners: plan.partners, items: items)
    }

    struct Plan {
        let partners: Int
        let rho: Double
        let sigmaSquared: Rational
        let l2Sensitivity: Double
        let threshold: Int64
    }

    /// One customer is counted in at most `maxLinesPerCustomer` lines of each of `partners`
    /// partners, each line adding at most 1 to an item's invitations and 1 to its acceptances.
    /// The worst case puts every line on one item: both of its counts change by
    /// partners * lines, so D^2 = 2 (partners * lines)^2 and sigma^2 = D^2 / (2 rho).
    ///
    /// The threshold is the release's rule scaled to that multiplicity: an item's true
    /// invitations must reach k * partners * lines (k distinct customers at the most partners an
    /// item can pool), so its noisy invitations must reach that, less one, plus the tail bound;
    /// an item whose true invitations are below it passes with probability at most
    /// `threshold_delta`, and so does an item one customer alone makes (at most partners * lines).
    static func plan(partners: Int, privacy: PrivacySettings, feedback: FeedbackSettings) -> Plan? {
        let perCustomer = Double(partners * feedback.maxLinesPerCustomer)
        let sensitivitySquared = 2 * perCustomer * perCustomer
        let rho = ZeroConcentratedDP.rho(epsilon: feedback.pooledEpsilon, delta: privacy.delta)
        let exact = sensitivitySquared / (2 * rho)
        guard exact <= PrivacySettings.maximumSigmaSquared else { return nil }
        let sigmaSquared = Rational(roundingUp: exact, denominator: NoisePlan.sigmaSquaredDenominator)
        let tail = DiscreteGaussianTail.bound(sigma: sigmaSquared.doubleValue.squareRoot(), probability: privacy.thresholdDelta)
        return Plan(
            partners: partners, rho: rho, sigmaSquared: sigmaSquared, l2Sensitivity: sensitivitySquared.squareRoot(),
            threshold: Int64(privacy.k * partners * feedback.maxLinesPerCustomer - 1) + tail)
    }
}
