import Foundation
import Testing

@testable import ClearinghouseCore

/// The outcome lines a campaign tool sends, and every way a line can be wrong.
@Suite("Outcome lines")
struct OutcomeDecoderTests {
    static let now = RFC3339.parseMilliseconds("2026-12-01T12:00:00Z")!

    static func line(
        release: String = "3", kind: String = "\"instead\"", item: String = "\"c05\"", suggested: String = "\"acme:c07\"",
        invited: String = "1200", accepted: String = "85", start: String = "2026-11-02T00:00:00Z", end: String = "2026-11-09T00:00:00Z"
    ) -> String {
        "{\"release\": \(release), \"kind\": \(kind), \"item\": \(item), \"suggested\": \(suggested), \"invited\": \(invited), "
            + "\"accepted\": \(accepted), \"period_start\": \"\(start)\", \"period_end\": \"\(end)\"}"
    }

    func decode(_ body: String, format: BodyFormat = .ndjson, maxPeriodDays: Int = 31) throws(OutcomeDecoder.Rejection) -> DecodedOutcomes {
        let decoder = OutcomeDecoder(format: format, gzip: false, limits: IngestLimits(), maxPeriodDays: maxPeriodDays, now: Self.now)
        let bytes = Array(body.utf8)
        var failure: OutcomeDecoder.Rejection?
        bytes.withUnsafeBytes { raw in
            do throws(OutcomeDecoder.Rejection) { try decoder.feed(raw) } catch { failure = error }
        }
        if let failure { throw failure }
        return try decoder.finish()
    }

    func problems(_ body: String, format: BodyFormat = .ndjson) -> [LineError] {
        do {
            let decoded = try decode(body, format: format)
            #expect(!decoded.problems.isEmpty, "the body was accepted")
            return decoded.problems
        } catch {
            guard case .invalidLines(let lines) = error else {
                Issue.record("rejected otherwise: \(error)")
                return []
            }
            return lines
        }
    }

    @Test("NDJSON and CSV lines decode to the same outcomes")
    func decodesBothFormats() throws {
        let ndjson = try decode(Self.line() + "\n" + Self.line(suggested: "\"acme:c03\"", invited: "10", accepted: "0") + "\n")
        #expect(ndjson.lines.count == 2)
        let first = ndjson.lines[0]
        #expect(first.release == 3 && first.kind == .instead && first.item == "c05" && first.suggested == "acme:c07")
        #expect(first.invited == 1200 && first.accepted == 85)
        #expect(first.periodEnd - first.periodStart == 7 * 86_400_000)
        let csv = try decode(
            "period_end,release,kind,item,suggested,invited,accepted,period_start\n"
                + "2026-11-09T00:00:00Z,3,instead,c05,acme:c07,1200,85,2026-11-02T00:00:00Z\n"
                + "2026-11-09T00:00:00Z,3,instead,c05,acme:c03,10,0,2026-11-02T00:00:00Z\n",
            format: .csv)
        #expect(csv.lines == ndjson.lines)
        #expect(csv.lineNumbers == [2, 3])
    }

    @Test("each bad line is named with its line, field and what to do", arguments: [
        (OutcomeDecoderTests.line(accepted: "1201"), "accepted", "more than invited"),
        (OutcomeDecoderTests.line(invited: "-1", accepted: "0"), "invited", "negative"),
        (OutcomeDecoderTests.line(accepted: "-2"), "accepted", "negative"),
        (OutcomeDecoderTests.line(invited: "12.5"), "invited", "whole number"),
        (OutcomeDecoderTests.line(invited: "1e3"), "invited", "whole number"),
        (OutcomeDecoderTests.line(invited: "\"1200\""), "invited", "whole number"),
        (OutcomeDecoderTests.line(release: "0"), "release", "positive"),
        (OutcomeDecoderTests.line(kind: "\"sideways\""), "kind", "cross or instead"),
        (OutcomeDecoderTests.line(item: "\"\""), "item", "empty"),
        (OutcomeDecoderTests.line(end: "2026-11-01T00:00:00Z"), "period_end", "ends before"),
        (OutcomeDecoderTests.line(start: "2026-09-01T00:00:00Z"), "period_end", "longer than 31 days"),
        (OutcomeDecoderTests.line(start: "2026-12-01T00:00:00Z", end: "2026-12-08T00:00:00Z"), "period_end", "not ended"),
        (OutcomeDecoderTests.line(start: "yesterday"), "period_start", "RFC 3339"),
    ])
    func badLines(line: String, field: String, problem: String) {
        let errors = problems(Self.line() + "\n" + line + "\n")
        #expect(errors.count == 1)
        #expect(errors.first?.line == 2)
        #expect(errors.first?.field == field)
        #expect(errors.first?.problem.contains(problem) == true, "\(errors.first?.problem ?? "")")
        #expect(errors.first?.fix.isEmpty == false)
    }

    @Test("a missing or unknown field, a second report of the same period in one batch, and CSV header faults are refused")
    func structuralFaults() {
        let missing = problems("{\"release\": 3, \"kind\": \"cross\", \"item\": \"c05\"}\n")
        #expect(missing.first?.field == "suggested" && missing.first?.problem.contains("missing") == true)
        let unknown = problems(Self.line().replacingOccurrences(of: "}", with: ", \"customer\": \"x\"}") + "\n")
        #expect(unknown.first?.problem.contains("unknown field") == true)
        let twice = problems(Self.line() + "\n" + Self.line(invited: "5", accepted: "1") + "\n")
        #expect(twice.count == 1 && twice.first?.line == 2 && twice.first?.problem.contains("line 1 already reports") == true)
        let noColumn = problems("release,kind,item,suggested,invited,accepted,period_start\n3,cross,c05,b:c,1,0,2026-11-02T00:00:00Z\n", format: .csv)
        #expect(noColumn.first?.line == 1 && noColumn.first?.field == "period_end")
        #expect(throws: OutcomeDecoder.Rejection.empty) { try decode("\n\n") }
    }
}
