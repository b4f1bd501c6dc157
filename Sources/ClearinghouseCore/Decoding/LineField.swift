#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fields that a consent, signal or revocation line may carry, in NDJSON and CSV alike.
///
/// One closed list keeps both formats to one schema: a CSV header names the same fields as the
/// JSON keys, and an unknown name is an error in both.
public enum LineField: UInt8, CaseIterable, Sendable {
    case token
    case kid
    case purposes
    case grantedAt
    case expiresAt
    case proof
    case category
    case weight
    case observedAt

    /// The name on the wire.
    public var name: String {
        switch self {
        case .token: return "token"
        case .kid: return "kid"
        case .purposes: return "purposes"
        case .grantedAt: return "granted_at"
        case .expiresAt: return "expires_at"
        case .proof: return "proof"
        case .category: return "category"
        case .weight: return "weight"
        case .observedAt: return "observed_at"
        }
    }

    /// The JSON shape of the value; CSV cells are read into the same shape.
    public enum ValueShape: Sendable {
        case text
        case number
        case textList
    }

    public var shape: ValueShape {
        switch self {
        case .purposes: return .textList
        case .weight: return .number
        default: return .text
        }
    }

    private static let namesUTF8: [[UInt8]] = LineField.allCases.map { Array($0.name.utf8) }

    /// The field whose wire name is `bytes`, if any. Every field of every line passes here:
    /// names are compared with `memcmp` (the generic `elementsEqual` cost a tenth of decoding).
    static func named(_ bytes: UnsafeRawBufferPointer) -> LineField? {
        guard let key = bytes.baseAddress else { return nil }
        for index in namesUTF8.indices where namesUTF8[index].count == bytes.count {
            if namesUTF8[index].withUnsafeBytes({ memcmp($0.baseAddress!, key, bytes.count) == 0 }) {
                return LineField(rawValue: UInt8(index))
            }
        }
        return nil
    }

    /// How an unknown field name is quoted back in an error: only short, plain names are echoed,
    /// so that a token sent in the place of a field name never comes back in a message.
    static func describeUnknown(_ bytes: UnsafeRawBufferPointer) -> String {
        let plain = bytes.count <= 32 && bytes.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
        }
        return plain ? "'\(String(decoding: bytes, as: UTF8.self))'" : "(a name of \(bytes.count) bytes, not shown)"
    }
}

/// One field value as the decoders hand it to a record builder.
///
/// Raw byte views are valid only during the call that passes them; builders copy what they keep.
public enum LineValue {
    /// A string without escapes (JSON) or a CSV cell: the bytes between the quotes.
    case text(UnsafeRawBufferPointer)
    /// A JSON string that had escapes, decoded to UTF-8.
    case decodedText([UInt8])
    /// A JSON number literal, already checked against the JSON number grammar.
    case number(UnsafeRawBufferPointer)
    /// A JSON array of strings (or a CSV cell split on `;`).
    case textList([[UInt8]])
    /// JSON `null`, or an empty CSV cell.
    case null
    /// JSON `true` or `false`.
    case boolean(Bool)

    /// The value's kind in words, for error messages (never the value itself).
    var kindDescription: String {
        switch self {
        case .text, .decodedText: return "a string"
        case .number: return "a number"
        case .textList: return "an array"
        case .null: return "null"
        case .boolean: return "a boolean"
        }
    }
}
