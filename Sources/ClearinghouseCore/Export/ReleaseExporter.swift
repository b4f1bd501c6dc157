import Crypto
import Foundation

/// Writes the signed, per-partner export folders of one release and records each in the ledger.
///
/// Used by `clearinghouse export` and, after each scheduled release, by the daemon
/// (`export.dir`). Every partner gets only what it may read over the API.
public struct ReleaseExporter: Sendable {
    let store: any ClearinghouseStore
    let key: ExportSigningKey
    let scoring: RecommendationSettings
    /// The budget and privacy settings, when the report should show the period's budget.
    let budget: (budget: PrivacyBudget, privacy: PrivacySettings)?
    /// How the lists learn from each partner's outcomes (the lists of the export's day).
    let feedback: FeedbackSettings

    public init(
        store: any ClearinghouseStore, key: ExportSigningKey, scoring: RecommendationSettings,
        budget: (budget: PrivacyBudget, privacy: PrivacySettings)? = nil, feedback: FeedbackSettings = FeedbackSettings()
    ) {
        self.feedback = feedback
        self.store = store
        self.key = key
        self.scoring = scoring
        self.budget = budget
    }

    /// One partner's result.
    public struct Outcome: Sendable, Equatable {
        public var partner: String
        public var folder: ExportFolderWriter.Outcome
        public var files: Int
        public var ledgerSequence: Int64?
    }

    /// Exports release `releaseID` (`nil`: the latest) to `directory`, for `partners` (`nil`: all in the release).
    public func export(releaseID: Int64?, to directory: String, partners: [String]? = nil, at now: Int64 = WallClock.nowMilliseconds())
        async throws -> (release: Int64, outcomes: [Outcome])
    {
        guard let record = try await store.release(id: releaseID), let table = try await store.releasedTable(id: record.id)
        else { throw ExportError.noRelease(releaseID.map { "\($0)" } ?? "latest") }
        let chosen = partners ?? table.catalog.partners
        let releases = try await store.releases()
        var status: BudgetStatus?
        if let budget {
            status = BudgetStatus(budget: budget.budget, settings: budget.privacy, releases: releases, at: now)
        }
        let pooled = PooledAcceptance.latest(in: releases, upTo: record.id, feedback: feedback)
        var outcomes: [Outcome] = []
        for partner in chosen {
            guard
                let partnerFiles = PartnerExportFiles(
                    table: table, record: record, partner: partner, scoring: scoring, budget: status,
                    learning: .init(
                        feedback: feedback, day: UTCDay(containing: now),
                        outcomes: try await store.outcomes(partner: partner, endingAfter: nil), pooled: pooled))
            else {
                if partners != nil { throw ExportError.unknownPartner(partner) }
                continue
            }
            var files = try partnerFiles.files()
            let payload = ExportPayload(
                format: ExportManifest.format, partner: partner, createdAt: RFC3339.format(milliseconds: now),
                release: record.publicInfo, scoring: scoring, files: files.map { ExportedFile(name: $0.name, contents: $0.contents) })
            let manifest = try ExportManifest.signed(payload, key: key).encoded()
            files.append((ExportManifest.fileName, manifest))
            let folder = try ExportFolderWriter.publish(directory: directory, partner: partner, releaseID: record.id, files: files)
            var sequence: Int64?
            if case .written = folder {
                sequence = try await store.recordExport(
                    ExportLedgerDetails(
                        release: record.id, files: files.count, manifestSHA256: Hex.encode(SHA256.hash(data: manifest)),
                        keyID: key.keyID),
                    partner: partner, at: now)
            }
            outcomes.append(Outcome(partner: partner, folder: folder, files: files.count, ledgerSequence: sequence))
        }
        return (record.id, outcomes)
    }
}

/// What the ledger records of an export: which release, for whom, and the manifest's digest.
public struct ExportLedgerDetails: Sendable, Codable, Equatable {
    public var release: Int64
    public var files: Int
    public var manifestSHA256: String
    public var keyID: String

    public init(release: Int64, files: Int, manifestSHA256: String, keyID: String) {
        self.release = release
        self.files = files
        self.manifestSHA256 = manifestSHA256
        self.keyID = keyID
    }

    enum CodingKeys: String, CodingKey {
        case release, files
        case manifestSHA256 = "manifest_sha256"
        case keyID = "key_id"
    }
}
