import Crypto

/// A partner's API key: `chk_<key id>_<secret>`.
///
/// The key id (12 hex characters) is a lookup handle that may appear in logs; the secret
/// (32 random bytes, base64url) is shown once when the key is made and stored only as its
/// SHA-256 digest. A high-entropy secret needs no slow password hash: a stolen digest cannot
/// be inverted. Verification compares digests in constant time (swift-crypto's digest
/// `isValidAuthenticationCode`), and does the same work for unknown key ids so timing tells nothing.
public struct APIKey: Sendable {
    /// The public lookup part.
    public let keyID: String
    /// The secret part, as the partner sends it.
    public let secret: String

    public static let prefix = "chk_"

    /// The full key text a partner puts in `Authorization: Bearer`.
    public var text: String { "\(APIKey.prefix)\(keyID)_\(secret)" }

    /// Makes a fresh random key.
    public static func generate() -> APIKey {
        var generator = SystemRandomNumberGenerator()
        let idBytes = (0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secretBytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        return APIKey(keyID: Hex.encode(idBytes), secret: Base64URL.encode(secretBytes))
    }

    /// Splits a presented key into id and secret, or returns `nil` when it is not shaped like a key.
    public static func parse(_ text: Substring) -> APIKey? {
        guard text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        guard let separator = rest.firstIndex(of: "_") else { return nil }
        let keyID = rest[..<separator]
        let secret = rest[rest.index(after: separator)...]
        guard keyID.count == 12, keyID.utf8.allSatisfy({ Hex.nibble($0) != nil }),
            secret.count == 43, secret.utf8.allSatisfy(Base64URL.isAlphabet)
        else { return nil }
        return APIKey(keyID: String(keyID), secret: String(secret))
    }

    /// The digest that is stored for this key's secret: HMAC-SHA256 under a fixed, public
    /// domain-separation key, which is a plain hash in effect, and lets verification use
    /// swift-crypto's constant-time `isValidAuthenticationCode`.
    public var secretDigest: [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(secret.utf8), using: APIKey.digestKey))
    }

    /// Whether this key's secret matches `storedDigest`, compared in constant time.
    /// Pass `nil` for an unknown key id: the same hashing and comparison run against a dummy
    /// digest and the answer is `false`.
    public func matches(storedDigest: [UInt8]?) -> Bool {
        let reference = storedDigest ?? APIKey.dummyDigest
        let valid = HMAC<SHA256>.isValidAuthenticationCode(reference, authenticating: Array(secret.utf8), using: APIKey.digestKey)
        return valid && storedDigest != nil
    }

    private static let digestKey = SymmetricKey(data: Array("clearinghouse.api-key.v1".utf8))
    private static let dummyDigest = [UInt8](repeating: 0, count: SHA256.byteCount)
}

/// Base64url without padding (RFC 4648 section 5), for API key secrets.
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(value >> UInt32(shift) & 63)]) }
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            var value = UInt32(bytes[index]) << 16
            if remaining == 2 { value |= UInt32(bytes[index + 1]) << 8 }
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            if remaining == 2 { out.append(alphabet[Int(value >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
