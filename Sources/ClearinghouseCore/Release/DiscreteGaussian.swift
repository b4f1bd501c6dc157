/// Exact sampling from the discrete Gaussian on the integers, N_Z(0, sigma^2): the
/// probability of x is proportional to exp(-x^2 / (2 sigma^2)).
///
/// Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential Privacy" (2020),
/// Algorithms 1-3: Bernoulli(exp(-gamma)) from Bernoulli draws of rationals, a discrete
/// Laplace by rejection, and the discrete Gaussian by rejection from it. Every step is integer
/// arithmetic on uniform integers from the caller's generator, so there is no floating point
/// on the sampling path: no rounding pattern, no gap in the support, nothing for the published
/// low-order-bit attacks on floating-point noise (Mironov 2012; Jin et al. 2022) to read.
///
/// The variance parameter is the rational `sigmaSquared`; the sampler reads nothing else, not
/// the clock and not the count it noises (the draw comes before the count is seen).
public struct DiscreteGaussian: Sendable, Equatable {
    /// sigma^2 as a fraction; the daemon rounds the zCDP sigma^2 up to a multiple of
    /// 1 / `SigmaSquared.denominator` so the noise is never below what the accounting assumes.
    public let sigmaSquared: Rational
    /// The discrete Laplace scale t = floor(sigma) + 1, as in the paper's Algorithm 3.
    let laplaceScale: UInt128

    public init(sigmaSquared: Rational) {
        precondition(sigmaSquared.numerator > 0, "sigma^2 must be positive")
        self.sigmaSquared = sigmaSquared
        laplaceScale = Rational.floorSquareRoot(sigmaSquared) + 1
    }

    /// sigma, for publication and the threshold (not used to sample).
    public var sigma: Double { sigmaSquared.doubleValue.squareRoot() }

    /// One draw.
    public func sample<G: RandomNumberGenerator>(using generator: inout G) -> Int64 {
        let t = laplaceScale
        let (n, d) = (sigmaSquared.numerator, sigmaSquared.denominator)
        while true {
            let y = Self.discreteLaplace(scale: t, using: &generator)
            // gamma = (|y| - sigma^2 / t)^2 / (2 sigma^2) = (|y| d t - n)^2 / (2 n d t^2).
            let magnitude = UInt128(y.magnitude) * d * t
            let difference = magnitude >= n ? magnitude - n : n - magnitude
            let gamma = Rational(numerator: difference * difference, denominator: 2 * n * d * t * t)
            if Self.bernoulliExpMinus(gamma, using: &generator) { return y }
        }
    }

    /// Bernoulli(p / q) for 0 <= p <= q, from one uniform integer below q: 64-bit when q fits,
    /// as nearly every q of a release does (a 128-bit uniform needs a wider multiply).
    static func bernoulli<G: RandomNumberGenerator>(_ p: UInt128, over q: UInt128, using generator: inout G) -> Bool {
        if q <= UInt128(UInt64.max) {
            return UInt128(UInt64.random(in: 0..<UInt64(q), using: &generator)) < p
        }
        return UInt128.random(in: 0..<q, using: &generator) < p
    }

    /// Bernoulli(exp(-gamma)) for a rational gamma >= 0 (the paper's Algorithm 1).
    static func bernoulliExpMinus<G: RandomNumberGenerator>(_ gamma: Rational, using generator: inout G) -> Bool {
        var gamma = gamma
        // exp(-gamma) = exp(-1)^floor(gamma) * exp(-(gamma - floor(gamma))).
        let whole = gamma.numerator / gamma.denominator
        if whole > 0 {
            for _ in 0..<whole where !bernoulliExpMinusAtMostOne(Rational(numerator: 1, denominator: 1), using: &generator) {
                return false
            }
            gamma = Rational(numerator: gamma.numerator % gamma.denominator, denominator: gamma.denominator)
        }
        return bernoulliExpMinusAtMostOne(gamma, using: &generator)
    }

    /// Bernoulli(exp(-gamma)) for 0 <= gamma <= 1: the first k with Bernoulli(gamma / k) = 0 is
    /// odd with probability exp(-gamma).
    private static func bernoulliExpMinusAtMostOne<G: RandomNumberGenerator>(
        _ gamma: Rational, using generator: inout G
    ) -> Bool {
        var k: UInt128 = 1
        while bernoulli(gamma.numerator, over: gamma.denominator * k, using: &generator) { k += 1 }
        return k % 2 == 1
    }

    /// The discrete Laplace with scale t: P(x) proportional to exp(-|x| / t) (Algorithm 2).
    static func discreteLaplace<G: RandomNumberGenerator>(scale t: UInt128, using generator: inout G) -> Int64 {
        while true {
            let u = UInt128(UInt64.random(in: 0..<UInt64(t), using: &generator))  // t = floor(sigma) + 1 is small
            guard bernoulliExpMinus(Rational(numerator: u, denominator: t), using: &generator) else { continue }
            var v: UInt128 = 0
            while bernoulliExpMinus(Rational(numerator: 1, denominator: 1), using: &generator) { v += 1 }
            let x = u + t * v
            let negative = bernoulli(1, over: 2, using: &generator)
            if negative && x == 0 { continue }
            return negative ? -Int64(x) : Int64(x)
        }
    }
}

/// A non-negative fraction of 128-bit integers: enough for sigma^2 with a 2^20 denominator
/// and the products the sampler forms (at most about 2^100 for sigma up to 10^4).
public struct Rational: Sendable, Equatable, Codable {
    public let numerator: UInt128
    public let denominator: UInt128

    public init(numerator: UInt128, denominator: UInt128) {
        precondition(denominator > 0)
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The smallest multiple of 1 / `denominator` that is at least `value`: rounding sigma^2
    /// up keeps at least the noise the privacy accounting assumes.
    public init(roundingUp value: Double, denominator: UInt128) {
        precondition(value > 0 && value.isFinite)
        self.init(numerator: UInt128((value * Double(denominator)).rounded(.up)), denominator: denominator)
    }

    public var doubleValue: Double { Double(numerator) / Double(denominator) }

    /// floor(sqrt(n / d)), exactly: the largest s with s^2 d <= n.
    static func floorSquareRoot(_ value: Rational) -> UInt128 {
        var low: UInt128 = 0
        var high: UInt128 = UInt128(value.doubleValue.squareRoot()) + 2
        while low < high {
            let middle = (low + high + 1) / 2
            if middle * middle * value.denominator <= value.numerator { low = middle } else { high = middle - 1 }
        }
        return low
    }

    enum CodingKeys: String, CodingKey { case numerator, denominator }

    /// As decimal strings: JSON numbers cannot carry 128 bits exactly.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(numerator), forKey: .numerator)
        try container.encode(String(denominator), forKey: .denominator)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let numerator = UInt128(try container.decode(String.self, forKey: .numerator)),
            let denominator = UInt128(try container.decode(String.self, forKey: .denominator)), denominator > 0
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .denominator, in: container, debugDescription: "a fraction of two decimal integers, denominator > 0")
        }
        self.init(numerator: numerator, denominator: denominator)
    }
}
