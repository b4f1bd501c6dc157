/// The stored form of a `ReleasedTable`: a small versioned little-endian binary layout.
///
/// A release with hundreds of thousands of pairs is one blob written once and read back
/// whole; JSON would be ten times larger and slower to read. Version 2 appends each partner's
/// own pairs; version 1 blobs (before them) still read, with none.
extension ReleasedTable {
    static let magic = Array("CHREL002".utf8)
    static let magicVersion1 = Array("CHREL001".utf8)

    public func encoded() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(64 + catalog.items.count * 24 + pairs.count * 40)
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        func put(_ text: String) {
            let bytes = Array(text.utf8)
            put(UInt16(bytes.count))
            out.append(contentsOf: bytes)
        }
        put(UInt32(catalog.partners.count))
        for partner in catalog.partners { put(partner) }
        put(UInt32(catalog.items.count))
        for item in catalog.items {
            put(UInt32(item.partner))
            put(item.category)
        }
        for count in ownItemPersons { put(count) }
        for count in ownPartnerPersons { put(count) }
        for list in [pairs, ownPairs] {
            put(UInt64(list.count))
            for pair in list {
                put(pair.x)
                put(pair.y)
                put(pair.both)
                put(pair.xWithin)
                put(pair.yWithin)
                put(pair.overlap)
            }
        }
        return out
    }

    /// Decodes a stored table; throws on anything but a well-formed blob of this version.
    public init(encoded bytes: [UInt8]) throws(ReleaseDecodingError) {
        var reader = ByteReader(bytes)
        let magic = Array(try reader.take(Self.magic.count))
        guard magic == Self.magic || magic == Self.magicVersion1 else { throw .unknownFormat }
        let partnerCount = Int(try reader.integer(UInt32.self))
        var partners: [String] = []
        for _ in 0..<partnerCount { partners.append(try reader.text()) }
        let itemCount = Int(try reader.integer(UInt32.self))
        var items: [ReleaseCatalog.Item] = []
        for _ in 0..<itemCount {
            let partner = Int(try reader.integer(UInt32.self))
            guard partner < partnerCount else { throw .corrupt }
            items.append(.init(partner: partner, category: try reader.text()))
        }
        func readPairs(own: Bool) throws(ReleaseDecodingError) -> [ReleasedPair] {
            let pairCount = Int(try reader.integer(UInt64.self))
            guard pairCount <= bytes.count / 40 else { throw .corrupt }
            var pairs: [ReleasedPair] = []
            pairs.reserveCapacity(pairCount)
            for _ in 0..<pairCount {
                let pair = ReleasedPair(
                    x: try reader.integer(Int32.self), y: try reader.integer(Int32.self),
                    both: try reader.integer(Int64.self), xWithin: try reader.integer(Int64.self),
                    yWithin: try reader.integer(Int64.self), overlap: try reader.integer(Int64.self))
                guard pair.x >= 0, pair.y >= 0, Int(pair.x) < itemCount, Int(pair.y) < itemCount,
                    (items[Int(pair.x)].partner == items[Int(pair.y)].partner) == own
                else { throw .corrupt }
                pairs.append(pair)
            }
            return pairs
        }
        let version2 = magic == Self.magic
        var ownItemPersons: [Int64]?
        var ownPartnerPersons: [Int64]?
        if version2 {
            guard bytes.count - 8 >= (itemCount + partnerCount) * 8 else { throw .corrupt }
            ownItemPersons = try (0..<itemCount).map { _ throws(ReleaseDecodingError) in try reader.integer(Int64.self) }
            ownPartnerPersons = try (0..<partnerCount).map { _ throws(ReleaseDecodingError) in try reader.integer(Int64.self) }
        }
        let pairs = try readPairs(own: false)
        let ownPairs = version2 ? try readPairs(own: true) : []
        guard reader.isAtEnd else { throw .corrupt }
        self.init(
            catalog: ReleaseCatalog(partners: partners, items: items), pairs: pairs, ownPairs: ownPairs,
            ownItemPersons: ownItemPersons, ownPartnerPersons: ownPartnerPersons)
    }
}

/// A stored release blob that cannot be read.
public enum ReleaseDecodingError: Error, Sendable {
    case unknownFormat
    case corrupt
}

private struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) throws(ReleaseDecodingError) -> ArraySlice<UInt8> {
        guard count <= bytes.count - offset else { throw .corrupt }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(ReleaseDecodingError) -> T {
        let slice = try take(MemoryLayout<T>.size)
        var value = T.zero
        for (shift, byte) in slice.enumerated() { value |= T(truncatingIfNeeded: byte) << (shift * 8) }
        return value
    }

    mutating func text() throws(ReleaseDecodingError) -> String {
        let length = Int(try integer(UInt16.self))
        return String(decoding: try take(length), as: UTF8.self)
    }
}
