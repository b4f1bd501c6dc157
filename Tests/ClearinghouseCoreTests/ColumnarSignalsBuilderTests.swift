import Testing

@testable import ClearinghouseCore

/// The columnar copy's builder groups rows that come in any order (the signal table's upload
/// order) by person, in two passes, storing the second pass through per-range buffers.
@Suite("Columnar signals builder")
struct ColumnarSignalsBuilderTests {
    typealias Row = (person: Int64, category: Int64, weight: Double)

    /// Rows for `persons` persons with ids spread over 0..<`idSpace`, shuffled.
    static func rows(seed: UInt64, persons: Int, idSpace: Int64) -> [Row] {
        var random = SeededGenerator(seed: seed)
        var rows: [Row] = []
        for _ in 0..<persons {
            let person = Int64.random(in: 1..<idSpace, using: &random)
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                rows.append((person, Int64.random(in: 0..<40, using: &random), [0.1, 0.2, 0.3, 0.7][Int.random(in: 0..<4, using: &random)]))
            }
        }
        return rows.shuffled(using: &random)
    }

    static func build(_ first: [Row], _ second: [Row], largestPerson: Int64) -> ColumnarSignals? {
        var builder = ColumnarSignalsBuilder(largestPerson: largestPerson)
        for row in first { guard builder.count(person: row.person) else { return nil } }
        builder.layout()
        for row in second { guard builder.place(person: row.person, category: row.category, weight: row.weight) else { return nil } }
        return builder.finish(mark: 7, partnerOfCategory: [Int64](repeating: 1, count: 40))
    }

    @Test("many persons over a wide id range (buffers flushed full and at the end): each person's signals, ordered by category and weight", arguments: [
        (UInt64(1), Int64(300_000)), (2, 2_000_000),
    ])
    func groupsByPerson(seed: UInt64, idSpace: Int64) throws {
        print("builder seed \(seed)")
        let rows = Self.rows(seed: seed, persons: 40_000, idSpace: idSpace)
        // A smaller first guess than the ids: the counts grow past it.
        let built = try #require(Self.build(rows, rows, largestPerson: idSpace / 3))
        var expected: [Int64: [(Int32, Double)]] = [:]
        for row in rows { expected[row.person, default: []].append((Int32(row.category), row.weight)) }
        #expect(built.personID.map(Int64.init) == expected.keys.sorted())
        #expect(built.mark == 7 && built.category.count == rows.count)
        for (index, person) in built.personID.enumerated() {
            let range = Int(built.start[index])..<Int(built.start[index + 1])
            let got = range.map { (built.category[$0], built.weight[$0]) }
            let want = expected[Int64(person)]!.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            #expect(got.elementsEqual(want, by: ==), "person \(person)")
        }
    }

    @Test("passes that read different rows build nothing")
    func passesMustAgree() {
        let rows = Self.rows(seed: 3, persons: 5_000, idSpace: 100_000)
        var moved = rows
        moved[0].person = rows[1].person == rows[0].person ? rows[0].person + 1 : rows[1].person
        #expect(Self.build(rows, moved, largestPerson: 100_000) == nil, "one row of another person")
        #expect(Self.build(rows, Array(rows.dropLast()), largestPerson: 100_000) == nil, "one row fewer")
        #expect(Self.build(rows, rows + [rows[0]], largestPerson: 100_000) == nil, "one row more")
    }
}
