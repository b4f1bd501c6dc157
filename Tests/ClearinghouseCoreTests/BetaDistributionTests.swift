import Foundation
import Testing

@testable import ClearinghouseCore

@Suite("Beta posterior arithmetic")
struct BetaDistributionTests {
    @Test("the CDF, quantiles and binomial tail match closed forms")
    func closedForms() {
        // Beta(2, 3): F(x) = 1 - (1 - x)^3 (1 + 3x); F(0.5) = 0.6875.
        let beta = BetaDistribution(alpha: 2, beta: 3)
        #expect(abs(beta.cdf(0.5) - 0.6875) < 1e-12)
        #expect(abs(beta.cdf(0.2) - (1 - pow(0.8, 3) * 1.6)) < 1e-12)
        #expect(abs(beta.cdf(beta.quantile(0.05)) - 0.05) < 1e-9)
        // Beta(1, 1) is uniform.
        #expect(abs(BetaDistribution(alpha: 1, beta: 1).quantile(0.9) - 0.9) < 1e-9)
        // P(Binomial(20, 0.1) >= 5), summed term by term.
        var tail = 0.0
        for k in 5...20 {
            var choose = 1.0
            for i in 0..<k { choose *= Double(20 - i) / Double(i + 1) }
            tail += choose * pow(0.1, Double(k)) * pow(0.9, Double(20 - k))
        }
        #expect(abs(BetaDistribution.binomialUpperTail(atLeast: 5, of: 20, rate: 0.1) - tail) < 1e-12)
        #expect(BetaDistribution.binomialUpperTail(atLeast: 0, of: 20, rate: 0.1) == 1)
        #expect(BetaDistribution.binomialUpperTail(atLeast: 21, of: 20, rate: 0.1) == 0)
    }

    @Test("draws follow the distribution (seeded)", arguments: [(0.5, 3.0), (8.0, 92.0), (40.0, 60.0)])
    func draws(alpha: Double, beta: Double) {
        let seed: UInt64 = 41
        var generator = SeededGenerator(seed: seed)
        let distribution = BetaDistribution(alpha: alpha, beta: beta)
        let n = 20_000
        let draws = (0..<n).map { _ in distribution.sample(using: &generator) }
        let mean = draws.reduce(0, +) / Double(n)
        let variance = alpha * beta / ((alpha + beta) * (alpha + beta) * (alpha + beta + 1))
        // Five standard errors of the mean.
        #expect(abs(mean - distribution.mean) < 5 * (variance / Double(n)).squareRoot(), "seed \(seed)")
        #expect(draws.allSatisfy { $0 >= 0 && $0 <= 1 })
        let belowMedian = draws.filter { $0 <= distribution.quantile(0.5) }.count
        #expect(abs(Double(belowMedian) / Double(n) - 0.5) < 0.02, "seed \(seed)")
    }
}
