import ClearinghouseCore
import Foundation
import Hummingbird

/// Builds each signed-in page from what the partner's API would answer it: the same release
/// records, the same `ReleasedTable.affinities` (only pairs with one of the partner's items),
/// the same `SurpriseRanker`, the same budget status, and the partner's own export entries of
/// the ledger. The partner is always the session's; nothing here reads a partner from the URL.
struct PortalPages: Sendable {
    let runtime: DaemonRuntime
    /// The daemon's export public key, read once: a page never touches the private key file.
    let exportPublicKey: String?

    init(runtime: DaemonRuntime) {
        self.runtime = runtime
        var key = runtime.exportKey?.publicKeyHex
        // Exports written by the CLI (`export`, `demo`) sign with the data folder's key even when
        // this daemon does not schedule exports; show it when it exists, never create one here.
        if key == nil, FileManager.default.fileExists(atPath: runtime.settings.exportKeyPath) {
            key = (try? ExportSigningKey.loadOrCreate(at: runtime.settings.exportKeyPath))?.publicKeyHex
        }
        exportPublicKey = key
    }

    var cache: ReleaseCache { runtime.releaseCache }

    /// Lists per item on the surprises page, as the API's default `limit`.
    static let suggestionsPerList = 10

    func render(_ page: String, for visitor: PortalVisitor, query: Parameters) async throws -> Response {
        let frame = PortalFrame(session: visitor.session, token: visitor.token, current: page)
        let partner = visitor.session.partner.id
        switch page {
        case "overview": return try PortalRenderer.shared.page("overview", try await overview(frame))
        case "heatmap": return try PortalRenderer.shared.page("heatmap", try await heatmap(frame, partner: partner, query: query))
        case "surprises": return try PortalRenderer.shared.page("surprises", try await surprises(frame, partner: partner, query: query))
        default: return try PortalRenderer.shared.page("exports", try await exports(frame, partner: partner))
        }
    }

    private func overview(_ frame: PortalFrame) async throws -> OverviewView {
        let records = try await runtime.releaseCache.releases()
        let status = runtime.budgetStatus(releases: records)
        let share = status.epsilonPerPeriod > 0 ? min(1, status.epsilonSpent / status.epsilonPerPeriod) : 0
        let budget = OverviewView.Budget(
            dp: status.differentialPrivacy, period: status.period, epsilonSpent: Self.decimal(status.epsilonSpent),
            epsilonPerPeriod: Self.decimal(status.epsilonPerPeriod), epsilonLeft: Self.decimal(status.epsilonLeft),
            percentSpent: String(format: "%.0f%%", share * 100), meterValue: String(format: "%.4f", share),
            releasesLeft: status.releasesLeft.map { "\($0)" } ?? "no limit", resetsAt: status.resetsAt, exhausted: status.exhausted,
            scheduled: status.scheduledReleases)
        let latest = records.first.map { record in
            let info = record.publicInfo
            return OverviewView.Latest(
                release: ReleaseRow(info), k: info.k,
                bounds: "at most \(info.bounds.itemsPerPartner) items per partner and \(info.bounds.partnersPerPerson) partners per person",
                countsAre: info.countsAre)
        }
        return OverviewView(
            frame: frame, latest: latest, budget: budget, releases: records.map { ReleaseRow($0.publicInfo) },
            hasReleases: !records.isEmpty)
    }

    private func heatmap(_ frame: PortalFrame, partner: String, query: Parameters) async throws -> HeatmapView {
        let (record, releases) = try await selectedRelease(query)
        guard let record else {
            return HeatmapView(frame: frame, release: nil, releases: [], svg: nil, summary: nil, cells: [], countsNote: "")
        }
        guard let table = try await cache.table(record.id) else { throw Self.releaseNotFound }
        let affinities = table.affinities(partner: partner, category: nil, limit: Int.max, bucketWidth: record.partnerBucketWidth) ?? []
        let map = HeatmapSVG(affinities: affinities)
        // The table lists every pair, also those past the picture's column limit.
        let ordered = affinities.sorted { ($0.category, $0.item) < ($1.category, $1.item) }
        let cells = ordered.map { affinity in
            HeatmapView.Cell(
                category: affinity.category, item: affinity.item, lift: HeatmapSVG.number(affinity.lift, 2), n: affinity.n,
                nCategory: affinity.nCategory, confidence: String(format: "%.1f%%", affinity.confidence * 100))
        }
        return HeatmapView(
            frame: frame, release: ReleaseRow(record.publicInfo), releases: releases.map { ReleaseRow($0.publicInfo, selected: record.id) },
            svg: affinities.isEmpty ? nil : map.render(), summary: affinities.isEmpty ? nil : map.summary, cells: cells,
            countsNote: record.publicInfo.countsAre)
    }

