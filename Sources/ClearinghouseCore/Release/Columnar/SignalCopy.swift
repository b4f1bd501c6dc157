import Foundation
import Synchronization

/// The daemon's columnar copy of the stored signals (`release.engine = columnar`), and how it
/// stays true.
///
/// It lives in this process's memory only: never written to disk, so erasure reaches it by
/// patching it. A copy is built from one database read (one snapshot) and is true for the ledger
/// sequence that read saw (its mark). Each transaction this process commits tells the copy what
/// it did to signals, with its sequence (``committed(sequence:change:)``); changes are applied in
/// sequence order only, so the copy is always exactly some database state, never a mix. A
/// release reads the current mark with the catalog and counts the copy only when the marks are
/// equal. A commit by another process (an admin command on the same SQLite file) leaves a
/// sequence the copy never hears of: the marks stay apart and the copy is built again.
/// Erasures are applied before the erasing request is answered (``settle()``).
///
/// This process's commits are told in commit order: SQLite's writer runs one transaction at a
/// time on one queue, and the commit hook runs there before the next begins. So a sequence
/// that has not arrived when a later one has never will (another process committed it): the
/// copy is dropped then, at once, rather than left behind holding what a later erasure of
/// this process removed from the database.
public final class SignalCopy: @unchecked Sendable {
    private struct Pending {
        var changes: [Int64: SignalChange] = [:]
        /// Builds in flight: while one runs, changes after its snapshot are kept for it.
        var builds = 0
        /// Whether a copy exists (changes are kept only when something will apply them).
        var following = false
        /// Releases preparing to count: while one reads its view, commits are kept pending
        /// instead of applied, so the copy does not run ahead of the view just read.
        var holds = 0
    }

    private let pending = Mutex(Pending())
    /// The build in progress, which every caller that needs a copy waits for: two builds at
    /// once would hold two copies.
    private let building = Mutex<Task<Bool, any Error>?>(nil)
    /// Guards `state`; held through a count, so a count sees one state from start to end.
    private let stateLock = NSLock()
    /// Guarded by `stateLock`.
    private var state: ColumnarSignals?

    public init() {}

    /// Told after each commit of this process, from the committing thread.
    public func committed(sequence: Int64, change: SignalChange) {
        let applyNow = pending.withLock { pending -> Bool in
            guard pending.following || pending.builds > 0 else { return false }
            pending.changes[sequence] = change
            // Erasures are applied at once; other changes wait while a release prepares.
            if case .erased = change { return true }
            return pending.holds == 0
        }
        guard applyNow, stateLock.try() else { return }
        applyPending(upTo: .max)
        stateLock.unlock()
    }

    /// Applies every change told so far; returns once applied (it waits for a count in progress).
    /// Erasing requests call it before they answer.
    public func settle() {
        stateLock.lock()
        applyPending(upTo: .max)
        stateLock.unlock()
    }

    /// ``settle()`` off the Swift concurrency pool (it may wait for a count).
    public func settleAsync() async {
        await CountingThreads.offPool { self.settle() }
    }

    /// Keeps this process's commits pending (not applied) while a release reads its view.
    func hold() { pending.withLock { $0.holds += 1 } }
    func release() { pending.withLock { $0.holds -= 1 } }

    /// Whether a copy exists or is being built (no lock on the copy itself).
    var isFollowing: Bool { pending.withLock { $0.following } }

    /// What counting the copy for a view gave.
    public enum Attempt: Sendable {
        case counted(ExactCounts)
        /// The copy is older than the view: a commit's change has not arrived (yet, or ever).
        case behind
        /// The copy is newer than the view: read the view again.
        case ahead
        /// No copy.
        case missing
    }

    /// Counts the copy if it is exactly the state `view` was read from. Blocks while counting.
    public func count(_ view: ReleaseView, bounds: ContributionBounds, threads: Int) -> Attempt {
        stateLock.lock()
        defer { stateLock.unlock() }
        applyPending(upTo: view.mark)
        // No local copy of the struct: the columns keep one owner once the count is done.
        guard let mark = state?.mark else { return .missing }
        if mark < view.mark { return .behind }
        if mark > view.mark { return .ahead }
        return .counted(state!.count(view, bounds: bounds, threads: threads))
    }

