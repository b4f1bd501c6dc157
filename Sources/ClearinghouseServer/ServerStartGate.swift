import Foundation
import ServiceLifecycle
import Synchronization

/// Holds the scheduled services (the release scheduler, retention, their lease) until the API
/// listener is bound, so a daemon that cannot listen stops before any of them has run or
/// logged: the only message is the bind failure.
public final class ServerStartGate: Sendable {
    private struct State {
        var opened = false
        var waiters: [UUID: CheckedContinuation<Void, any Error>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Lets every waiter through, now and later.
    public func open() {
        let waiters = state.withLock { state in
            state.opened = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open; throws `CancellationError` when the task is cancelled first
    /// (the daemon shutting down because the listener failed).
    func wait() async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                let outcome: Bool? = state.withLock { state in
                    if state.opened { return true }
                    if Task.isCancelled { return false }
                    state.waiters[id] = waiter
                    return nil
                }
                switch outcome {
                case true?: waiter.resume()
                case false?: waiter.resume(throwing: CancellationError())
                case nil: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// A service that starts once the gate opens, and ends quietly if the daemon stops first.
struct AfterServerStarts: Service {
    let gate: ServerStartGate
    let service: any Service

    func run() async throws {
        do {
            try await gate.wait()
        } catch is CancellationError {
            return
        }
        try await service.run()
    }
}
