/// Checks outcome lines against what their releases offered the partner, and classifies each
/// (in the baseline or not, explore or exploit) for the summary.
///
/// `suggested` must be a candidate that release could put in the partner's list for `item`:
/// any of the ranked candidates, not only the first page, since a list's explore slots reach
/// deep into it.
public struct OutcomeValidator: Sendable {
    public let settings: RecommendationSettings

    public init(settings: RecommendationSettings) {
        self.settings = settings
    }

    /// What one release offers one partner for one item.
    struct Offer {
        let candidates: Set<String>
        let baseline: Set<String>
    }

    /// The checked batch, or the lines that cannot be stored. `releases` holds every release
    /// the lines name that exists; `history` is the partner's stored outcomes.
    public func check(
        _ decoded: DecodedOutcomes, partner: String, releases: [Int64: (record: ReleaseRecord, table: ReleasedTable)],
        history: [OutcomeRecord], now: Int64
    ) -> Result<OutcomeBatch, InvalidOutcomes> {
        var offers: [String: Result<Offer, LineProblem>] = [:]
        var errors = decoded.problems
        var records: [OutcomeRecord] = []
        let live = Dictionary(grouping: history.filter(\.isLive), by: { $0.line.key.suggestion })
        for (line, number) in zip(decoded.lines, decoded.lineNumbers) {
            let offerKey = "\(line.release)\u{1F}\(line.kind.rawValue)\u{1F}\(line.item)"
            let offer = offers[offerKey] ?? offer(line, partner: partner, releases: releases)
            offers[offerKey] = offer
            switch offer {
            case .failure(let problem):
                errors.append(problem.at(line: number))
            case .success(let offer):
                guard offer.candidates.contains(line.suggested) else {
                    errors.append(
                        LineError(
                            line: number, field: "suggested",
                            problem: "release \(line.release) offers no \(line.kind.rawValue) suggestion '\(line.suggested)' for your item '\(line.item)'",
                            fix: "report the item names GET /v1/releases/\(line.release)/recommendations?kind=\(line.kind.rawValue) lists"))
                    continue
                }
                records.append(
                    OutcomeRecord(
                        partner: partner, line: line, inBaseline: offer.baseline.contains(line.suggested),
                        mode: mode(of: line, history: live), recordedAt: now))
            }
        }
        guard errors.isEmpty else { return .failure(InvalidOutcomes(lines: errors.sorted { $0.line < $1.line })) }
        return .success(OutcomeBatch(records: records, bodyDigest: decoded.bodyDigest, sentDigest: decoded.sentDigest))
    }

    /// Explore when the suggestion had fewer than `recommend.explore_invitations` of the
    /// partner's invitations in the periods that ended before this one began.
    func mode(of line: OutcomeLine, history: [SuggestionKey: [OutcomeRecord]]) -> SuggestionMode {
        let before = (history[line.key.suggestion] ?? []).filter { $0.line.periodEnd <= line.periodStart }
            .reduce(Int64(0)) { $0 + $1.line.invited }
        return before < settings.exploreInvitations ? .explore : .exploit
    }

    private func offer(
        _ line: OutcomeLine, partner: String, releases: [Int64: (record: ReleaseRecord, table: ReleasedTable)]
    ) -> Result<Offer, LineProblem> {
        guard let release = releases[line.release] else {
            return .failure(
                LineProblem(field: "release", problem: "there is no release \(line.release)", fix: "use an id GET /v1/releases lists"))
        }
        let ranker = SurpriseRanker(table: release.table, settings: settings)
        switch ranker.recommendations(
            partner: partner, category: line.item, kind: line.kind, limit: max(1, release.table.catalog.items.count),
            baselineLength: settings.baselineLength(limit: RecommendationSettings.defaultListLength))
        {
        case .success(let lists):
            let list = lists.first
            return .success(
                Offer(candidates: Set(list?.suggestions.map(\.item) ?? []), baseline: Set(list?.baseline.items ?? [])))
        case .failure(.categoryNotFound):
            return .failure(
                LineProblem(
                    field: "item", problem: "release \(line.release) has no released pair for your item '\(line.item)'",
                    fix: "report your own categories as the release lists them (GET /v1/releases/\(line.release)/recommendations)"))
        case .failure(.noOwnCounts):
            return .failure(
                LineProblem(
                    field: "kind", problem: "release \(line.release) predates \"try instead\" lists",
                    fix: "report instead suggestions against a later release"))
        }
    }
}

/// Outcome lines that cannot be stored, in line order.
public struct InvalidOutcomes: Error, Sendable, Equatable {
    public var lines: [LineError]
}
