import ClearinghouseCore
import Foundation
import Logging

/// Everything `buildApplication` needs, resolved from configuration file, environment and flags.
///
/// Tests build it directly (port 0, a temporary data directory); the CLI builds it from
/// ``SettingsCatalog`` through swift-configuration.
public struct ServerSettings: Sendable {
    /// Address to listen on; loopback by default, so a fresh install is not on the network.
    public var host: String
    /// Port to listen on; 0 picks a free one (tests).
    public var port: Int
    /// Holds the database, the pepper key file and the spool of batches being read.
    public var dataDirectory: String
    /// Bounds on each write batch.
    public var limits: IngestLimits
    /// Seconds a connection may stay idle (no bytes either way) before it is closed.
    public var idleTimeoutSeconds: Int
    /// Log level of the daemon.
    public var logLevel: Logger.Level
    /// The privacy guard of releases.
    public var privacy: PrivacySettings
    /// The epsilon budget per period.
    public var budget: PrivacyBudget
    /// Seconds between scheduled releases; `nil` when the daemon does not schedule them.
    public var releaseEverySeconds: Int?
    /// Signals observed longer ago than this are purged.
    public var signalRetentionDays: Int
    /// Seconds between scheduled purges; `nil` when the daemon does not schedule them.
    public var purgeEverySeconds: Int?
    /// The normalization profile pinned per identifier type, checked against each upload's `Token-Profile`.
    public var tokenProfiles: PinnedProfiles
    /// How recommendations rank a release's pairs.
    public var recommendation: RecommendationSettings
    /// How outcomes are checked, set priors, and are pooled across partners (`feedback.*`).
    public var feedback: FeedbackSettings
    /// Where the daemon writes partners' signed exports after each scheduled release; `nil`: it does not.
    public var exportDirectory: String?
    /// Per-partner request rates and the failed-authentication limit per address.
    public var rateLimits: RateLimits
    /// HTTPS (and optionally mutual TLS) on the listener; `nil`: plain HTTP (loopback use).
    public var tls: TLSSettings?
    /// Seconds a request may take to send its body; a slower one is answered 408 and closed.
    public var requestTimeoutSeconds: Int
    /// Largest request head (all header lines together), in bytes; more gets 400 and the connection closes.
    public var maxHeaderBytes: Int
    /// The database: SQLite in `dataDirectory` (default) or PostgreSQL.
    public var storage: StorageSettings
    /// Seconds a daemon's scheduler lease lasts unrenewed (several daemons on one database).
    public var leaseSeconds: Int
    /// Where releases count: the columnar copy, a scan of one snapshot, or SQL in the database.
    public var releaseEngine: ReleaseEngine
    /// Counting threads of a release as configured (0: one per core); see ``releaseThreads``.
    public var releaseWorkers: Int
    /// The Prometheus listener, apart from the API so that partners cannot read the
    /// consortium's activity; loopback by default.
    public var metricsHost: String
    /// Its port; 0 turns it off.
    public var metricsPort: Int
    /// How long a portal session lasts after sign-in (`portal.session_minutes`).
    public var portalSessionMinutes: Int

    /// The workers a release is given: `release.workers`, or one per core when 0
    /// (``ReleaseService`` still counts with no more threads than cores).
    public var releaseThreads: Int { releaseWorkers > 0 ? releaseWorkers : ProcessInfo.processInfo.activeProcessorCount }

    /// The release service these settings describe, on `store`: privacy, budget, workers,
    /// feedback and the engine (`release.engine` unless `engine` says otherwise).
    public func releaseService(store: any ClearinghouseStore, engine: ReleaseEngine? = nil) -> ReleaseService {
        ReleaseService(
            store: store, settings: privacy, budget: budget, workers: releaseThreads, engine: engine ?? releaseEngine,
            feedback: feedback)
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8420,
        dataDirectory: String = "./var",
        limits: IngestLimits = IngestLimits(),
        idleTimeoutSeconds: Int = 60,
        logLevel: Logger.Level = .info,
        privacy: PrivacySettings = PrivacySettings(),
        budget: PrivacyBudget = PrivacyBudget(),
        releaseEverySeconds: Int? = nil,
        signalRetentionDays: Int = 365,
        purgeEverySeconds: Int? = nil,
        tokenProfiles: PinnedProfiles = PinnedProfiles(),
        recommendation: RecommendationSettings = RecommendationSettings(),
        feedback: FeedbackSettings = FeedbackSettings(),
        exportDirectory: String? = nil,
        rateLimits: RateLimits = RateLimits(),
        tls: TLSSettings? = nil,
        requestTimeoutSeconds: Int = 900,
        maxHeaderBytes: Int = 16 * 1024,
        storage: StorageSettings = StorageSettings(),
        leaseSeconds: Int = 30,
        releaseEngine: ReleaseEngine = .columnar,
        releaseWorkers: Int = 0,
        metricsHost: String = "127.0.0.1",
        metricsPort: Int = 0,
        portalSessionMinutes: Int = 30
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.limits = limits
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.logLevel = logLevel
        self.privacy = privacy
        self.budget = budget
        self.releaseEverySeconds = releaseEverySeconds
        self.signalRetentionDays = signalRetentionDays
        self.purgeEverySeconds = purgeEverySeconds
        self.tokenProfiles = tokenProfiles
        self.recommendation = recommendation
        self.feedback = feedback
        self.exportDirectory = exportDirectory
        self.rateLimits = rateLimits
        self.tls = tls
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.maxHeaderBytes = maxHeaderBytes
        self.storage = storage
        self.leaseSeconds = leaseSeconds
        self.releaseEngine = releaseEngine
        self.releaseWorkers = releaseWorkers
        self.metricsHost = metricsHost
        self.metricsPort = metricsPort
        self.portalSessionMinutes = portalSessionMinutes
    }

    public var databasePath: String { "\(dataDirectory)/clearinghouse.sqlite" }
    public var pepperPath: String { "\(dataDirectory)/pepper.key" }
    public var spoolDirectory: String { "\(dataDirectory)/spool" }
    /// The Ed25519 key that signs exports, beside the pepper.
    public var exportKeyPath: String { "\(dataDirectory)/export.key" }
}
