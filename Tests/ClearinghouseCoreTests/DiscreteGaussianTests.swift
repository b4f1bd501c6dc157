import Foundation
import Testing

@testable import ClearinghouseCore

/// The exact discrete Gaussian sampler against its probability mass function.
///
/// Each statistical check is set so that a correct sampler fails it with probability at most
/// about 1e-6 (the critical values below say how: DKW is exact, chi-square and the moments use
/// standard approximations); the seeds are fixed, so a run is reproducible and
/// a failure is a real difference, not bad luck to be retried.
@Suite("Discrete Gaussian sampler")
struct DiscreteGaussianTests {
    /// z with P(Z > z) = 1e-6 (one-sided) and P(|Z| > z) = 1e-6 (two-sided).
    static let zOneSided = 4.753_424
    static let zTwoSided = 4.891_638

    /// The exact PMF of N_Z(0, sigma^2) on [-support, support] (the mass outside is below 1e-300).
    struct Mass {
        let sigmaSquared: Double
        let support: Int
        let probabilities: [Double]

        init(sigmaSquared: Double) {
            self.sigmaSquared = sigmaSquared
            support = Int((sigmaSquared.squareRoot() * 40).rounded(.up)) + 2
            let weights = (-support...support).map { exp(-Double($0 * $0) / (2 * sigmaSquared)) }
            let total = weights.reduce(0, +)
            probabilities = weights.map { $0 / total }
        }

        func p(_ x: Int) -> Double { abs(x) > support ? 0 : probabilities[x + support] }
        var variance: Double { (-support...support).reduce(0) { $0 + Double($1 * $1) * p($1) } }
        var fourthMoment: Double { (-support...support).reduce(0) { $0 + pow(Double($1), 4) * p($1) } }
    }

    static let cases: [(name: String, sigmaSquared: Rational)] = [
        ("sigma^2 = 1/2", Rational(numerator: 1, denominator: 2)),
        ("sigma^2 = 19/2", Rational(numerator: 19, denominator: 2)),
        ("the default plan's sigma^2", PrivacySettings().plan.sigmaSquared!),
        // Its acceptance fractions need more than 64 bits: the 128-bit path.
        ("sigma^2 = 10^6", Rational(numerator: 1_000_000 << 20, denominator: 1 << 20)),
    ]

