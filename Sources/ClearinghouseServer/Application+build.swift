import ClearinghouseCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import Prometheus
import ServiceLifecycle

/// What `serve` runs, and what tests run with their own settings (port 0, a temporary data
/// directory): opens or creates the data directory, the pepper and the database, then builds
/// the HTTP application around them.
///
/// With `metrics` (the registry `serve` bootstraps swift-metrics with) and `metrics.port` not 0,
/// the Prometheus listener runs beside the API.
public func buildApplication(
    _ settings: ServerSettings, logger: Logger, metrics: PrometheusCollectorRegistry? = nil,
    onListening: @escaping @Sendable (Int) -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    try buildApplication(
        try await DaemonRuntime.open(settings, logger: logger), logger: logger, metrics: metrics, onListening: onListening)
}

/// Builds the application around an already opened runtime (tests open it first to add partners).
///
/// `onListening` gets the API listener's bound port once it and the Prometheus listener (when
/// it runs) accept connections (what `--port-file` and an in-process caller such as
/// `clearinghouse demo` need when they asked for port 0).
public func buildApplication(
    _ runtime: DaemonRuntime, logger: Logger, metrics: PrometheusCollectorRegistry? = nil,
    onListening: @escaping @Sendable (Int) -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let settings = runtime.settings
    let router = buildRouter(runtime)
    let host = settings.host
    let connections = ConnectionsPerAddress(limit: settings.rateLimits.connectionsPerAddress)
    let http1 = HTTPServerBuilder.http1(
        configuration: .init(
            additionalChannelHandlers: [
                ConnectionsPerAddressHandler(connections, logger: logger),
                ExpectContinueHandler(maxBodyBytes: settings.limits.maxBodyBytes),
                CloseAfterResponseHandler(),
            ],
            idleTimeout: .seconds(Int64(settings.idleTimeoutSeconds)),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: settings.maxHeaderBytes, maxHeaderListSize: settings.maxHeaderBytes, maxHeaderFieldCount: 100)))
    let server = try runtime.tlsConfiguration.map { try HTTPServerBuilder.tls(http1, tlsConfiguration: $0) } ?? http1
    let gate = ServerStartGate()
    let ready = ListenersReady(onListening: onListening)
    let metricsListeners = metricsServices(metrics, settings, ready: ready, logger: logger)
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(host, port: settings.port), serverName: "clearinghouse"),
        services: releaseServices(runtime, gate: gate, logger: logger) + metricsListeners
            + AdminSocket.services(runtime, logger: logger)
            + (settings.releaseEngine == .columnar
                ? [AfterServerStarts(gate: gate, service: ColumnarCopyWarmup(store: runtime.store, logger: logger))] : []),
        onServerRunning: { channel in
            gate.open()
            ready.apiBound(port: channel.localAddress?.port ?? settings.port)
            logger.notice(
                "clearinghouse listening",
                metadata: [
                    "server.address": "\(host):\(channel.localAddress?.port ?? settings.port)",
                    "server.tls": "\(settings.tls == nil ? "off" : settings.tls!.requiresClientCertificate ? "mutual" : "on")",
                ])
        },
        logger: logger
    )
}

/// The Prometheus listener, when there is a registry and `metrics.port` is not 0.
func metricsServices(
    _ registry: PrometheusCollectorRegistry?, _ settings: ServerSettings, ready: ListenersReady, logger: Logger
) -> [any Service] {
    guard let registry, settings.metricsPort != 0 else { return [] }
    return [
        PrometheusExposition.listener(
            registry, host: settings.metricsHost, port: settings.metricsPort, logger: logger, onBound: ready.expectOther())
    ]
}

/// The scheduled services: releases (`release.every`) and purges (`retention.every`), each held
/// until the API listener is bound (`gate`).
func releaseServices(_ runtime: DaemonRuntime, gate: ServerStartGate, logger: Logger) -> [any Service] {
    let closing = StoreConnectionsService(close: runtime.closeStore)
    var services: [any Service] = []
    guard runtime.settings.releaseEverySeconds != nil || runtime.settings.purgeEverySeconds != nil else { return [closing] }
    let lease = SchedulerLease(store: runtime.store, leaseSeconds: runtime.settings.leaseSeconds, logger: logger)
    services.append(lease)
    if let every = runtime.settings.releaseEverySeconds {
        let service = runtime.settings.releaseService(store: runtime.store)
        var exports: ScheduledExports?
        if let directory = runtime.settings.exportDirectory, let key = runtime.exportKey {
            exports = ScheduledExports(
                exporter: ReleaseExporter(
                    store: runtime.store, key: key, scoring: runtime.settings.recommendation,
                    budget: (runtime.settings.budget, runtime.settings.privacy), feedback: runtime.settings.feedback),
                directory: directory)
        }
        services.append(
            ReleaseScheduler(
                service: service, intervalSeconds: every, exports: exports, lease: lease, pause: runtime.releasePause,
                clock: runtime.clock, logger: logger))
    }
    if let every = runtime.settings.purgeEverySeconds {
        services.append(
            RetentionService(
                store: runtime.store, intervalSeconds: every, retentionDays: runtime.settings.signalRetentionDays, lease: lease,
                logger: logger))
    }
    return [closing] + services.map { AfterServerStarts(gate: gate, service: $0) }
}

