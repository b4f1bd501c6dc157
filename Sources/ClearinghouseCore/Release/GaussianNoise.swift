import Foundation

/// Draws N(0, sigma^2) noise, rounded to an integer, from a caller's random generator.
///
/// The daemon passes `SystemRandomNumberGenerator` (the kernel's CSPRNG); tests pass a seeded
/// generator to check the distribution. Rounding a Gaussian-noised count is post-processing,
/// so it keeps the Gaussian mechanism's guarantee. Uniforms carry 53 random bits; the normal
/// draw is Box-Muller. (Floating-point sampling has known subtle weaknesses, Mironov 2012;
/// rounding to integers and thresholding far above the noise scale blunt them. SECURITY.md.)
public struct GaussianNoise<Generator: RandomNumberGenerator> {
    public let sigma: Double
    public private(set) var generator: Generator
    private var spare: Double?

    public init(sigma: Double, generator: Generator) {
        self.sigma = sigma
        self.generator = generator
    }

    /// A standard normal draw.
    public mutating func standardNormal() -> Double {
        if let spare {
            self.spare = nil
            return spare
        }
        // u1 in (0, 1], u2 in [0, 1)
        let u1 = Double(generator.next() >> 11 + 1) * 0x1p-53
        let u2 = Double(generator.next() >> 11) * 0x1p-53
        let radius = (-2 * log(u1)).squareRoot()
        spare = radius * sin(2 * .pi * u2)
        return radius * cos(2 * .pi * u2)
    }

    /// `count` plus rounded noise.
    public mutating func noisy(_ count: Int64) -> Int64 {
        guard sigma > 0 else { return count }
        return count + Int64((sigma * standardNormal()).rounded())
    }
}

/// A small, fast, seeded generator (SplitMix64) for tests and synthetic data; never for noise
/// in a real release.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