    private func surprises(_ frame: PortalFrame, partner: String, query: Parameters) async throws -> SurprisesView {
        let (record, releases) = try await selectedRelease(query)
        let minimumLift = Self.decimal(runtime.settings.recommendation.minimumLift)
        guard let record else {
            return SurprisesView(
                frame: frame, release: nil, releases: [], categories: [], items: [], withoutSuggestions: nil, minimumLift: minimumLift)
        }
        guard let table = try await cache.table(record.id) else { throw Self.releaseNotFound }
        let learned = LearnedRecommendations(settings: runtime.settings.recommendation, feedback: runtime.settings.feedback)
        let outcomes = try await runtime.store.outcomes(partner: partner, endingAfter: nil)
        let day = UTCDay(containing: runtime.clock())
        let categories = table.catalog.items(of: partner)?.map { table.catalog.items[$0].category } ?? []
        let chosen = query.get("category").flatMap { $0.isEmpty ? nil : $0 }
        if let chosen, !categories.contains(chosen) {
            throw APIError(.notFound, code: "category_not_found", message: "release \(record.id) has no category of yours by that name")
        }
        var lists: [String: [SurprisesView.List]] = [:]
        for kind in RecommendationKind.allCases {
            switch learned.lists(
                table: table, record: record, partner: partner, category: chosen, kind: kind, limit: Self.suggestionsPerList,
                mode: .mixed, day: day, outcomes: outcomes, pooled: PooledAcceptance.latest(in: releases, upTo: record.id, feedback: runtime.settings.feedback))
            {
            case .success(let found):
                for list in found { lists[list.category, default: []].append(Self.list(list, kind: kind)) }
            case .failure(.noOwnCounts):
                for category in chosen.map({ [$0] }) ?? categories {
                    lists[category, default: []].append(
                        SurprisesView.List(
                            kind: kind.rawValue, heading: Self.heading(kind), rows: [], empty: true, unexpectedness: "-", baseline: "-",
                            note: "This release was computed before releases counted your own pairs; the next release has them."))
                }
            case .failure(.categoryNotFound):
                break
            }
        }
        // Items with something to show get a section; the rest are named in one line.
        let shown = lists.keys.sorted().filter { lists[$0]!.contains { !$0.empty || $0.note != nil } }
        let items = shown.enumerated().map { index, category in
            SurprisesView.Item(category: category, anchor: "item-\(index + 1)", lists: lists[category]!)
        }
        let quiet = lists.keys.sorted().filter { !shown.contains($0) }
        return SurprisesView(
            frame: frame, release: ReleaseRow(record.publicInfo), releases: releases.map { ReleaseRow($0.publicInfo, selected: record.id) },
            categories: categories.map { SurprisesView.CategoryOption(name: $0, selected: $0 == chosen) }, items: items,
            withoutSuggestions: quiet.isEmpty ? nil : quiet.joined(separator: ", "), minimumLift: minimumLift)
    }

    private func exports(_ frame: PortalFrame, partner: String) async throws -> ExportsView {
        // Every export entry of the partner (one per release at most), so the newest are never cut off.
        let entries = try await runtime.store.ledgerEntries(LedgerFilter(partner: partner, action: .exportWritten, limit: 1_000_000))
        let decoder = JSONDecoder()
        let exports = entries.reversed().compactMap { entry -> ExportsView.Export? in
            guard let details = try? decoder.decode(ExportLedgerDetails.self, from: Data(entry.details.utf8)) else { return nil }
            return ExportsView.Export(
                release: details.release, at: RFC3339.format(milliseconds: entry.at), files: details.files,
                folder: "\(partner)/release-\(details.release)/", manifest: details.manifestSHA256, keyID: details.keyID)
        }
        return ExportsView(
            frame: frame, exports: exports, hasExports: !exports.isEmpty, publicKey: exportPublicKey,
            exampleFolder: exports.first?.folder ?? "\(partner)/release-N/")
    }

