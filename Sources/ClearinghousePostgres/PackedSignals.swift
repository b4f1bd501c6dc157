import ClearinghouseCore
import Logging
import NIOCore
import PostgresNIO

/// The release scan's fast layout: every signal of a span of person ids in one `bytea`, 16 bytes
/// a signal: `(person_id << 24) | category_id` as int8 and the weight as float8, network order.
///
/// Why: postgres-nio spends about a microsecond of this process's CPU on each row it hands over
/// (its state machine, an async element, retains), which at 2 million persons cost more than
/// the counting itself (measured with perf at 10 M signals: the client used 2.96 s of CPU for a
/// 3.5 s release). A few dozen rows of megabytes each cost next to nothing. The server reads the
/// covering index, so the signals arrive sorted by person, partner, category and weight, the
/// order the per-person layout and SQLite give, and sums and tie-breaks are the same. Nothing in
/// SQL promises that order to an aggregate (a sorted subquery would, in practice, at 25% more
/// server time), and another plan (a bitmap scan before a vacuum) would not give it: the client
/// checks the order and sorts when it does not hold.
struct PackedSignals {
    static let categoryBits: Int64 = 24
    /// Person ids below 2^39 leave the sign bit clear.
    static let personLimit: Int64 = 1 << 39
    let plan: PostgresReleasePlan
    /// A span's answer aims at this size: large enough that rows are few, small enough that a
    /// reader holds little (two readers, a few MiB each).
    var targetBytes = 8 << 20
    /// Person ids in the first span, before the bytes per person id are known.
    var firstSpan: Int64 = 16_384

    static func fits(highestPerson: Int64, highestCategory: Int64) -> Bool {
        highestPerson < personLimit && highestCategory < (1 << categoryBits)
    }

    /// Reads `persons` span by span, sizing each span from the bytes per person id of the last.
    func scan(_ connection: PostgresConnection, persons: Range<Int64>, into sink: some PersonSignalSink, logger: Logger) async throws {
        var grouper = PersonGrouper(plan: plan)
        var lower = persons.lowerBound
        var span = firstSpan
        while lower < persons.upperBound {
            let upper = min(persons.upperBound, lower + span)
            guard let packed = try await fetch(connection, persons: lower..<upper, logger: logger) else {
                // Over PostgreSQL's 1 GB value limit: halve the span; a single person that large
                // goes the per-person way (which has the same limit per person).
                if upper - lower == 1 {
                    try await plan.scanPerPerson(connection, persons: lower..<upper, into: sink, logger: logger)
                    lower = upper
                } else {
                    span = max(1, (upper - lower) / 2)
                }
                continue
            }
            grouper.feed(packed, into: sink)
            let perPersonID = max(1, packed.readableBytes / Int(upper - lower))
            span = min(max(1, Int64(targetBytes / perPersonID)), span * 2)
            lower = upper
        }
    }

    /// The packed signals of `persons`, or nil when the answer would exceed PostgreSQL's limit
    /// (the savepoint keeps the snapshot's transaction usable after that error).
    private func fetch(_ connection: PostgresConnection, persons: Range<Int64>, logger: Logger) async throws -> ByteBuffer? {
        try await connection.query("SAVEPOINT packed_signals", logger: logger)
        do {
            let rows = try await connection.query(
                """
                SELECT string_agg(int8send((person_id << \(unescaped: "\(Self.categoryBits)")) | category_id) || float8send(weight), ''::bytea)
                FROM signal WHERE person_id >= \(persons.lowerBound) AND person_id < \(persons.upperBound)
                """, logger: logger)
            var packed = ByteBuffer()
            for try await row in rows {
                if let bytes = row.first?.bytes { packed = bytes }
            }
            try await connection.query("RELEASE SAVEPOINT packed_signals", logger: logger)
            return packed
        } catch let error as PSQLError where ["54000", "53200"].contains(error.serverInfo?[.sqlState] ?? "") {
            try await connection.query("ROLLBACK TO SAVEPOINT packed_signals", logger: logger)
            return nil
        }
    }
}

/// Turns packed signals into persons for a sink: consecutive records of one person are that
/// person's signals; records of categories outside the catalog or of expired consent are left out.
struct PersonGrouper {
    let plan: PostgresReleasePlan
    private var items: [Int32] = []
    private var weights: [Double] = []

    init(plan: PostgresReleasePlan) {
        self.plan = plan
        items.reserveCapacity(256)
        weights.reserveCapacity(256)
    }

    struct Record {
        var person: Int64
        var category: Int64
        var weight: Double
    }

    mutating func feed(_ packed: ByteBuffer, into sink: some PersonSignalSink) {
        let partnerOfCategory = plan.map.partnerOfCategory
        packed.withUnsafeReadableBytes { raw in
            let count = raw.count / 16
            let mask: Int64 = (1 << PackedSignals.categoryBits) - 1
            func record(_ index: Int) -> Record {
                let key = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: index * 16, as: Int64.self))
                let weight = Double(bitPattern: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: index * 16 + 8, as: UInt64.self)))
                return Record(person: key >> PackedSignals.categoryBits, category: key & mask, weight: weight)
            }
            var inPersonOrder = true
            var previous = Int64.min
            for index in 0..<count {
                let person = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: index * 16, as: Int64.self)) >> PackedSignals.categoryBits
                if person < previous {
                    inPersonOrder = false
                    break
                }
                previous = person
            }
            if inPersonOrder {
                emit(count: count, record, into: sink)
            } else {
                // The order the index gives: person, partner, category, weight.
                let partner = { (category: Int64) in
                    category < partnerOfCategory.count ? partnerOfCategory[Int(category)] : -1
                }
                let sorted = (0..<count).map(record).sorted {
                    ($0.person, partner($0.category), $0.category, $0.weight) < ($1.person, partner($1.category), $1.category, $1.weight)
                }
                emit(count: sorted.count, { sorted[$0] }, into: sink)
            }
        }
    }

    private mutating func emit(count: Int, _ recordAt: (Int) -> Record, into sink: some PersonSignalSink) {
        var current = Int64.min
        for index in 0..<count {
            let record = recordAt(index)
            if record.person != current {
                flush(into: sink)
                current = record.person
            }
            let item = plan.map.item(ofCategory: record.category)
            guard item >= 0 else { continue }
            if !plan.expired.isEmpty,
                plan.expired.contains(.init(partner: plan.map.partnerOfCategory[Int(record.category)], person: record.person))
            {
                continue
            }
            items.append(item)
            weights.append(record.weight)
        }
        flush(into: sink)
    }

    private mutating func flush(into sink: some PersonSignalSink) {
        guard !items.isEmpty else { return }
        items.withUnsafeBufferPointer { itemBuffer in
            weights.withUnsafeBufferPointer { weightBuffer in sink.addPerson(items: itemBuffer, weights: weightBuffer) }
        }
        items.removeAll(keepingCapacity: true)
        weights.removeAll(keepingCapacity: true)
    }
}
