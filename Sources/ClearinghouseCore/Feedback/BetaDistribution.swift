import Foundation

/// The Beta distribution a suggestion's acceptance rate is believed to follow: its mean, its
/// quantiles (for the 90% interval), draws (for Thompson sampling) and the binomial tail the
/// "proven" test uses, all from the regularized incomplete beta function.
public struct BetaDistribution: Sendable, Equatable {
    public let alpha: Double
    public let beta: Double

    public init(alpha: Double, beta: Double) {
        precondition(alpha > 0 && beta > 0, "Beta parameters must be positive")
        self.alpha = alpha
        self.beta = beta
    }

    public var mean: Double { alpha / (alpha + beta) }

    /// P(X <= x).
    public func cdf(_ x: Double) -> Double { Self.regularizedIncompleteBeta(x, alpha, beta) }

    /// The x with P(X <= x) = p, by bisection on the CDF (60 halvings: far below any shown digit).
    public func quantile(_ p: Double) -> Double {
        var low = 0.0
        var high = 1.0
        for _ in 0..<60 {
            let middle = (low + high) / 2
            if cdf(middle) < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// One draw: X / (X + Y) with X ~ Gamma(alpha), Y ~ Gamma(beta).
    public func sample<G: RandomNumberGenerator>(using generator: inout G) -> Double {
        let x = Self.gamma(alpha, using: &generator)
        let y = Self.gamma(beta, using: &generator)
        return x + y > 0 ? x / (x + y) : mean
    }

    /// P(Binomial(n, p) >= k): the chance of at least `k` acceptances of `n` invitations at rate `p`.
    public static func binomialUpperTail(atLeast k: Int64, of n: Int64, rate p: Double) -> Double {
        guard k > 0 else { return 1 }
        guard k <= n else { return 0 }
        guard p > 0 else { return 0 }
        guard p < 1 else { return 1 }
        // P(X >= k) = I_p(k, n - k + 1).
        return regularizedIncompleteBeta(p, Double(k), Double(n - k + 1))
    }

    /// I_x(a, b), by the continued fraction of Numerical Recipes (section 6.4), evaluated with
    /// the modified Lentz method on whichever side converges fast.
    static func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let logFront = logBeta + logPowers
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a, b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, b, a) / b
    }

    private static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...10_000 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            result *= step
            if abs(step - 1) < 1e-14 { break }
        }
        return result
    }

    /// A Gamma(shape, 1) draw (Marsaglia and Tsang 2000; shape < 1 by the boost
    /// Gamma(shape) = Gamma(shape + 1) * U^(1/shape)).
    static func gamma<G: RandomNumberGenerator>(_ shape: Double, using generator: inout G) -> Double {
        if shape < 1 {
            let u = Double.random(in: Double.ulpOfOne..<1, using: &generator)
            return gamma(shape + 1, using: &generator) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = normal(using: &generator)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = Double.random(in: Double.ulpOfOne..<1, using: &generator)
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// A standard normal draw (Box-Muller).
    static func normal<G: RandomNumberGenerator>(using generator: inout G) -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &generator)
        let u2 = Double.random(in: 0..<1, using: &generator)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
