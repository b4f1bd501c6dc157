import Synchronization

/// Calls `onListening` with the API port once every listener of the daemon is bound: the API
/// and, when it runs, the Prometheus listener.
///
/// Why: `--port-file` tells a supervisor or a test that the daemon is ready. The listeners bind
/// as separate services, in no fixed order, so a file written when the API alone was bound let a
/// scraper reach the metrics port before it listened (a refused connection in CI).
final class ListenersReady: Sendable {
    private struct State {
        var waitingFor = 1
        var apiPort: Int?
    }

    private let state = Mutex(State())
    private let onListening: @Sendable (Int) -> Void

    init(onListening: @escaping @Sendable (Int) -> Void) {
        self.onListening = onListening
    }

    /// Counts one more listener to wait for, before any is bound, and returns what it calls once
    /// bound: the listener that is built is the one that is counted.
    func expectOther() -> @Sendable () -> Void {
        state.withLock { $0.waitingFor += 1 }
        return { self.arrive { _ in } }
    }

    /// The API listener is bound on `port`.
    func apiBound(port: Int) {
        arrive { $0.apiPort = port }
    }

    private func arrive(_ update: (inout State) -> Void) {
        let port: Int? = state.withLock { state in
            update(&state)
            state.waitingFor -= 1
            return state.waitingFor == 0 ? state.apiPort : nil
        }
        if let port { onListening(port) }
    }
}