    // MARK: Helpers

    /// The release `?release=` names (`latest` without it); 400 when it names none.
    static func checkQuery(_ query: Parameters) throws -> ReleaseReference {
        guard let text = query.get("release") else { return .latest }
        guard let reference = ReleaseReference(text) else {
            throw APIError(.badRequest, code: "bad_release_id", message: "the release must be a positive number or latest")
        }
        return reference
    }

    /// The release `?release=` names (the latest without it) and every release for the picker.
    private func selectedRelease(_ query: Parameters) async throws -> (ReleaseRecord?, [ReleaseRecord]) {
        let releases = try await runtime.releaseCache.releases()
        switch try Self.checkQuery(query) {
        case .latest: return (releases.first, releases)
        case .beyondAnyID: throw Self.releaseNotFound
        case .id(let id):
            guard let record = releases.first(where: { $0.id == id }) else { throw Self.releaseNotFound }
            return (record, releases)
        }
    }

    private static var releaseNotFound: APIError {
        APIError(.notFound, code: "release_not_found", message: "no such release; the overview lists the stored releases")
    }

    private static func list(_ list: RecommendationList, kind: RecommendationKind) -> SurprisesView.List {
        let rows = list.suggestions.map { suggestion in
            SurprisesView.Row(
                rank: suggestion.rank, item: suggestion.item, score: String(format: "%.3f", suggestion.score),
                lift: suggestion.lift.map { String(format: "%.2f", $0) } ?? "below k",
                confidence: suggestion.confidence.map { String(format: "%.1f%%", $0 * 100) } ?? "-",
                count: suggestion.count.map { "\($0)" } ?? "below k",
                exactScore: String(format: "%.6f", suggestion.score), exactLift: suggestion.lift.map { String(format: "%.6f", $0) } ?? "",
                exactCount: suggestion.count.map { "\($0)" } ?? "", novelty: String(format: "%.2f", suggestion.novelty),
                inBaseline: suggestion.inBaseline,
                bridges: (suggestion.bridges ?? []).map { bridge in
                    SurprisesView.Bridge(
                        item: bridge.item, liftFrom: String(format: "%.2f", bridge.liftFrom), liftTo: String(format: "%.2f", bridge.liftTo),
                        countFrom: bridge.countFrom, countTo: bridge.countTo, exactLiftFrom: String(format: "%.6f", bridge.liftFrom),
                        exactLiftTo: String(format: "%.6f", bridge.liftTo))
                },
                hasBridges: !(suggestion.bridges ?? []).isEmpty, mode: suggestion.mode?.rawValue ?? "",
                acceptance: suggestion.posterior.map {
                    String(format: "%.1f%% (%.1f-%.1f%%)", $0.mean * 100, $0.low * 100, $0.high * 100)
                } ?? "-",
                exactPosteriorMean: suggestion.posterior.map { String(format: "%.6f", $0.mean) } ?? "",
                invited: "\(suggestion.accepted ?? 0) of \(suggestion.invited ?? 0)", proven: suggestion.proven == true)
        }
        return SurprisesView.List(
            kind: kind.rawValue, heading: heading(kind), rows: rows, empty: rows.isEmpty,
            unexpectedness: list.unexpectedness.map { String(format: "%.0f%%", $0 * 100) } ?? "-",
            baseline: list.baseline.items.isEmpty ? "none" : list.baseline.items.joined(separator: ", "), note: nil)
    }

    private static func heading(_ kind: RecommendationKind) -> String {
        kind == .cross ? "Cross-brand: other brands' items" : "Try instead: your own items, bridged through other brands"
    }

    static func decimal(_ value: Double) -> String { String(format: "%g", (value * 10_000).rounded() / 10_000) }
}
