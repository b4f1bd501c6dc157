import ServiceLifecycle

/// Holds the store's connections open while the daemon runs and ends them at graceful
/// shutdown: the PostgreSQL client serves queries only while it runs, and it runs from the
/// moment the store opens (the pepper is bound before the service group starts).
struct StoreConnectionsService: Service {
    let close: @Sendable () -> Void

    func run() async throws {
        try? await gracefulShutdown()
        close()
    }
}
