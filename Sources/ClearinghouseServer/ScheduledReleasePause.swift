import ClearinghouseCore
import Synchronization

/// Whether this daemon's scheduler has paused releases because the period's privacy budget is
/// spent, and until when.
///
/// The scheduler sets it once when a scheduled release is refused for the budget (one warning,
/// then no retry until the period resets) and clears it when a release is stored again;
/// `/readyz` and `GET /v1/budget` say so while it is set.
public final class ScheduledReleasePause: Sendable {
    public struct Pause: Sendable, Equatable {
        public let period: String
        public let resumesAt: Int64
    }

    private let state = Mutex<Pause?>(nil)

    public init() {}

    public var current: Pause? { state.withLock { $0 } }

    /// Sets the pause; false when it was already set for this period (nothing new to log).
    func pause(period: String, until resumesAt: Int64) -> Bool {
        state.withLock { current in
            defer { current = Pause(period: period, resumesAt: resumesAt) }
            return current?.period != period
        }
    }

    /// Clears the pause; true when there was one.
    func resume() -> Bool {
        state.withLock { current in
            defer { current = nil }
            return current != nil
        }
    }

    /// One sentence for `/readyz` and the budget answer, or nil when releases run.
    public var description: String? {
        current.map {
            "paused: the privacy budget of period \($0.period) is spent; the next scheduled release is at "
                + RFC3339.format(milliseconds: $0.resumesAt) + ", when the budget resets"
        }
    }
}
