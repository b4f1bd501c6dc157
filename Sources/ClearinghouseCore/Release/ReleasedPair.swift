import Foundation

/// One released cross-brand pair: items x (partner A) < y (partner B), with released counts.
///
/// Every count here passed the privacy guard (noisy when differential privacy is on). The
/// ratios are computed from these released counts only.
public struct ReleasedPair: Sendable, Equatable {
    public var x: Int32
    public var y: Int32
    /// n_XY, n_X|AB, n_Y|AB, N_AB.
    public var both: Int64
    public var xWithin: Int64
    public var yWithin: Int64
    public var overlap: Int64

    public init(x: Int32, y: Int32, both: Int64, xWithin: Int64, yWithin: Int64, overlap: Int64) {
        self.x = x
        self.y = y
        self.both = both
        self.xWithin = xWithin
        self.yWithin = yWithin
        self.overlap = overlap
    }

    /// n_XY * N_AB / (n_X|AB * n_Y|AB): how much X raises the odds of Y inside the overlap.
    public var lift: Double { Double(both) * Double(overlap) / (Double(xWithin) * Double(yWithin)) }

    /// n_XY / n_X|AB when `fromX`, else n_XY / n_Y|AB.
    public func confidence(fromX: Bool) -> Double { Double(both) / Double(fromX ? xWithin : yWithin) }

    /// log2 lift (pointwise mutual information inside the overlap).
    public var pmi: Double { Foundation.log2(lift) }
}
