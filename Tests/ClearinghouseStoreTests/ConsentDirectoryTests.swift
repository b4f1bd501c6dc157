@testable import ClearinghouseSQLite
import Testing

/// The directory's in-place bucket sort and its lookups, on random keys against a plain sort.
@Suite("Consent directory layout")
struct ConsentDirectoryTests {
    @Test(
        "every entry is found under its person, absent keys are not, and shared prefixes answer nothing",
        arguments: [0, 1, 5, 1_000, 70_000])
    func bucketedLookups(count: Int) {
        let seed = UInt64(count) &* 7919 &+ 17
        print("consent directory seed \(seed)")
        var random = SeededGenerator(seed: seed)
        func key() -> (UInt64, UInt64, UInt64, UInt64) { (random.next(), random.next(), random.next(), random.next()) }
        var keys = (0..<count).map { _ in key() }
        // Some keys clustered at the ends of the key space, and a pair sharing 96 bits but not the rest.
        if count >= 1_000 {
            keys[0].0 = 0
            keys[1].0 = .max
            keys[2] = (keys[3].0, keys[3].1 | 0xFFFF_FFFF, ~keys[3].2, keys[3].3)
        }
        let entries = keys.enumerated().map { ConsentDirectories.Entry(key: $0.element, person: UInt32($0.offset + 1)) }
        let expected = entries.sorted(by: <).map { [$0.high, UInt64($0.low)] }
        // Handed over, not copied: the build's array is sorted where it lies.
        let directory = ConsentDirectories.Directory(partner: 1, mark: 0, validFrom: .min, validUntil: .max, sorting: consume entries)
        #expect(directory.entries.map { [$0.high, UInt64($0.low)] } == expected)
        #expect(directory.starts.first == 0 && directory.starts.last == UInt32(count))
        #expect(directory.starts.count == (1 << ConsentDirectories.Directory.bucketBits(count)) + 1)
        // Keys 2 and 3 share their first 96 bits (when planted): both are left to the database.
        let shared: Set<Int> = count >= 1_000 ? [2, 3] : []
        for (offset, key) in keys.enumerated() {
            #expect(directory.match(key) == (shared.contains(offset) ? .lookUpInFull : .person(UInt32(offset + 1))), "entry \(offset)")
        }
        #expect(directory.entries.filter { $0.person == 0 }.count == shared.count)
        for _ in 0..<1_000 { #expect(directory.match(key()) == .none) }
        // The directory is what its size says: entries of 16 bytes and a start a bucket.
        #expect(MemoryLayout<ConsentDirectories.Entry>.stride == 16)
        #expect(directory.entries.capacity - count < 512 && directory.bytes < ConsentDirectories.Directory.bytes(for: count) + 8 * 1024)
    }
}