/// The routes of the API, for `buildApplication` and for router-level tests.
public func buildRouter(_ runtime: DaemonRuntime) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // First, so every request is counted (refused ones too), by route template and status.
    router.add(middleware: MetricsMiddleware())
    router.addRoutes(HealthController(store: runtime.store, releasePause: runtime.releasePause, clock: runtime.clock).routes)
    router.addRoutes(OpenAPIController().routes)
    router.group("v1")
        .add(
            middleware: PartnerAuthenticator(
                store: runtime.store, limiters: runtime.limiters,
                requiresClientCertificate: runtime.settings.tls?.requiresClientCertificate ?? false))
        .addRoutes(IngestController(runtime).routes)
        .addRoutes(
            ReleaseController(
                store: runtime.store, recommendation: runtime.settings.recommendation, feedback: runtime.settings.feedback,
                cache: runtime.releaseCache, clock: runtime.clock
            ).routes)
        .addRoutes(OutcomesController(runtime).routes)
        .addRoutes(LedgerController(store: runtime.store).routes)
        .addRoutes(BudgetController(runtime).routes)
    // The marketer's pages: sessions of read keys, not the API's bearer keys (PortalController).
    router.group("portal")
        .add(middleware: PortalHeadersMiddleware())
        .addRoutes(PortalController(runtime).routes)
    // Unrouted portal URLs get the portal's HTML error page and headers (it wraps the next one).
    router.add(middleware: PortalHeadersMiddleware(onlyUnder: "/portal"))
    router.add(
        middleware: UnroutedRequestMiddleware(routes: router.routes.map { (path: "\($0.path)", method: $0.method.rawValue) }))
    return router
}

/// The opened pieces the daemon runs on: settings, store and the pepper-keyed deriver.
public struct DaemonRuntime: Sendable {
    public let settings: ServerSettings
    public let store: any ClearinghouseStore
    public let deriver: PersonKeyDeriver
    /// The key that signs scheduled exports; loaded at start when `export.dir` is set, so a bad
    /// key file stops the daemon at once instead of failing the first export a day later.
    public let exportKey: ExportSigningKey?
    /// The listener's TLS, read from `settings.tls` at start so a bad certificate or key stops
    /// the daemon at once.
    public let tlsConfiguration: TLSConfiguration?
    /// Ends the store's connections once the daemon has shut down (PostgreSQL).
    public let closeStore: @Sendable () -> Void
    /// Uploads in flight per partner (`limits.concurrent_uploads`); here rather than in the
    /// ingest routes so tests and metrics can see what is being received.
    public let uploads: ConcurrentUploadLimiter
    /// Idempotency-Keys of requests being served now (a second one is 409).
    public let idempotencyKeys: IdempotencyKeysInFlight
    /// Set while scheduled releases wait for the budget period to reset.
    public let releasePause: ScheduledReleasePause
    /// "Now" for the answers that depend on the calendar (the budget period); tests fix it.
    public let clock: @Sendable () -> Int64
    /// The request limits' buckets, shared by the API and the portal.
    public let limiters: RequestLimiters
    /// Decoded release tables, shared by the API's release routes and the portal's pages.
    public let releaseCache: ReleaseCache

    public init(
        settings: ServerSettings, store: any ClearinghouseStore, deriver: PersonKeyDeriver, exportKey: ExportSigningKey? = nil,
        tlsConfiguration: TLSConfiguration? = nil, closeStore: @escaping @Sendable () -> Void = {},
        clock: @escaping @Sendable () -> Int64 = WallClock.nowMilliseconds
    ) {
        self.clock = clock
        self.settings = settings
        self.store = store
        self.deriver = deriver
        self.exportKey = exportKey
        self.tlsConfiguration = tlsConfiguration
        self.closeStore = closeStore
        uploads = ConcurrentUploadLimiter(limit: settings.rateLimits.concurrentUploads)
        idempotencyKeys = IdempotencyKeysInFlight()
        releasePause = ScheduledReleasePause()
        limiters = RequestLimiters(settings.rateLimits)
        releaseCache = ReleaseCache(store: store)
    }

    /// Creates the data directory (mode 0700), the pepper file (0600) and the database on first
    /// start; refuses to start with a pepper that does not belong to the database.
    public static func open(
        _ settings: ServerSettings, logger: Logger, clock: @escaping @Sendable () -> Int64 = WallClock.nowMilliseconds
    ) async throws -> DaemonRuntime {
        let tlsConfiguration = try settings.tls?.serverConfiguration()
        let files = FileManager.default
        try files.createDirectory(
            atPath: settings.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try files.createDirectory(
            atPath: settings.spoolDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let opened = try await StoreOpener.open(settings, access: .write, logger: logger)
        // A writing open always loads (or creates) the pepper.
        guard let deriver = opened.deriver else { throw StoreError.readOnly }
        let store = opened.store
        let exportKey = try settings.exportDirectory.map { _ in try ExportSigningKey.loadOrCreate(at: settings.exportKeyPath) }
        return DaemonRuntime(
            settings: settings, store: store, deriver: deriver, exportKey: exportKey, tlsConfiguration: tlsConfiguration,
            closeStore: opened.close, clock: clock)
    }
}
