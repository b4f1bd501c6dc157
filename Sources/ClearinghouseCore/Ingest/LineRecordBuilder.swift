/// Validates the fields of one line and encodes the line as a ``SpoolRecord``.
///
/// One builder serves the three batch kinds: the kinds share token and kid, and a table of
/// allowed and required fields per kind (``BatchKind``) decides the rest. The token is turned
/// into a person key here and dropped; nothing after this point sees it.
struct LineRecordBuilder {
    let kind: BatchKind
    let deriver: PersonKeyDeriver
    let latestAllowedTime: Int64
    var categories: CategoryTable
    /// The kind's allowed and required fields as bits (by `LineField.rawValue`), computed once:
    /// checked for every field of every line, where building the kind's `Set` cost hashing.
    private let allowedBits: UInt16
    private let requiredBits: UInt16

    private var seen: UInt16 = 0
    private var token = [UInt8](repeating: 0, count: 32)
    private var kid: [UInt8] = []
    private var purposes: UInt32 = 0
    private var grantedAt: Int64 = 0
    private var expiresAt: Int64 = SpoolRecord.noExpiry
    private var proof: [UInt8] = []
    private var categoryNumber: UInt32 = 0
    private var weight: Double = 1
    private var observedAt: Int64 = 0
    private var personKey = [UInt8](repeating: 0, count: PersonKey.byteCount)

    static let maxKidBytes = 64
    static let maxCategoryBytes = 64
    static let maxProofCharacters = 256

    init(kind: BatchKind, deriver: PersonKeyDeriver, now: Int64, limits: IngestLimits) {
        self.kind = kind
        self.deriver = deriver
        self.latestAllowedTime = now + limits.futureToleranceMilliseconds
        self.categories = CategoryTable(limit: limits.maxCategoriesPerBatch)
        self.allowedBits = kind.allowedFields.reduce(0) { $0 | (1 << $1.rawValue) }
        self.requiredBits = kind.requiredFields.reduce(0) { $0 | (1 << $1.rawValue) }
        kid.reserveCapacity(Self.maxKidBytes)
    }

    mutating func begin() {
        seen = 0
        weight = 1
        expiresAt = SpoolRecord.noExpiry
        proof.removeAll(keepingCapacity: true)
    }

    /// Takes one field of the current line.
    mutating func take(_ field: LineField, _ value: LineValue) throws(LineProblem) {
        guard allowedBits & (1 << field.rawValue) != 0 else {
            throw LineProblem(
                field: field.name, problem: "field '\(field.name)' does not belong in a \(kind.lineNoun) line",
                fix: "a \(kind.lineNoun) line has \(kind.allowedFields.map(\.name).sorted().joined(separator: ", "))")
        }
        let bit: UInt16 = 1 << field.rawValue
        guard seen & bit == 0 else {
            throw LineProblem(field: field.name, problem: "field '\(field.name)' appears twice", fix: "give each field once per line")
        }
        seen |= bit
        switch field {
        case .token: try takeToken(value)
        case .kid: try takeKid(value)
        case .purposes: try takePurposes(value)
        case .grantedAt: grantedAt = try timestamp(value, field: field)
        case .expiresAt:
            if case .null = value {
                expiresAt = SpoolRecord.noExpiry
            } else {
                expiresAt = try timestamp(value, field: field, allowFuture: true)
            }
        case .proof: try takeProof(value)
        case .category: try takeCategory(value)
        case .weight: try takeWeight(value)
        case .observedAt: observedAt = try timestamp(value, field: field)
        }
    }

    /// Checks the line is whole, derives the person key, and appends the record to `out`.
    mutating func complete(into out: inout [UInt8]) throws(LineProblem) {
        if seen & requiredBits != requiredBits, let field = kind.requiredFields.first(where: { seen & (1 << $0.rawValue) == 0 }) {
            throw LineProblem(
                field: field.name, problem: "field '\(field.name)' is missing",
                fix: "a \(kind.lineNoun) line needs \(kind.requiredFields.map(\.name).joined(separator: ", "))")
        }
        if kind == .consents, expiresAt != SpoolRecord.noExpiry, expiresAt <= grantedAt {
            throw LineProblem(
                field: LineField.expiresAt.name, problem: "expires_at is not after granted_at",
                fix: "give the moment the consent ends, after it was granted, or leave expires_at out")
        }
        kid.withUnsafeBytes { kidBytes in
            token.withUnsafeBytes { tokenBytes in
                personKey.withUnsafeMutableBytes { deriver.derive(kid: kidBytes, token: tokenBytes, into: $0) }
            }
        }
        personKey.withUnsafeBytes { SpoolRecord.appendKey($0, to: &out) }
        switch kind {
        case .signals:
            SpoolRecord.append(categoryNumber, to: &out)
            SpoolRecord.append(weight.bitPattern, to: &out)
            SpoolRecord.append(observedAt, to: &out)
        case .consents:
            SpoolRecord.append(purposes, to: &out)
            SpoolRecord.append(grantedAt, to: &out)
            SpoolRecord.append(expiresAt, to: &out)
            SpoolRecord.append(UInt16(proof.count), to: &out)
            out.append(contentsOf: proof)
        case .revocations:
            break
        }
    }

    var categoryNames: [String] { categories.names }

    // MARK: - Fields

