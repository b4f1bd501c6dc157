import ClearinghouseCore
import Hummingbird

/// `GET /v1/releases`, `GET /v1/releases/{id|latest}/affinities` and `.../recommendations`:
/// what partners read.
///
/// Visibility is enforced here and in `ReleasedTable.affinities`: a partner sees only pairs
/// with one side its own item, and only released (guarded) counts; never another partner's
/// size, never the operator's exact release summary.
public struct ReleaseController: Sendable {
    let store: any ClearinghouseStore
    let cache: ReleaseCache
    let recommendation: RecommendationSettings
    let feedback: FeedbackSettings
    let clock: @Sendable () -> Int64

    /// `cache`: the daemon's (``DaemonRuntime/releaseCache``, shared with the portal); a new one by default.
    public init(
        store: any ClearinghouseStore, recommendation: RecommendationSettings = RecommendationSettings(),
        feedback: FeedbackSettings = FeedbackSettings(), cache: ReleaseCache? = nil,
        clock: @escaping @Sendable () -> Int64 = WallClock.nowMilliseconds
    ) {
        self.store = store
        self.cache = cache ?? ReleaseCache(store: store)
        self.recommendation = recommendation
        self.feedback = feedback
        self.clock = clock
    }

    public static let defaultLimit = 20
    public static let maximumLimit = 1000

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("releases") { _, context in
            _ = try context.requirePartner()
            let records = try await cache.releases()
            return try JSONBody.response(ReleaseList(releases: records.map(\.publicInfo)))
        }
        routes.get("releases/:release/affinities") { request, context in
            let partner = try context.requirePartner()
            let record = try await record(context.parameters.get("release") ?? "")
            let category = request.uri.queryParameters.get("category")
            let limit = try Self.limit(request.uri.queryParameters.get("limit"))
            guard let table = try await cache.table(record.id) else { throw Self.releaseNotFound }
            guard
                let affinities = table.affinities(
                    partner: partner.id, category: category, limit: limit, bucketWidth: record.partnerBucketWidth)
            else {
                throw APIError(
                    .notFound, code: "category_not_found",
                    message: "release \(record.id) has no released pair for that category of yours; "
                        + "categories with too few persons are suppressed (k = \(record.settings.k)); leave out category= to see all of yours")
            }
            context.logger.info(
                "affinities read",
                metadata: ["release.id": "\(record.id)", "partner.id": "\(partner.id)", "affinities.count": "\(affinities.count)"])
            return try JSONBody.response(
                AffinityAnswer(release: record.publicInfo, partner: partner.id, category: category, affinities: affinities))
        }
        routes.get("releases/:release/recommendations") { request, context in
            let partner = try context.requirePartner()
            let record = try await record(context.parameters.get("release") ?? "")
            let category = request.uri.queryParameters.get("category")
            let kindText = request.uri.queryParameters.get("kind") ?? RecommendationKind.cross.rawValue
            guard let kind = RecommendationKind(rawValue: kindText) else {
                throw APIError(.badRequest, code: "bad_kind", message: "kind must be cross or instead")
            }
            let limit = try Self.limit(request.uri.queryParameters.get("limit"), default: RecommendationSettings.defaultListLength)
            let modeText = request.uri.queryParameters.get("mode") ?? ListMode.mixed.rawValue
            guard let mode = ListMode(rawValue: modeText) else {
                throw APIError(.badRequest, code: "bad_mode", message: "mode must be mixed, exploit or explore")
            }
            let day: UTCDay
            if let text = request.uri.queryParameters.get("day") {
                guard let parsed = UTCDay(text) else {
                    throw APIError(.badRequest, code: "bad_day", message: "day must be a date like 2026-12-01 (UTC); leave it out for today")
                }
                day = parsed
            } else {
                day = UTCDay(containing: clock())
            }
            guard let table = try await cache.table(record.id) else { throw Self.releaseNotFound }
            let outcomes = try await store.outcomes(partner: partner.id, endingAfter: nil)
            let learned = LearnedRecommendations(settings: recommendation, feedback: feedback)
            switch learned.lists(
                table: table, record: record, partner: partner.id, category: category, kind: kind, limit: limit, mode: mode, day: day,
                outcomes: outcomes, pooled: PooledAcceptance.latest(in: try await cache.releases(), upTo: record.id, feedback: feedback))
            {
            case .success(let lists):
                context.logger.info(
                    "recommendations read",
                    metadata: [
                        "release.id": "\(record.id)", "partner.id": "\(partner.id)", "recommendations.kind": "\(kind.rawValue)",
                        "recommendations.lists": "\(lists.count)", "recommendations.mode": "\(mode.rawValue)",
                    ])
                return try JSONBody.response(
                    RecommendationAnswer(
                        release: record.publicInfo, partner: partner.id, kind: kind, mode: mode, day: day.description,
                        outcomesAsOf: RFC3339.format(milliseconds: day.countsBefore), scoring: recommendation, lists: lists))
            case .failure(.categoryNotFound):
                throw APIError(
                    .notFound, code: "category_not_found",
                    message: "release \(record.id) has no released pair for that category of yours; "
                        + "categories with too few persons are suppressed (k = \(record.settings.k)); leave out category= to see all of yours")
            case .failure(.noOwnCounts):
                throw APIError(
                    .conflict, code: "release_without_own_counts",
                    message: "release \(record.id) was computed before releases counted partners' own pairs, which kind=instead needs; "
                        + "ask for a later release (the next one has them) or use kind=cross")
            }
        }
        routes.get("releases/:release/gaps") { request, context in
            let partner = try context.requirePartner()
            let record = try await record(context.parameters.get("release") ?? "")
            let category = request.uri.queryParameters.get("category")
            let limit = try Self.limit(request.uri.queryParameters.get("limit"), default: 10)
            guard let table = try await cache.table(record.id) else { throw Self.releaseNotFound }
            switch GapFinder(table: table, record: record, minimumLift: recommendation.minimumLift).gaps(
                partner: partner.id, category: category, limit: limit)
            {
            case .success(let lists):
                context.logger.info(
                    "gaps read",
                    metadata: [
                        "release.id": "\(record.id)", "partner.id": "\(partner.id)", "gaps.count": "\(lists.map(\.gaps.count).reduce(0, +))",
                    ])
                return try JSONBody.response(GapAnswer(release: record.publicInfo, partner: partner.id, lists: lists))
            case .failure(.categoryNotFound):
                throw APIError(
                    .notFound, code: "category_not_found",
                    message: "release \(record.id) has no category of yours by that name; leave out category= to see all of yours")
            }
        }
        return routes
    }

    private func record(_ parameter: String) async throws -> ReleaseRecord {
        let id: Int64?
        switch ReleaseReference(parameter) {
        case .latest: id = nil
        case .id(let number): id = number
        case .beyondAnyID: throw Self.releaseNotFound
        case nil: throw APIError(.badRequest, code: "bad_release_id", message: "the release id must be a positive number or latest")
        }
        guard let record = try await store.release(id: id) else { throw Self.releaseNotFound }
        return record
    }

    private static var releaseNotFound: APIError {
        APIError(.notFound, code: "release_not_found", message: "no such release; GET /v1/releases lists them")
    }

    private static func limit(_ text: String?, default fallback: Int = defaultLimit) throws -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), (1...maximumLimit).contains(value) else {
            throw APIError(.badRequest, code: "bad_limit", message: "limit must be a whole number from 1 to \(maximumLimit)")
        }
        return value
    }
}

struct ReleaseList: Encodable {
    let releases: [PublicReleaseInfo]
}

struct RecommendationAnswer: Encodable {
    let release: PublicReleaseInfo
    let partner: String
    let kind: RecommendationKind
    let mode: ListMode
    /// The UTC day the list is drawn for: the same day gives the same list.
    let day: String
    /// The outcomes recorded before this instant (five minutes before the day began) are counted.
    let outcomesAsOf: String
    let scoring: RecommendationSettings
    let lists: [RecommendationList]

    enum CodingKeys: String, CodingKey {
        case release, partner, kind, mode, day, scoring, lists
        case outcomesAsOf = "outcomes_as_of"
    }
}

struct AffinityAnswer: Encodable {
    let release: PublicReleaseInfo
    let partner: String
    let category: String?
    let affinities: [Affinity]
}

/// `GET /v1/releases/{id}/gaps`.
struct GapAnswer: Encodable {
    let release: PublicReleaseInfo
    let partner: String
    /// One-sided confidence at which each listed shortfall stands clear of noise and sampling.
    let confidence = 0.95
    let lists: [GapList]
}
