import Foundation

/// The privacy guard's configuration for releases.
///
/// Defaults are conservative: k = 50 with a hard floor of 10 that configuration cannot go
/// under, differential privacy on, epsilon 1 per release at delta 1e-6, each person bounded to
/// 3 items at each of 3 partners. SECURITY.md derives the noise from these.
public struct PrivacySettings: Sendable, Codable, Equatable {
    /// The smallest k any configuration may set.
    public static let minimumK = 10

    /// A count is released only if at least k distinct persons make it up.
    public var k: Int
    public var bounds: ContributionBounds
    /// Off only by configuration; a release records whether it was on.
    public var differentialPrivacy: Bool
    /// Epsilon spent by one release (at `delta`).
    public var epsilon: Double
    public var delta: Double
    /// Probability that a cell whose true count is below k passes the noisy threshold.
    public var thresholdDelta: Double

    public init(
        k: Int = 50, bounds: ContributionBounds = .init(itemsPerPartner: 3, partnersPerPerson: 3),
        differentialPrivacy: Bool = true, epsilon: Double = 1, delta: Double = 1e-6, thresholdDelta: Double = 1e-12
    ) {
        self.k = k
        self.bounds = bounds
        self.differentialPrivacy = differentialPrivacy
        self.epsilon = epsilon
        self.delta = delta
        self.thresholdDelta = thresholdDelta
    }

    /// Why these settings cannot be used, or `nil`.
    public var problem: String? {
        if k < Self.minimumK { return "privacy.k is \(k); it cannot be below the floor of \(Self.minimumK)" }
        if !(1...64).contains(bounds.itemsPerPartner) { return "privacy.items_per_partner must be 1 to 64" }
        if !(2...64).contains(bounds.partnersPerPerson) { return "privacy.partners_per_person must be 2 to 64" }
        if differentialPrivacy {
            if !(epsilon > 0 && epsilon <= 100) { return "privacy.epsilon must be > 0 and <= 100" }
            if !(delta > 0 && delta < 1e-3) { return "privacy.delta must be > 0 and < 0.001" }
            if !(thresholdDelta > 0 && thresholdDelta < 1e-3) { return "privacy.threshold_delta must be > 0 and < 0.001" }
        }
        return nil
    }

    /// The noise and threshold these settings call for.
    public var plan: NoisePlan {
        guard differentialPrivacy else {
            return NoisePlan(rho: 0, sigma: 0, l2Sensitivity: 0, threshold: Int64(k))
        }
        let l2 = Double(bounds.cellsPerPerson).squareRoot()
        let rho = ZeroConcentratedDP.rho(epsilon: epsilon, delta: delta)
        let sigma = ZeroConcentratedDP.sigma(rho: rho, l2Sensitivity: l2)
        let z = StandardNormal.upperQuantile(thresholdDelta)
        let threshold = Int64((Double(k - 1) + z * sigma).rounded(.up))
        return NoisePlan(rho: rho, sigma: sigma, l2Sensitivity: l2, threshold: max(Int64(k), threshold))
    }

    enum CodingKeys: String, CodingKey {
        case k, bounds, epsilon, delta
        case differentialPrivacy = "differential_privacy"
        case thresholdDelta = "threshold_delta"
    }
}

/// What a release adds: Gaussian noise of `sigma` on every count, and the noisy threshold.
public struct NoisePlan: Sendable, Codable, Equatable {
    /// zCDP cost of the release (0 without differential privacy).
    public var rho: Double
    public var sigma: Double
    /// sqrt(cells one person can change): the L2 sensitivity of all counts together.
    public var l2Sensitivity: Double
    /// A noisy count must reach this (and its true count k) to be released.
    public var threshold: Int64

    enum CodingKeys: String, CodingKey {
        case rho, sigma, threshold
        case l2Sensitivity = "l2_sensitivity"
    }
}
