import Foundation

/// The privacy guard's configuration for releases.
///
/// Defaults are conservative: k = 50 with a hard floor of 10 that configuration cannot go
/// under, differential privacy on, epsilon 1 per release at delta 1e-6, each person bounded to
/// 3 items at each of 3 partners. SECURITY.md derives the noise from these.
public struct PrivacySettings: Sendable, Codable, Equatable {
    /// The smallest k any configuration may set.
    public static let minimumK = 10
    /// The largest sigma^2 the discrete Gaussian sampler takes without overflowing its
    /// 128-bit fractions (see ``DiscreteGaussian``).
    public static let maximumSigmaSquared = 1e10

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
            // The exact sampler's 128-bit fractions hold sigma^2 up to about 1e10 (sigma 10^5,
            // far more noise than any count it could be added to).
            let sigmaSquared = ZeroConcentratedDP.sigmaSquared(
                rho: ZeroConcentratedDP.rho(epsilon: epsilon, delta: delta), cells: bounds.cellsPerPerson)
            if sigmaSquared > Self.maximumSigmaSquared {
                return "these settings call for noise of sigma \(Int(sigmaSquared.squareRoot())), more than the exact sampler takes "
                    + "(\(Int(Self.maximumSigmaSquared.squareRoot()))) and more than any count could carry; raise privacy.epsilon "
                    + "or lower privacy.items_per_partner and privacy.partners_per_person"
            }
        }
        return nil
    }

    /// The noise and threshold these settings call for.
    ///
    /// sigma^2 = cells / (2 rho), rounded up to a multiple of 2^-20 (the discrete Gaussian is
    /// sampled from the rational); the threshold is k - 1 plus the discrete Gaussian's tail
    /// bound, sigma sqrt(2 ln(1 / threshold_delta)), rounded up. SECURITY.md derives both.
    public var plan: NoisePlan {
        guard differentialPrivacy else {
            return NoisePlan(rho: 0, sigmaSquared: nil, l2Sensitivity: 0, threshold: Int64(k))
        }
        let cells = bounds.cellsPerPerson
        let rho = ZeroConcentratedDP.rho(epsilon: epsilon, delta: delta)
        let sigmaSquared = Rational(
            roundingUp: ZeroConcentratedDP.sigmaSquared(rho: rho, cells: cells), denominator: NoisePlan.sigmaSquaredDenominator)
        let sigma = sigmaSquared.doubleValue.squareRoot()
        let tail = DiscreteGaussianTail.bound(sigma: sigma, probability: thresholdDelta)
        let threshold = Int64(k - 1) + tail
        return NoisePlan(rho: rho, sigmaSquared: sigmaSquared, l2Sensitivity: Double(cells).squareRoot(), threshold: max(Int64(k), threshold))
    }

    enum CodingKeys: String, CodingKey {
        case k, bounds, epsilon, delta
        case differentialPrivacy = "differential_privacy"
        case thresholdDelta = "threshold_delta"
    }
}

/// What a release adds: discrete Gaussian noise of variance parameter `sigmaSquared` on every
/// count, and the noisy threshold.
public struct NoisePlan: Sendable, Codable, Equatable {
    /// sigma^2 is a multiple of 1 / 2^20.
    public static let sigmaSquaredDenominator: UInt128 = 1 << 20

    /// How the noise is drawn: `discrete_gaussian` (exact, integer); releases stored before it
    /// say `rounded_gaussian` (a floating-point Gaussian rounded to an integer); `none` without
    /// differential privacy.
    public var noise: String
    /// zCDP cost of the release (0 without differential privacy).
    public var rho: Double
    /// sqrt(sigma^2), for people and the threshold; the sampler uses `sigmaSquared`.
    public var sigma: Double
    /// The exact variance parameter the discrete Gaussian was sampled with.
    public var sigmaSquared: Rational?
    /// sqrt(cells one person can change): the L2 sensitivity of all counts together.
    public var l2Sensitivity: Double
    /// A noisy count must reach this (and its true count k) to be released.
    public var threshold: Int64

    public init(rho: Double, sigmaSquared: Rational?, l2Sensitivity: Double, threshold: Int64) {
        noise = sigmaSquared == nil ? "none" : "discrete_gaussian"
        self.rho = rho
        self.sigma = sigmaSquared.map { $0.doubleValue.squareRoot() } ?? 0
        self.sigmaSquared = sigmaSquared
        self.l2Sensitivity = l2Sensitivity
        self.threshold = threshold
    }

    /// The sampler of this plan, nil without noise.
    public var sampler: DiscreteGaussian? { sigmaSquared.map(DiscreteGaussian.init(sigmaSquared:)) }

    enum CodingKeys: String, CodingKey {
        case noise, rho, sigma, threshold
        case sigmaSquared = "sigma_squared"
        case l2Sensitivity = "l2_sensitivity"
    }

    /// Plans stored before the discrete Gaussian carry no `noise`: they were rounded Gaussians.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rho = try container.decode(Double.self, forKey: .rho)
        sigma = try container.decode(Double.self, forKey: .sigma)
        sigmaSquared = try container.decodeIfPresent(Rational.self, forKey: .sigmaSquared)
        l2Sensitivity = try container.decode(Double.self, forKey: .l2Sensitivity)
        threshold = try container.decode(Int64.self, forKey: .threshold)
        noise = try container.decodeIfPresent(String.self, forKey: .noise) ?? (sigma > 0 ? "rounded_gaussian" : "none")
    }
}

/// The discrete Gaussian's tail: N_Z(0, sigma^2) is sigma^2-subgaussian, E[exp(tX)] <=
/// exp(t^2 sigma^2 / 2) (Canonne, Kamath and Steinke 2020, section 2), so by Chernoff
/// P(X >= m) <= exp(-m^2 / (2 sigma^2)) for every m > 0.
public enum DiscreteGaussianTail {
    /// The smallest whole m with exp(-m^2 / (2 sigma^2)) <= `probability`.
    public static func bound(sigma: Double, probability: Double) -> Int64 {
        Int64((sigma * (2 * log(1 / probability)).squareRoot()).rounded(.up))
    }
}
