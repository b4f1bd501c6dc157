import Testing

@testable import ClearinghouseCore

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    @Test(
        "valid forms parse to the right instant",
        arguments: [
            ("1970-01-01T00:00:00Z", Int64(0)),
            ("2026-11-23T08:15:00Z", Int64(1_795_421_700_000)),
            ("2026-11-23T09:15:00+01:00", Int64(1_795_421_700_000)),
            ("2026-11-23t03:45:00-04:30", Int64(1_795_421_700_000)),
            ("2026-11-23 08:15:00.5z", Int64(1_795_421_700_500)),
            ("2026-11-23T08:15:00.123456789Z", Int64(1_795_421_700_123)),
            ("2024-02-29T00:00:00Z", Int64(1_709_164_800_000)),
            ("1969-12-31T23:59:59Z", Int64(-1000)),
        ])
    func parses(text: String, expected: Int64) {
        #expect(RFC3339.parseMilliseconds(text) == expected)
    }

    @Test(
        "invalid forms are rejected",
        arguments: [
            "2026-11-23", "2026-11-23T08:15:00", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T08:60:00Z", "2026-11-23T08:15:00.Z",
            "2026-11-23T08:15:00+0100", "2026-11-23T08:15:00Zjunk", "yesterday", "",
            "2026-11-23T08:15:00.1234567891Z",
        ])
    func rejects(text: String) {
        #expect(RFC3339.parseMilliseconds(text) == nil)
    }

    @Test("formatting round-trips through parsing")
    func roundTrip() {
        for millis: Int64 in [0, 1_795_421_700_123, 951_782_400_000, -86_400_000, 4_102_444_799_999] {
            #expect(RFC3339.parseMilliseconds(RFC3339.format(milliseconds: millis)) == millis)
        }
        #expect(RFC3339.format(milliseconds: 1_795_421_700_123) == "2026-11-23T08:15:00.123Z")
    }
}