    @Test("chi-square, Kolmogorov-Smirnov, mean and variance agree with the exact PMF", arguments: 0..<4)
    func matchesMassFunction(index: Int) throws {
        let (name, sigmaSquared) = Self.cases[index]
        let sampler = DiscreteGaussian(sigmaSquared: sigmaSquared)
        let mass = Mass(sigmaSquared: sigmaSquared.doubleValue)
        let draws = 200_000
        var generator = SeededGenerator(seed: 20_261_201 + UInt64(index))
        var observed: [Int: Int] = [:]
        var sum = 0.0, sumOfSquares = 0.0
        for _ in 0..<draws {
            let x = Int(sampler.sample(using: &generator))
            observed[x, default: 0] += 1
            sum += Double(x)
            sumOfSquares += Double(x * x)
        }

        // Chi-square over the integers expected at least 20 times, the two tails merged into one
        // bin each. Critical value: the Wilson-Hilferty quantile at 1 - 1e-6.
        let n = Double(draws)
        let central = (-mass.support...mass.support).filter { n * mass.p($0) >= 20 }
        let low = central.first!, high = central.last!
        var chiSquare = 0.0
        for x in central {
            let expected = n * mass.p(x)
            chiSquare += pow(Double(observed[x, default: 0]) - expected, 2) / expected
        }
        let lowTail = (-mass.support..<low).reduce(0.0) { $0 + mass.p($1) } * n
        let highTail = ((high + 1)...mass.support).reduce(0.0) { $0 + mass.p($1) } * n
        let observedLow = observed.filter { $0.key < low }.values.reduce(0, +)
        let observedHigh = observed.filter { $0.key > high }.values.reduce(0, +)
        var bins = central.count
        for (expected, seen) in [(lowTail, observedLow), (highTail, observedHigh)] where expected > 0 {
            chiSquare += pow(Double(seen) - expected, 2) / expected
            bins += 1
        }
        let df = Double(bins - 1)
        let critical = df * pow(1 - 2 / (9 * df) + Self.zOneSided * (2 / (9 * df)).squareRoot(), 3)
        #expect(chiSquare < critical, "\(name): chi-square \(chiSquare) with \(Int(df)) degrees of freedom, critical \(critical)")

        // Kolmogorov-Smirnov by the DKW inequality, P(sup |F_n - F| > e) <= 2 exp(-2 n e^2):
        // exact for discrete distributions too.
        var cumulative = 0.0, empirical = 0, distance = 0.0
        for x in -mass.support...mass.support {
            cumulative += mass.p(x)
            empirical += observed[x, default: 0]
            distance = max(distance, abs(Double(empirical) / n - cumulative))
        }
        let dkw = (log(2 / 1e-6) / (2 * n)).squareRoot()
        #expect(distance < dkw, "\(name): KS distance \(distance), critical \(dkw)")

        // Mean 0 and the exact variance, within z standard errors (normal approximation of the
        // sample mean and variance over 200,000 draws).
        let variance = mass.variance
        let mean = sum / n
        #expect(abs(mean) < Self.zTwoSided * (variance / n).squareRoot(), "\(name): mean \(mean)")
        let sampleVariance = sumOfSquares / n - mean * mean
        let varianceError = ((mass.fourthMoment - variance * variance) / n).squareRoot()
        #expect(
            abs(sampleVariance - variance) < Self.zTwoSided * varianceError,
            "\(name): variance \(sampleVariance), exact \(variance), sigma^2 \(sigmaSquared.doubleValue)")
        print("DiscreteGaussianTests \(name): chi-square \(chiSquare) (df \(Int(df)), critical \(critical)), KS \(distance) (critical \(dkw)), mean \(mean), variance \(sampleVariance) (exact \(variance))")
    }

    @Test("Bernoulli(exp(-gamma)) for rational gamma below and above 1 has the right frequency")
    func bernoulliExp() {
        var generator = SeededGenerator(seed: 11)
        for gamma in [Rational(numerator: 1, denominator: 3), Rational(numerator: 1, denominator: 1), Rational(numerator: 7, denominator: 3)] {
            let draws = 100_000
            var ones = 0
            for _ in 0..<draws where DiscreteGaussian.bernoulliExpMinus(gamma, using: &generator) { ones += 1 }
            let p = exp(-gamma.doubleValue)
            let error = (p * (1 - p) / Double(draws)).squareRoot()
            #expect(abs(Double(ones) / Double(draws) - p) < Self.zTwoSided * error, "gamma \(gamma.doubleValue): \(ones) of \(draws)")
        }
    }

    @Test("the draws depend on the random source alone: the same seed gives the same draws, another seed others")
    func readsOnlyItsGenerator() {
        let sampler = DiscreteGaussian(sigmaSquared: PrivacySettings().plan.sigmaSquared!)
        func draws(_ seed: UInt64) -> [Int64] {
            var generator = SeededGenerator(seed: seed)
            return (0..<2000).map { _ in sampler.sample(using: &generator) }
        }
        let first = draws(5)
        // Whatever time has passed and whatever else ran, the same seed replays the same noise:
        // no clock, no address, no other state is read.
        _ = draws(6)
        #expect(draws(5) == first)
        #expect(draws(6) != first)
    }

    @Test("the release generator reads the kernel's random bytes: balanced bits, past the 4 KiB buffer, never twice")
    func kernelRandom() {
        var first = KernelRandom(), second = KernelRandom()
        let words = (0..<20_000).map { _ in first.next() }
        #expect(Set(words).count == words.count, "no word repeats (the buffer is refilled, not replayed)")
        #expect(words.prefix(512) != (0..<512).map { _ in second.next() }[...])
        // 1,280,000 bits: the share of ones is 1/2 within 4.89 standard errors (1e-6).
        let ones = words.reduce(0) { $0 + $1.nonzeroBitCount }
        let bits = Double(words.count * 64)
        #expect(abs(Double(ones) / bits - 0.5) < Self.zTwoSided * (0.25 / bits).squareRoot())
    }

    @Test("sigma^2 is the zCDP variance rounded up to 2^-20; the threshold uses the discrete tail bound")
    func plan() throws {
        let settings = PrivacySettings()
        let plan = settings.plan
        let sigmaSquared = try #require(plan.sigmaSquared)
        let rho = ZeroConcentratedDP.rho(epsilon: 1, delta: 1e-6)
        let exact = 48 / (2 * rho)
        #expect(sigmaSquared.denominator == 1 << 20)
        #expect(sigmaSquared.doubleValue >= exact && sigmaSquared.doubleValue - exact <= 1.0 / Double(1 << 20))
        #expect(plan.noise == "discrete_gaussian")
        // The released rho for this sigma^2 is at most the one the budget is charged.
        #expect(48 / (2 * sigmaSquared.doubleValue) <= plan.rho)
        // A cell of k - 1 passes the threshold with probability at most threshold_delta:
        // exp(-(threshold - (k - 1))^2 / (2 sigma^2)) <= 1e-12.
        let margin = Double(plan.threshold - Int64(settings.k - 1))
        #expect(exp(-margin * margin / (2 * sigmaSquared.doubleValue)) <= settings.thresholdDelta)
        #expect(exp(-(margin - 1) * (margin - 1) / (2 * sigmaSquared.doubleValue)) > settings.thresholdDelta, "the smallest such margin")
        // Settings whose noise the sampler cannot hold are refused, saying what to change.
        let extreme = PrivacySettings(
            bounds: ContributionBounds(itemsPerPartner: 64, partnersPerPerson: 64), epsilon: 0.01, delta: 1e-15, thresholdDelta: 1e-15)
        #expect(extreme.problem?.contains("raise privacy.epsilon") == true)
        #expect(PrivacySettings(epsilon: 0.01).problem == nil, "the smallest epsilon at the default bounds is fine")
        // Plans stored before the discrete Gaussian still decode, saying what they were.
        let old = #"{"rho":0.0175,"sigma":37.06,"threshold":311,"l2_sensitivity":6.93}"#
        let decoded = try JSONDecoder().decode(NoisePlan.self, from: Data(old.utf8))
        #expect(decoded.noise == "rounded_gaussian" && decoded.sigmaSquared == nil)
        let roundTrip = try JSONDecoder().decode(NoisePlan.self, from: JSONEncoder().encode(plan))
        #expect(roundTrip == plan)
    }
}
