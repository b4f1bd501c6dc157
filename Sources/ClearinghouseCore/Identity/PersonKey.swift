import Crypto
import Foundation

/// The only identity the daemon stores: HMAC-SHA256(pepper, kid || token).
///
/// It exists so that matching across partners happens on a value that is useless outside the
/// daemon: without the pepper (a key file outside the database) a stolen database cannot be
/// joined to tokens, and without the consortium salt (which the daemon never holds) tokens
/// cannot be joined to e-mail addresses. A person key never appears in a response, export,
/// log line or error message.
public struct PersonKey: Hashable, Sendable {
    /// The 32 bytes of the HMAC.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == PersonKey.byteCount, "a person key is 32 bytes")
        self.bytes = bytes
    }

    public static let byteCount = 32
}

extension PersonKey: CustomStringConvertible {
    /// Redacted on purpose so that a person key can never reach a log by string interpolation.
    public var description: String { "PersonKey(redacted)" }
}

/// Turns an uploaded token into a ``PersonKey`` with the server pepper.
///
/// Keyed once and copied per token. The per-token HMAC is computed from the two SHA-256 states
/// that absorbed the padded pepper (RFC 2104: H(K ^ opad || H(K ^ ipad || message))), fed
/// through `SHA256.update(bufferPointer:)`: swift-crypto's `HMAC.update(data:)` is generic over
/// `DataProtocol` and spent more time walking its regions than hashing (per line, on the ingest
/// path). A test holds the result equal to `HMAC<SHA256>` for keys and messages of every length.
public struct PersonKeyDeriver: Sendable {
    private let keyed: HMAC<SHA256>
    /// SHA-256 after absorbing the key XOR ipad (0x36), and after the key XOR opad (0x5c).
    private let innerStart: SHA256
    private let outerStart: SHA256

    public init(pepper: SymmetricKey) {
        self.keyed = HMAC<SHA256>(key: pepper)
        // RFC 2104: a key longer than the block is hashed first; then it is zero-padded to a block.
        var block = pepper.withUnsafeBytes { Array($0) }
        if block.count > SHA256.blockByteCount { block = Array(SHA256.hash(data: block)) }
        block += [UInt8](repeating: 0, count: SHA256.blockByteCount - block.count)
        var inner = SHA256()
        var outer = SHA256()
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.update(bufferPointer: $0) }
        block.map { $0 ^ 0x5c }.withUnsafeBytes { outer.update(bufferPointer: $0) }
        innerStart = inner
        outerStart = outer
    }

    /// Derives the key for `token` (32 bytes) issued under salt key id `kid` (1 to 64 ASCII
    /// bytes), writing the 32 key bytes to `output`. Different kids never produce the same key
    /// for the same token, because the kid is part of the HMAC input and the token has a fixed
    /// length, so `kid || token` is unambiguous.
    public func derive(
        kid: UnsafeRawBufferPointer,
        token: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) {
        var inner = innerStart
        inner.update(bufferPointer: kid)
        inner.update(bufferPointer: token)
        var outer = outerStart
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        outer.finalize().withUnsafeBytes { output.copyMemory(from: $0) }
    }

    /// Convenience form for tests and the admin CLI.
    public func personKey(kid: String, token: [UInt8]) -> PersonKey {
        var kidBytes = Array(kid.utf8)
        var output = [UInt8](repeating: 0, count: PersonKey.byteCount)
        kidBytes.withUnsafeMutableBytes { kidBuffer in
            token.withUnsafeBytes { tokenBuffer in
                output.withUnsafeMutableBytes { derive(kid: UnsafeRawBufferPointer(kidBuffer), token: tokenBuffer, into: $0) }
            }
        }
        return PersonKey(bytes: output)
    }

    /// The pseudonymizer for audit records, keyed by a key derived from the pepper for this
    /// one use (domain separation: it is never a person key).
    public var auditPseudonymizer: AuditPseudonymizer {
        var hmac = keyed
        hmac.update(data: Array("clearinghouse.audit.pseudonym.v1".utf8))
        return AuditPseudonymizer(derivedKey: SymmetricKey(data: Array(hmac.finalize())))
    }

    /// A key derived from the pepper for one named use (`purpose`, a fixed label such as
    /// `portal.signin.v1`), shared by every daemon on the database because they share the pepper.
    public func subkey(purpose: String) -> SymmetricKey {
        var hmac = keyed
        hmac.update(data: Array("clearinghouse.\(purpose)".utf8))
        return SymmetricKey(data: Array(hmac.finalize()))
    }

    /// A digest of the pepper that the database stores, so that the daemon refuses to start
    /// with a pepper file that does not belong to the database (every match would silently fail).
    public var fingerprint: String {
        var hmac = keyed
        hmac.update(data: Array("clearinghouse.pepper.fingerprint.v1".utf8))
        return Hex.encode(hmac.finalize())
    }
}
