import ClearinghouseCore
import ClearinghouseServer
import Configuration
import Foundation
import Logging
import SystemPackage

/// Resolves ``ServerSettings`` from the configuration file, `CLEARINGHOUSE_*` environment
/// variables and command-line flags, in rising precedence (swift-configuration's provider
/// hierarchy), after checking each source against ``SettingsCatalog``.
public enum ConfigurationLoader {
    /// A configuration problem, saying where and what to do.
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public static let defaultConfigPath = "config/clearinghouse.json"

    /// - Parameters:
    ///   - configPath: `--config`; when `nil`, `config/clearinghouse.json` is read if present.
    ///   - flags: values given as flags, by setting key.
    ///   - environment: the process environment (tests pass their own).
    ///   - readsDefaultFile: whether a `nil` `configPath` reads `config/clearinghouse.json`
    ///     (`demo` does not: it runs on the defaults, whatever folder it is started in).
    public static func load(
        configPath: String?,
        flags: [String: ConfigContent],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        readsDefaultFile: Bool = true
    ) async throws -> ServerSettings {
        var providers: [any ConfigProvider] = []
        providers.append(
            InMemoryProvider(
                name: "flags",
                values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey(ConfigKey($0.key)), ConfigValue($0.value, isSecret: false)) })))
        let relevant = environment.filter { $0.key.hasPrefix("CLEARINGHOUSE_") }
        try validateEnvironment(relevant)
        providers.append(EnvironmentVariablesProvider(environmentVariables: relevant).prefixKeys(with: "clearinghouse"))
        let path =
            configPath ?? (readsDefaultFile && FileManager.default.fileExists(atPath: defaultConfigPath) ? defaultConfigPath : nil)
        if let path {
            guard FileManager.default.fileExists(atPath: path) else {
                throw Problem(description: "the configuration file \(path) does not exist; pass --config with an existing file or leave it out")
            }
            try validateFile(path)
            providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
        }
        let reader = ConfigReader(providers: providers)
        func integer(_ key: String) -> Int {
            reader.int(forKey: ConfigKey(key), default: Int(SettingsCatalog.setting(key)!.defaultValue)!)
        }
        func text(_ key: String) -> String {
            reader.string(forKey: ConfigKey(key), default: SettingsCatalog.setting(key)!.defaultValue)
        }
        let limits = IngestLimits(
            maxBodyBytes: integer("ingest.max_body_bytes"),
            maxDecodedBytes: integer("ingest.max_decoded_bytes"),
            maxLineBytes: integer("ingest.max_line_bytes"),
            maxLinesPerBatch: integer("ingest.max_lines_per_batch"),
            maxErrorsReported: integer("ingest.max_errors_reported"),
            maxCategoriesPerBatch: integer("ingest.max_categories_per_batch"),
            spoolMemoryBytes: integer("ingest.spool_memory_bytes"),
            futureToleranceMilliseconds: Int64(integer("ingest.future_tolerance_seconds")) * 1000)
        func decimal(_ key: String) -> Double {
            reader.double(forKey: ConfigKey(key), default: Double(SettingsCatalog.setting(key)!.defaultValue)!)
        }
        func boolean(_ key: String) -> Bool {
            reader.bool(forKey: ConfigKey(key), default: SettingsCatalog.setting(key)!.defaultValue == "true")
        }
        let privacy = PrivacySettings(
            k: integer("privacy.k"),
            bounds: ContributionBounds(
                itemsPerPartner: integer("privacy.items_per_partner"),
                partnersPerPerson: integer("privacy.partners_per_person")),
            differentialPrivacy: boolean("privacy.differential_privacy"),
            epsilon: decimal("privacy.epsilon"),
            delta: decimal("privacy.delta"),
            thresholdDelta: decimal("privacy.threshold_delta"))
        let budget = PrivacyBudget(
            epsilonPerPeriod: decimal("privacy.budget_epsilon"),
            period: PrivacyBudget.Period(rawValue: text("privacy.budget_period")) ?? .month,
            delta: privacy.delta)
        if let problem = privacy.problem {
            throw Problem(description: "the privacy settings cannot be used: \(problem)")
        }
        if privacy.differentialPrivacy && privacy.epsilon > budget.epsilonPerPeriod {
            throw Problem(
                description: "privacy.epsilon (\(privacy.epsilon)) is more than privacy.budget_epsilon (\(budget.epsilonPerPeriod)); no release could ever be made")
        }
        func interval(_ key: String) throws -> Int? {
            switch ReleaseInterval.parse(text(key)) {
            case .success(let seconds): return seconds
            case .failure(let error): throw Problem(description: "setting '\(key)' \(error)")
            }
        }
        let tokenProfiles: PinnedProfiles
        switch PinnedProfiles.parse(text("ingest.token_profiles"), required: boolean("ingest.require_token_profile")) {
        case .success(let pinned): tokenProfiles = pinned
        case .failure(let problem): throw Problem(description: "setting 'ingest.token_profiles': \(problem.message)")
        }
        let tls = try tlsSettings(
            certificate: text("tls.certificate_file"), key: text("tls.key_file"), clientCA: text("tls.client_ca_file"))
        let storage: StorageSettings
        switch StorageSettings.parse(
            url: text("storage.url"), passwordFile: text("storage.password_file"), caFile: text("storage.ca_file"))
        {
        case .success(let parsed): storage = parsed
        case .failure(let problem): throw Problem(description: problem.message)
        }
        return ServerSettings(
            host: text("server.host"),
            port: integer("server.port"),
            dataDirectory: text("data_dir"),
            limits: limits,
            idleTimeoutSeconds: integer("server.idle_timeout_seconds"),
            logLevel: Logger.Level(rawValue: text("log.level")) ?? .info,
            privacy: privacy,
            budget: budget,
            releaseEverySeconds: try interval("release.every"),
            signalRetentionDays: integer("retention.signal_days"),
            purgeEverySeconds: try interval("retention.every"),
            tokenProfiles: tokenProfiles,
            recommendation: RecommendationSettings(
                minimumLift: decimal("recommend.min_lift"), maximumDirectLift: decimal("recommend.max_direct_lift"),
                baselineDemotion: decimal("recommend.baseline_demotion"), baselineSize: integer("recommend.baseline_size"),
                exploreShare: decimal("recommend.explore_share"), exploreInvitations: Int64(integer("recommend.explore_invitations"))),
            feedback: FeedbackSettings(
                maxPeriodDays: integer("feedback.max_period_days"), priorRate: decimal("feedback.prior_rate"),
                priorStrength: decimal("feedback.prior_strength"), pooledStrength: decimal("feedback.pooled_strength"),
                pooledEpsilon: decimal("feedback.pooled_epsilon"), poolDays: integer("feedback.pool_days"),
                maxLinesPerCustomer: integer("feedback.max_lines_per_customer")),
            exportDirectory: text("export.dir").isEmpty ? nil : text("export.dir"),
            rateLimits: RateLimits(
                writes: .init(rate: decimal("limits.write_per_second"), burst: Double(integer("limits.write_burst"))),
                reads: .init(rate: decimal("limits.read_per_second"), burst: Double(integer("limits.read_burst"))),
                authenticationFailures: .init(
                    rate: decimal("limits.auth_failures_per_minute") / 60, burst: Double(integer("limits.auth_failure_burst"))),
                concurrentUploads: integer("limits.concurrent_uploads"),
                connectionsPerAddress: integer("limits.connections_per_address")),
            tls: tls,
            requestTimeoutSeconds: integer("server.request_timeout_seconds"),
            maxHeaderBytes: integer("server.max_header_bytes"),
            storage: storage,
            leaseSeconds: integer("cluster.lease_seconds"),
            releaseEngine: ReleaseEngine(rawValue: text("release.engine")) ?? .columnar,
            releaseWorkers: integer("release.workers"),
            metricsHost: text("metrics.host"), metricsPort: integer("metrics.port"),
            portalSessionMinutes: integer("portal.session_minutes"))
    }

    /// TLS needs both certificate and key; a client CA needs TLS.
    static func tlsSettings(certificate: String, key: String, clientCA: String) throws -> TLSSettings? {
        switch (certificate.isEmpty, key.isEmpty) {
        case (true, true):
            guard clientCA.isEmpty else {
                throw Problem(description: "tls.client_ca_file is set but TLS is off; set tls.certificate_file and tls.key_file too")
            }
            return nil
        case (false, false):
            return TLSSettings(certificateFile: certificate, keyFile: key, clientCAFile: clientCA.isEmpty ? nil : clientCA)
        case (false, true):
            throw Problem(description: "tls.certificate_file is set but tls.key_file is not; set both (scripts/make-certs writes a pair)")
        case (true, false):
            throw Problem(description: "tls.key_file is set but tls.certificate_file is not; set both (scripts/make-certs writes a pair)")
        }
    }

    /// Checks a value against its setting's kind; returns a problem text or `nil`.
    static func check(_ value: String, against setting: Setting) -> String? {
        switch setting.kind {
        case .integer(let range):
            guard let number = Int(value), range.contains(number) else {
                return "must be a whole number from \(range.lowerBound) to \(range.upperBound)"
            }
        case .logLevel:
            guard Logger.Level(rawValue: value) != nil else {
                return "must be one of trace, debug, info, notice, warning, error, critical"
            }
        case .decimal(let range):
            guard let number = Double(value), number.isFinite, range.contains(number) else {
                return "must be a number from \(range.lowerBound) to \(range.upperBound)"
            }
        case .boolean:
            guard value == "true" || value == "false" else { return "must be true or false" }
        case .choice(let choices):
            guard choices.contains(value) else { return "must be one of \(choices.joined(separator: ", "))" }
        case .interval:
            if case .failure(let error) = ReleaseInterval.parse(value) { return error.description }
        case .optionalText:
            break
        case .text:
            guard !value.isEmpty else { return "must not be empty" }
        }
        return nil
    }

    static func validateEnvironment(_ environment: [String: String]) throws {
        for setting in SettingsCatalog.all {
            guard let value = environment[setting.environmentName] else { continue }
            if let problem = check(value, against: setting) {
                throw Problem(description: "environment variable \(setting.environmentName) (\(setting.key)) \(problem)")
            }
        }
    }

    /// Checks that the file is a JSON object whose leaves are known settings of the right type.
    /// Keys starting with `_` (such as `_about`) are documentation and skipped.
    static func validateFile(_ path: String) throws {
        let data: Data
        let object: Any
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw Problem(description: "the configuration file \(path) is not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any] else {
            throw Problem(description: "the configuration file \(path) must hold a JSON object")
        }
        func walk(_ node: [String: Any], prefix: String) throws {
            for (name, value) in node where !name.hasPrefix("_") {
                let key = prefix.isEmpty ? name : "\(prefix).\(name)"
                if let child = value as? [String: Any] {
                    try walk(child, prefix: key)
                    continue
                }
                guard let setting = SettingsCatalog.setting(key) else {
                    throw Problem(
                        description: "unknown setting '\(key)' in \(path); the settings are listed in docs/configuration.md (or `clearinghouse settings`)")
                }
                let text: String
                switch value {
                case let flag as Bool where setting.kind == .boolean:
                    text = flag ? "true" : "false"
                case let number as NSNumber where !setting.kind.isString && setting.kind != .boolean:
                    text = number.stringValue
                case let string as String where setting.kind.isString:
                    text = string
                default:
                    let expected = setting.kind.isString ? "a string" : setting.kind == .boolean ? "true or false" : "a number"
                    throw Problem(description: "setting '\(key)' in \(path) has the wrong type; expected \(expected)")
                }
                if let problem = check(text, against: setting) {
                    throw Problem(description: "setting '\(key)' in \(path) \(problem)")
                }
            }
        }
        try walk(root, prefix: "")
    }
}
