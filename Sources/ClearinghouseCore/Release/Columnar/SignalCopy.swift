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
/// equal. A commit by another process (an admin command, another daemon on PostgreSQL) leaves a
/// sequence the copy never hears of: the marks stay apart and the copy is built again.
/// Erasures are applied before the erasing request is answered (``settle()``).
public final class SignalCopy: @unchecked Sendable {
    private struct Pending {
        var changes: [Int64: SignalChange] = [:]
        /// Builds in flight: while one runs, changes after its snapshot are kept for it.
        var builds = 0
        /// Whether a copy exists (changes are kept only when something will apply them).
        var following = false
    }

    private let pending = Mutex(Pending())
    /// Guards `state`; held through a count, so a count sees one state from start to end.
    private let stateLock = NSLock()
    /// Guarded by `stateLock`.
    private var state: ColumnarSignals?

    public init() {}

    /// Told after each commit of this process, from the committing thread.
    public func committed(sequence: Int64, change: SignalChange) {
        let kept = pending.withLock { pending -> Bool in
            guard pending.following || pending.builds > 0 else { return false }
            pending.changes[sequence] = change
            return true
        }
        guard kept, stateLock.try() else { return }
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
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.settle()
                continuation.resume()
            }
        }
    }

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
        guard let state else { return .missing }
        if state.mark < view.mark { return .behind }
        if state.mark > view.mark { return .ahead }
        return .counted(state.count(view, bounds: bounds, threads: threads))
    }

    /// Call before reading the database for a build: changes committed after that read's
    /// snapshot are kept from now on.
    public func beginBuild() {
        pending.withLock { $0.builds += 1 }
    }

    /// Ends a build that failed.
    public func cancelBuild() {
        pending.withLock { pending in
            pending.builds -= 1
            if !pending.following && pending.builds == 0 { pending.changes = [:] }
        }
    }

    /// Installs a built copy (unless a newer one is there) and applies the changes after it.
    /// Consuming: the copy's columns must have one owner, or the first erasure applied to them
    /// would copy every column (twice the memory, for a moment).
    public func install(_ built: consuming ColumnarSignals) {
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
    public func drop() {
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
    /// order, up to `limit`; a gap stops it (the missing sequence may still arrive).
    private func applyPending(upTo limit: Int64) {
        guard state != nil else { return }
        while let mark = state?.mark, mark < limit {
            let change = pending.withLock { pending -> SignalChange? in
                for stale in pending.changes.keys where stale <= mark { pending.changes[stale] = nil }
                return pending.changes.removeValue(forKey: mark + 1)
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
