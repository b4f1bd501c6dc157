import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The threads a columnar count runs on: its own, not the Swift concurrency pool that serves
/// requests, and at a lower scheduling priority (nice +10), so that on a machine with as many
/// counting threads as cores the request threads still get the CPU first and reads stay fast
/// while a release counts.
enum CountingThreads {
    /// Runs `body(worker)` for workers `0..<count`, each on its own thread, and returns when all
    /// have finished.
    static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for worker in 0..<count {
            group.enter()
            let thread = Thread {
                lowerPriority()
                body(worker)
                group.leave()
            }
            thread.name = "clearinghouse-count-\(worker)"
            thread.start()
        }
        group.wait()
    }

    /// Nice +10 for the calling thread only: on Linux the nice value is per thread, and
    /// `PRIO_PROCESS` with id 0 names the calling thread (setpriority(2), "BUGS").
    private static func lowerPriority() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }
}

/// Hands out work item numbers to the counting threads, each number once.
final class WorkCounter: Sendable {
    private let next = Atomic<Int>(0)

    func take(below limit: Int) -> Int? {
        let taken = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return taken < limit ? taken : nil
    }
}
