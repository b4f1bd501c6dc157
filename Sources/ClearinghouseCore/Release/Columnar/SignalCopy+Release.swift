import Foundation

extension SignalCopy {
    /// The exact counts of a release from the copy, building it when there is none or when it
    /// fell behind for good; `nil` when it cannot be made to match the database (the caller
    /// reads the signals itself instead, so the copy is dropped first: two full reads of the
    /// signals would be held at once otherwise).
    ///
    /// - Parameters:
    ///   - readView: reads the catalog, expired consents and ledger mark in one read.
    ///   - build: reads every signal in one snapshot into a copy, or `nil` when the signals
    ///     cannot be held as columns.
    public func exactCounts(
        readView: @Sendable () async throws -> ReleaseView,
        build: @escaping @Sendable () async throws -> ColumnarSignals?,
        bounds: ContributionBounds, threads: Int
    ) async throws -> ExactCounts? {
        var built = false
        var waits = 0
        hold()
        defer { release() }
        for _ in 0..<Self.attempts {
            let view = try await readView()
            switch await CountingThreads.offPool({ self.count(view, bounds: bounds, threads: threads) }) {
            case .counted(let counts): return counts
            case .ahead: continue
            case .behind where waits < Self.behindWaits:
                // A commit of this process lands in the copy just after it is visible in the
                // database; give it that moment before building again.
                waits += 1
                try await Task.sleep(for: .milliseconds(2))
            case .behind, .missing:
                guard !built else { return await giveUp() }
                built = true
                guard try await buildShared(build) else { return await giveUp() }
            }
        }
        return await giveUp()
    }

    /// Drops the copy that could not be matched (the next release builds one) and says so.
    private func giveUp() async -> ExactCounts? {
        await CountingThreads.offPool { self.drop() }
        return nil
    }

    /// Builds the copy now if there is none (the daemon does at start, so that its first
    /// release counts a ready copy instead of building one); `false` when it cannot be built.
    public func warm(build: @escaping @Sendable () async throws -> ColumnarSignals?) async throws -> Bool {
        guard !isFollowing else { return true }
        return try await buildShared(build)
    }

    /// Reads of the view, counts and builds one release tries before it scans instead.
    static var attempts: Int { 64 }
    /// Short waits for this process's own commits to reach the copy (2 ms each).
    static var behindWaits: Int { 50 }
}
