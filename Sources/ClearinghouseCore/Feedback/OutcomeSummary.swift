/// What a partner's suggestions achieved, per reported period: acceptance outside the
/// popularity baseline against inside it, explore against exploit, and the proven surprises.
///
/// Built from one partner's own reports (the live ones, corrections applied): `GET
/// /v1/outcomes/summary` shows a partner its own, never another's; the operator's `clearinghouse
/// outcomes summary` shows each partner's.
public struct OutcomeSummary: Sendable, Codable, Equatable {
    public struct Period: Sendable, Codable, Equatable {
        public var periodStart: String
        public var periodEnd: String
        public var total: OutcomeTotals
        public var outsideBaseline: OutcomeTotals
        public var insideBaseline: OutcomeTotals
        public var explore: OutcomeTotals
        public var exploit: OutcomeTotals

        enum CodingKeys: String, CodingKey {
            case total, explore, exploit
            case periodStart = "period_start"
            case periodEnd = "period_end"
            case outsideBaseline = "outside_baseline"
            case insideBaseline = "inside_baseline"
        }
    }

    /// A suggestion outside the baseline accepted significantly more often than the partner's
    /// average: `p_value` is the chance of at least its acceptances at the average rate.
    public struct Proven: Sendable, Codable, Equatable {
        public var kind: RecommendationKind
        public var item: String
        public var suggested: String
        public var invited: Int64
        public var accepted: Int64
        public var rate: Double
        public var pValue: Double

        enum CodingKeys: String, CodingKey {
            case kind, item, suggested, invited, accepted, rate
            case pValue = "p_value"
        }
    }

    public var partner: String
    public var total: OutcomeTotals
    public var outsideBaseline: OutcomeTotals
    public var insideBaseline: OutcomeTotals
    public var explore: OutcomeTotals
    public var exploit: OutcomeTotals
    /// Suggestions with at least one report.
    public var suggestions: Int
    public var periods: [Period]
    public var proven: [Proven]

    enum CodingKeys: String, CodingKey {
        case partner, total, explore, exploit, suggestions, periods, proven
        case outsideBaseline = "outside_baseline"
        case insideBaseline = "inside_baseline"
    }

    public init(partner: String, records: [OutcomeRecord]) {
        self.partner = partner
        let live = records.filter { $0.isLive && $0.partner == partner }
        var total = OutcomeTotals()
        var outside = OutcomeTotals()
        var inside = OutcomeTotals()
        var explore = OutcomeTotals()
        var exploit = OutcomeTotals()
        var periods: [PeriodKey: Period] = [:]
        var bySuggestion: [SuggestionKey: (totals: OutcomeTotals, latest: OutcomeRecord)] = [:]
        for record in live {
            let line = record.line
            total.add(line)
            if record.inBaseline { inside.add(line) } else { outside.add(line) }
            if record.mode == .explore { explore.add(line) } else { exploit.add(line) }
            let key = PeriodKey(start: line.periodStart, end: line.periodEnd)
            var period = periods[key] ?? Period(
                periodStart: RFC3339.format(milliseconds: line.periodStart), periodEnd: RFC3339.format(milliseconds: line.periodEnd),
                total: OutcomeTotals(), outsideBaseline: OutcomeTotals(), insideBaseline: OutcomeTotals(), explore: OutcomeTotals(),
                exploit: OutcomeTotals())
            period.total.add(line)
            if record.inBaseline { period.insideBaseline.add(line) } else { period.outsideBaseline.add(line) }
            if record.mode == .explore { period.explore.add(line) } else { period.exploit.add(line) }
            periods[key] = period
            let suggestion = line.key.suggestion
            var entry = bySuggestion[suggestion] ?? (OutcomeTotals(), record)
            entry.totals.add(line)
            if line.periodEnd >= entry.latest.line.periodEnd { entry.latest = record }
            bySuggestion[suggestion] = entry
        }
        self.total = total
        outsideBaseline = outside
        insideBaseline = inside
        self.explore = explore
        self.exploit = exploit
        suggestions = bySuggestion.count
        self.periods = periods.sorted { ($0.key.start, $0.key.end) < ($1.key.start, $1.key.end) }.map(\.value)
        let average = total.rate
        proven = bySuggestion.sorted { $0.key < $1.key }.compactMap { key, entry in
            guard LearningPolicy.isProven(inBaseline: entry.latest.inBaseline, own: entry.totals, averageRate: average), let average
            else { return nil }
            return Proven(
                kind: key.kind, item: key.item, suggested: key.suggested, invited: entry.totals.invited, accepted: entry.totals.accepted,
                rate: entry.totals.rate ?? 0,
                pValue: BetaDistribution.binomialUpperTail(atLeast: entry.totals.accepted, of: entry.totals.invited, rate: average))
        }
    }

    private struct PeriodKey: Hashable {
        let start: Int64
        let end: Int64
    }
}
