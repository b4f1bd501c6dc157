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
    /// have ended (joined): nothing of the work, the copy's columns included, is still held by a
    /// thread once this returns.
    static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        var threads: [pthread_t] = []
        for worker in 0..<count {
            let work = Work { body(worker) }
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { argument in
                let work = Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue()
                CountingThreads.lowerPriority()
                work.run()
                return nil
            }, Unmanaged.passRetained(work).toOpaque())
            if started == 0 {
                threads.append(thread)
            } else {
                // No thread to be had: do this worker's share here.
                body(worker)
            }
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Runs `body`, which blocks (a count, a wait on the copy's lock), on a Dispatch thread
    /// rather than one of the few threads of the Swift concurrency pool, and returns its result.
    static func offPool<R: Sendable>(_ body: @escaping @Sendable () -> R) async -> R {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }

    /// Runs `body` on a thread of its own at the counting threads' lower priority and returns
    /// its result, without holding a thread of the Swift concurrency pool meanwhile.
    static func runLowPriority<R: Sendable>(_ body: @escaping @Sendable () -> R) async -> R {
        await offPool {
            let result = Mutex<R?>(nil)
            run(1) { _ in
                let value = body()
                result.withLock { $0 = value }
            }
            return result.withLock { $0.take()! }
        }
    }

    /// One worker's closure, handed to its thread and released there before the thread ends.
    private final class Work: @unchecked Sendable {
        private var body: (@Sendable () -> Void)?
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        func run() {
            body?()
            body = nil
        }
    }

    /// Nice +10 for the calling thread only: on Linux the nice value is per thread, and
    /// `PRIO_PROCESS` with id 0 names the calling thread (setpriority(2), "BUGS").
    static func lowerPriority() {
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
