import ClearinghouseCore
import Crypto
import Foundation

/// The secret a portal session cookie carries, and what is derived from it.
///
/// The token is 32 random bytes from the system generator, base64url-encoded: the browser holds
/// it, the database holds only its SHA-256 (`digest`), so a copy of the database signs no one
/// in. The CSRF token of the session's forms is an HMAC of a fixed label under the token: a page
/// can embed it, a cross-site form cannot know it (it cannot read the cookie), and nothing more
/// needs storing.
struct PortalSessionToken: Sendable, Equatable {
    let text: String

    static func generate() -> PortalSessionToken {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        return PortalSessionToken(text: Base64URL.encode(bytes))
    }

    /// A cookie's value as a token, or `nil` when it is not shaped like one (43 base64url characters).
    init?(cookie: String) {
        guard cookie.utf8.count == 43,
            cookie.utf8.allSatisfy({ byte in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            })
        else { return nil }
        self.text = cookie
    }

    private init(text: String) { self.text = text }

    /// What the database stores and looks sessions up by.
    var digest: [UInt8] { Array(SHA256.hash(data: Array(text.utf8))) }

    /// The value every form of this session must post back.
    var csrfToken: String {
        let code = HMAC<SHA256>.authenticationCode(for: Array("clearinghouse portal csrf".utf8), using: SymmetricKey(data: Array(text.utf8)))
        return Hex.encode(Array(code))
    }

    /// A fresh value for the sign-in form's double-submit cookie (there is no session yet):
    /// 128 random bits and their HMAC under a key derived from the pepper, so only a daemon of
    /// this database can make one; a cookie planted by another service on the same host (cookies
    /// ignore ports) does not pass ``isSignInNonce(_:key:)``.
    static func signInNonce(key: SymmetricKey) -> String {
        let random = Hex.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) })
        return random + "." + nonceCode(random, key: key)
    }

    /// Whether `nonce` was made by ``signInNonce(key:)`` with this key.
    static func isSignInNonce(_ nonce: String, key: SymmetricKey) -> Bool {
        let parts = nonce.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 32 else { return false }
        return same(String(parts[1]), nonceCode(String(parts[0]), key: key))
    }

    private static func nonceCode(_ random: String, key: SymmetricKey) -> String {
        Hex.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(random.utf8), using: key)))
    }

    /// Compares two tokens in time independent of where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
