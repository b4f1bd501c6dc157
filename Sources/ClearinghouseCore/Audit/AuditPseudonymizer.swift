import Crypto

/// A keyed pseudonym of a person key, for audit records that must name a person after the
/// person key itself is erased (a revocation record, so an audit can prove the erasure held).
///
/// Keyed by a key derived from the pepper, so only the daemon (and the operator's CLI on the
/// same host) can recompute it; it cannot be joined to a token, nor to a person key without
/// the pepper.
public struct AuditPseudonymizer: Sendable {
    private let keyed: HMAC<SHA256>

    init(derivedKey: SymmetricKey) {
        keyed = HMAC<SHA256>(key: derivedKey)
    }

    public func pseudonym(of personKey: UnsafeRawBufferPointer) -> [UInt8] {
        var hmac = keyed
        hmac.update(data: personKey)
        return Array(hmac.finalize())
    }

    public func pseudonym(of personKey: [UInt8]) -> [UInt8] {
        personKey.withUnsafeBytes { pseudonym(of: $0) }
    }
}