    /// Drops the copy and builds a new one, or waits for the build already running; `false`
    /// when the signals cannot be held as columns.
    func buildShared(_ build: @escaping @Sendable () async throws -> ColumnarSignals?) async throws -> Bool {
        let task = building.withLock { running -> Task<Bool, any Error> in
            if let running { return running }
            let task = Task { () -> Bool in
                defer { self.building.withLock { $0 = nil } }
                // The old copy goes first, so that memory holds one copy at a time.
                await CountingThreads.offPool { self.drop() }
                self.beginBuild()
                var copy: ColumnarSignals?
                do { copy = try await build() } catch {
                    self.cancelBuild()
                    throw error
                }
                guard copy != nil else {
                    self.cancelBuild()
                    return false
                }
                let built = copy.take()!
                await CountingThreads.offPool { self.install(built) }
                return true
            }
            running = task
            return task
        }
        return try await task.value
    }

    /// Call before reading the database for a build: changes committed after that read's
    /// snapshot are kept from now on.
    private func beginBuild() {
        pending.withLock { $0.builds += 1 }
    }

    /// Ends a build that failed.
    private func cancelBuild() {
        pending.withLock { pending in
            pending.builds -= 1
            if !pending.following && pending.builds == 0 { pending.changes = [:] }
        }
    }

    /// Installs a built copy (unless a newer one is there) and applies the changes after it.
    /// Consuming: the copy's columns must have one owner, or the first erasure applied to them
    /// would copy every column (twice the memory, for a moment).
    private func install(_ built: consuming ColumnarSignals) {
        stateLock.lock()
        defer { stateLock.unlock() }
        if state == nil || state!.mark < built.mark { state = consume built }
        pending.withLock { pending in
            pending.builds -= 1
            pending.following = true
        }
        applyPending(upTo: .max)
    }

    /// Drops the copy (the next release builds one).
    func drop() {
        stateLock.lock()
        defer { stateLock.unlock() }
        dropLocked()
    }

    /// What the copy holds now, for logs and gauges: nil without a copy.
    public func status() -> (signals: Int, bytes: Int, mark: Int64)? {
        stateLock.lock()
        defer { stateLock.unlock() }
        return state.map { ($0.liveSignals, $0.bytes, $0.mark) }
    }

    /// Runs `body` on the copy as it is now (tests look at what erasure left).
    func inspect<R>(_ body: (ColumnarSignals?) -> R) -> R {
        stateLock.lock()
        defer { stateLock.unlock() }
        applyPending(upTo: .max)
        return body(state)
    }

    /// With `stateLock` held: applies the told changes that follow the copy's mark in sequence
    /// order, up to `limit`. A gap (a later sequence told, the next one not) is another
    /// process's commit, which this copy will never hear of: the copy is dropped.
    private func applyPending(upTo limit: Int64) {
        guard let start = state?.mark else { return }
        // Changes at or before the copy's mark are in it already (told during its build).
        pending.withLock { pending in
            for stale in pending.changes.keys where stale <= start { pending.changes[stale] = nil }
        }
        while let mark = state?.mark, mark < limit {
            let (change, gap) = pending.withLock { pending -> (SignalChange?, Bool) in
                let next = pending.changes.removeValue(forKey: mark + 1)
                return (next, next == nil && pending.builds == 0 && !pending.changes.isEmpty)
            }
            if gap {
                dropLocked()
                return
            }
            guard let change else { return }
            if state!.apply(change) {
                state!.mark = mark + 1
            } else {
                dropLocked()
                return
            }
        }
    }

    private func dropLocked() {
        state = nil
        pending.withLock { pending in
            pending.following = false
            if pending.builds == 0 { pending.changes = [:] }
        }
    }
}