    private mutating func takeToken(_ value: LineValue) throws(LineProblem) {
        let ok = try withText(value, field: .token) { raw in
            raw.count == 64 && token.withUnsafeMutableBytes { Hex.decode(raw, into: $0) }
        }
        guard ok else {
            let length = textLength(value)
            throw LineProblem(
                field: LineField.token.name,
                problem: length == 64
                    ? "token must be hexadecimal (0-9, a-f)"
                    : "token must be 64 hexadecimal characters (HMAC-SHA256), got \(length)",
                fix: "send hex(HMAC-SHA256(consortium salt, normalized identifier)), never the identifier itself")
        }
    }

    private mutating func takeKid(_ value: LineValue) throws(LineProblem) {
        let ok = try withText(value, field: .kid) { raw in
            guard (1...Self.maxKidBytes).contains(raw.count), raw.allSatisfy(Self.isKidByte) else { return false }
            kid.removeAll(keepingCapacity: true)
            kid.append(contentsOf: raw)
            return true
        }
        guard ok else {
            throw LineProblem(
                field: LineField.kid.name, problem: "kid must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
                fix: "send the key id of the consortium salt the token was made with")
        }
    }

    private mutating func takePurposes(_ value: LineValue) throws(LineProblem) {
        guard case .textList(let items) = value else {
            throw LineProblem(
                field: LineField.purposes.name, problem: "purposes must be an array of strings, got \(value.kindDescription)",
                fix: "write \"purposes\": [\"affinity\"] (in CSV: affinity, several separated by ';')")
        }
        var mask: UInt32 = 0
        for item in items {
            let name = String(decoding: item, as: UTF8.self)
            guard let purpose = Purpose(rawValue: name) else {
                let shown = item.withUnsafeBytes { LineField.describeUnknown($0) }
                throw LineProblem(
                    field: LineField.purposes.name, problem: "unknown purpose \(shown)",
                    fix: "the purposes this clearinghouse processes are: \(Purpose.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            mask |= purpose.bit
        }
        guard mask != 0 else {
            throw LineProblem(
                field: LineField.purposes.name, problem: "purposes is empty",
                fix: "list at least one purpose; to withdraw consent, POST the person to /v1/revocations")
        }
        purposes = mask
    }

    private mutating func takeProof(_ value: LineValue) throws(LineProblem) {
        if case .null = value { return }
        let ok = try withText(value, field: .proof) { raw in
            guard let text = String(validating: raw, as: UTF8.self),
                text.unicodeScalars.count <= Self.maxProofCharacters,
                !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
            else { return false }
            proof.append(contentsOf: raw)
            return true
        }
        guard ok else {
            throw LineProblem(
                field: LineField.proof.name, problem: "proof must be UTF-8 text of at most 256 characters without control characters",
                fix: "send a reference to the consent record (a CMP record id or a TCF string digest), not the record itself")
        }
    }

    private mutating func takeCategory(_ value: LineValue) throws(LineProblem) {
        let valid = try withText(value, field: .category) { raw in
            (1...Self.maxCategoryBytes).contains(raw.count) && raw.allSatisfy(Self.isCategoryByte)
        }
        guard valid else {
            throw LineProblem(
                field: LineField.category.name, problem: "category must be 1 to 64 characters of a-z 0-9 . _ -",
                fix: "map your category labels to lower-case slugs such as running-shoes")
        }
        var number: UInt32 = 0
        try withText(value, field: .category) { (raw) throws(LineProblem) in number = try categories.intern(raw) }
        categoryNumber = number
    }

    private mutating func takeWeight(_ value: LineValue) throws(LineProblem) {
        guard case .number(let raw) = value else {
            if case .null = value { return }
            throw LineProblem(
                field: LineField.weight.name, problem: "weight must be a number, got \(value.kindDescription)",
                fix: "send a positive number such as 1 or 2.5, or leave weight out for 1")
        }
        guard raw.count <= 32, let parsed = Double(String(decoding: raw, as: UTF8.self)), parsed.isFinite, parsed > 0 else {
            throw LineProblem(
                field: LineField.weight.name, problem: "weight must be a finite number greater than 0",
                fix: "send a positive number such as 1 or 2.5, or leave weight out for 1")
        }
        weight = parsed
    }

    private func timestamp(_ value: LineValue, field: LineField, allowFuture: Bool = false) throws(LineProblem) -> Int64 {
        let parsed: Int64? = try withText(value, field: field) { RFC3339.parseMilliseconds($0) }
        guard let parsed else {
            throw LineProblem(
                field: field.name, problem: "\(field.name) is not an RFC 3339 timestamp",
                fix: "write it as 2026-11-23T08:15:00Z (or with an offset such as +01:00)")
        }
        guard allowFuture || parsed <= latestAllowedTime else {
            throw LineProblem(
                field: field.name, problem: "\(field.name) lies in the future",
                fix: "check the clock and time zone of the system that exported the line")
        }
        return parsed
    }

    // MARK: - Helpers

    private func withText<Output>(
        _ value: LineValue, field: LineField,
        _ body: (UnsafeRawBufferPointer) throws(LineProblem) -> Output
    ) throws(LineProblem) -> Output {
        switch value {
        case .text(let raw):
            return try body(raw)
        case .decodedText(let bytes):
            return try withBytes(of: bytes, body)
        default:
            throw LineProblem(
                field: field.name, problem: "\(field.name) must be a string, got \(value.kindDescription)",
                fix: "quote the value")
        }
    }

    private func textLength(_ value: LineValue) -> Int {
        switch value {
        case .text(let raw): return raw.count
        case .decodedText(let bytes): return bytes.count
        default: return 0
        }
    }

    private static func isKidByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private static func isCategoryByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
