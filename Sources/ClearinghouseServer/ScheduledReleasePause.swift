import ClearinghouseCore
import Synchronization

/// Whether this daemon's scheduler has paused releases because the period's privacy budget is
/// spent, and until when.
///
/// The scheduler sets it once when a scheduled release is refused for the budget (one warning,
/// then no retry until the period resets) and clears it when a release is stored again;
/// `/readyz` and `GET /v1/budget` say so while it is set. It is this daemon's own state: with
/// several daemons on one database only the lease holder schedules, so only its `/readyz`
/// says so; every daemon's budget answer says `exhausted` from the stored releases.
public final class ScheduledReleasePause: Sendable {
    public struct Pause: Sendable, Equatable {
        public let period: String
        public let resumesAt: Int64
    }

    private let state = Mutex<(pause: Pause?, refusals: Int)>((nil, 0))

    public init() {}

    public var current: Pause? { state.withLock { $0.pause } }

    /// Scheduled releases refused for the budget since start (the scheduler does not retry
    /// while paused, so one per spent period).
    public var refusals: Int { state.withLock { $0.refusals } }

    /// Sets the pause; false when it was already set for this period (nothing new to log).
    func pause(period: String, until resumesAt: Int64) -> Bool {
        state.withLock { state in
            defer {
                state.pause = Pause(period: period, resumesAt: resumesAt)
                state.refusals += 1
            }
            return state.pause?.period != period
        }
    }

    /// Clears the pause; true when there was one.
    func resume() -> Bool {
        state.withLock { state in
            defer { state.pause = nil }
            return state.pause != nil
        }
    }

    /// One sentence for `/readyz` and the budget answer, or nil when releases run. A pause
    /// whose reset time has passed is not reported, whether or not the next release has been
    /// stored yet (another daemon may hold the lease now).
    public func description(at now: Int64) -> String? {
        guard let pause = current, now < pause.resumesAt else { return nil }
        return "paused: the privacy budget of period \(pause.period) is spent; the next scheduled release is at "
            + RFC3339.format(milliseconds: pause.resumesAt) + ", when the budget resets"
    }
}
