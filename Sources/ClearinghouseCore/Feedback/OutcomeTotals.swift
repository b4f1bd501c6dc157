/// Invitations and acceptances added up: of one suggestion, one period, or a partner.
public struct OutcomeTotals: Sendable, Codable, Equatable {
    public var invited: Int64
    public var accepted: Int64

    public init(invited: Int64 = 0, accepted: Int64 = 0) {
        self.invited = invited
        self.accepted = accepted
    }

    /// accepted / invited, `nil` before any invitation.
    public var rate: Double? { invited > 0 ? Double(accepted) / Double(invited) : nil }

    public mutating func add(_ line: OutcomeLine) {
        invited += line.invited
        accepted += line.accepted
    }

    enum CodingKeys: String, CodingKey { case invited, accepted, rate }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        invited = try container.decode(Int64.self, forKey: .invited)
        accepted = try container.decode(Int64.self, forKey: .accepted)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(invited, forKey: .invited)
        try container.encode(accepted, forKey: .accepted)
        try container.encode(rate, forKey: .rate)
    }
}

/// One partner's outcomes as a list read on one day counts them (``OutcomeRecord/counts(asOf:)``).
public struct PartnerOutcomes: Sendable {
    public var bySuggestion: [SuggestionKey: OutcomeTotals]
    public var total: OutcomeTotals
    /// The newest counted record's time: a list's draws change when it does (and with the day).
    public var latestRecordedAt: Int64

    public init(records: [OutcomeRecord], asOf dayStart: Int64) {
        var bySuggestion: [SuggestionKey: OutcomeTotals] = [:]
        var total = OutcomeTotals()
        var latest: Int64 = 0
        for record in records where record.counts(asOf: dayStart) {
            bySuggestion[record.line.key.suggestion, default: OutcomeTotals()].add(record.line)
            total.add(record.line)
            latest = max(latest, record.recordedAt)
        }
        self.bySuggestion = bySuggestion
        self.total = total
        latestRecordedAt = latest
    }

    public static let none = PartnerOutcomes(records: [], asOf: 0)
}
