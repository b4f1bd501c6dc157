import Foundation

/// Zero-concentrated differential privacy (zCDP) accounting, Bun and Steinke 2016.
///
/// Releases add discrete Gaussian noise (as private as the continuous Gaussian at the same
/// sigma, Canonne, Kamath and Steinke 2020); zCDP composes by adding the rho of each release, and converts
/// to (epsilon, delta)-DP with epsilon = rho + 2 sqrt(rho ln(1/delta)) (their Proposition 1.3).
/// Budgets are configured in epsilon at a fixed delta because that is what people compare;
/// they are enforced on the sum of rho because that is what composes tightly.
public enum ZeroConcentratedDP {
    /// The rho whose (epsilon, delta) conversion is exactly `epsilon`.
    public static func rho(epsilon: Double, delta: Double) -> Double {
        let logTerm = log(1 / delta)
        let root = (logTerm + epsilon).squareRoot() - logTerm.squareRoot()
        return root * root
    }

    /// The epsilon at `delta` that a total of `rho` amounts to.
    public static func epsilon(rho: Double, delta: Double) -> Double {
        guard rho > 0 else { return 0 }
        return rho + 2 * (rho * log(1 / delta)).squareRoot()
    }

    /// The (discrete) Gaussian mechanism's sigma^2 for `rho`-zCDP when one person changes
    /// `cells` counts by one: adding noise of sigma^2 to a query of L2 sensitivity D is
    /// (D^2 / 2 sigma^2)-zCDP, and D^2 = cells.
    public static func sigmaSquared(rho: Double, cells: Int) -> Double {
        Double(cells) / (2 * rho)
    }
}

/// The standard normal distribution function, for the audit's optimum.
public enum StandardNormal {
    /// P(Z <= z).
    public static func cdf(_ z: Double) -> Double {
        0.5 * erfc(-z / 2.0.squareRoot())
    }
}
