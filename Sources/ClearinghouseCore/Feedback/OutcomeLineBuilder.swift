/// Collects the fields of one outcome line and checks them: each a whole number, a known kind,
/// counts that can be true, a period that can be counted.
struct OutcomeLineBuilder {
    let maxPeriodDays: Int
    let now: Int64
    let futureTolerance: Int64
    private var release: Int64?
    private var kind: RecommendationKind?
    private var item: String?
    private var suggested: String?
    private var invited: Int64?
    private var accepted: Int64?
    private var periodStart: Int64?
    private var periodEnd: Int64?

    init(maxPeriodDays: Int, now: Int64, futureTolerance: Int64) {
        self.maxPeriodDays = maxPeriodDays
        self.now = now
        self.futureTolerance = futureTolerance
    }

    mutating func take(_ name: String, _ value: LineValue, fromCSV: Bool = false) throws(LineProblem) {
        switch name {
        case "release":
            let number = try Self.wholeNumber(value, field: name, fromCSV: fromCSV)
            guard number > 0 else {
                throw LineProblem(field: name, problem: "the release id must be positive", fix: "use an id GET /v1/releases lists")
            }
            release = number
        case "kind":
            let text = try Self.text(value, field: name)
            guard let parsed = RecommendationKind(rawValue: text) else {
                throw LineProblem(field: name, problem: "kind must be cross or instead", fix: "use the kind of the list the suggestion came from")
            }
            kind = parsed
        case "item": item = try Self.name(value, field: name)
        case "suggested": suggested = try Self.name(value, field: name)
        case "invited": invited = try Self.count(value, field: name, fromCSV: fromCSV)
        case "accepted": accepted = try Self.count(value, field: name, fromCSV: fromCSV)
        case "period_start": periodStart = try Self.timestamp(value, field: name)
        case "period_end": periodEnd = try Self.timestamp(value, field: name)
        default:
            let shown = Array(name.utf8).withUnsafeBytes { LineField.describeUnknown($0) }
            throw LineProblem(
                field: nil, problem: "unknown field \(shown)",
                fix: "an outcome line has \(OutcomeDecoder.fields.joined(separator: ", "))")
        }
    }

    func complete() throws(LineProblem) -> OutcomeLine {
        guard let release else { throw Self.missing("release") }
        guard let kind else { throw Self.missing("kind") }
        guard let item else { throw Self.missing("item") }
        guard let suggested else { throw Self.missing("suggested") }
        guard let invited else { throw Self.missing("invited") }
        guard let accepted else { throw Self.missing("accepted") }
        guard let periodStart else { throw Self.missing("period_start") }
        guard let periodEnd else { throw Self.missing("period_end") }
        guard accepted <= invited else {
            throw LineProblem(
                field: "accepted", problem: "accepted (\(accepted)) is more than invited (\(invited))",
                fix: "count each invited customer at most once, and only invited customers as accepted")
        }
        guard periodEnd > periodStart else {
            throw LineProblem(
                field: "period_end", problem: "the period ends before (or when) it starts", fix: "give period_end after period_start")
        }
        let days = Int64(maxPeriodDays) * 86_400_000
        guard periodEnd - periodStart <= days else {
            throw LineProblem(
                field: "period_end", problem: "the period is longer than \(maxPeriodDays) days (feedback.max_period_days)",
                fix: "report each campaign period on its own line, at most \(maxPeriodDays) days each")
        }
        guard periodEnd <= now + futureTolerance else {
            throw LineProblem(
                field: "period_end", problem: "the period has not ended yet",
                fix: "report a period once it has ended (outcomes of a running period are not final)")
        }
        return OutcomeLine(
            release: release, kind: kind, item: item, suggested: suggested, invited: invited, accepted: accepted,
            periodStart: periodStart, periodEnd: periodEnd)
    }

    private static func missing(_ field: String) -> LineProblem {
        LineProblem(field: field, problem: "the field is missing", fix: "an outcome line has \(OutcomeDecoder.fields.joined(separator: ", "))")
    }

    private static func raw(_ value: LineValue) -> [UInt8]? {
        switch value {
        case .text(let raw): return Array(raw)
        case .decodedText(let bytes): return bytes
        case .number(let raw): return Array(raw)
        default: return nil
        }
    }

    private static func text(_ value: LineValue, field: String) throws(LineProblem) -> String {
        switch value {
        case .text, .decodedText: return String(decoding: raw(value)!, as: UTF8.self)
        default: throw LineProblem(field: field, problem: "\(value.kindDescription) where a string belongs", fix: "send \(field) as a string")
        }
    }

    /// A category name as the release spells it: not empty, not overlong.
    private static func name(_ value: LineValue, field: String) throws(LineProblem) -> String {
        let text = try text(value, field: field)
        guard !text.isEmpty, text.utf8.count <= 200 else {
            throw LineProblem(field: field, problem: "the name is empty or longer than 200 bytes", fix: "use the name the release lists")
        }
        return text
    }

    /// A JSON integer literal (or, in CSV, a cell of digits): `1.0`, `1e3` and `"12"` in JSON are refused.
    private static func wholeNumber(_ value: LineValue, field: String, fromCSV: Bool) throws(LineProblem) -> Int64 {
        let bytes: [UInt8]
        switch value {
        case .number(let raw): bytes = Array(raw)
        case .text(let raw) where fromCSV: bytes = Array(raw)
        case .null: throw LineProblem(field: field, problem: "the value is empty", fix: "give \(field) as a whole number")
        default:
            throw LineProblem(field: field, problem: "\(value.kindDescription) where a whole number belongs", fix: "send \(field) as a JSON integer")
        }
        let digits = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let parsed = Int64(String(decoding: bytes, as: UTF8.self))
        else {
            throw LineProblem(
                field: field, problem: "\(field) is not a whole number (or is too large)", fix: "give \(field) as a whole number, without a fraction or exponent")
        }
        return parsed
    }

    private static func count(_ value: LineValue, field: String, fromCSV: Bool) throws(LineProblem) -> Int64 {
        let number = try wholeNumber(value, field: field, fromCSV: fromCSV)
        guard number >= 0 else { throw LineProblem(field: field, problem: "\(field) is negative", fix: "counts are 0 or more") }
        return number
    }

    private static func timestamp(_ value: LineValue, field: String) throws(LineProblem) -> Int64 {
        let text = try text(value, field: field)
        guard let parsed = RFC3339.parseMilliseconds(text) else {
            throw LineProblem(
                field: field, problem: "not an RFC 3339 timestamp", fix: "write it like 2026-11-02T00:00:00Z")
        }
        return parsed
    }
}
