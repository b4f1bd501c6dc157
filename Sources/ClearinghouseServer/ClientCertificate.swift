import NIOCore
import NIOSSL
import X509

/// Who a mutual-TLS client certificate says the client is: the subject's common name, which
/// `scripts/make-certs` sets to the partner id (as Kubernetes maps CN to a user name).
///
/// The TLS handshake has already checked that the certificate chains to `tls.client_ca_file`;
/// this only reads the name, so ``PartnerAuthenticator`` can match it against the API key.
enum ClientCertificate {
    /// The common name of the peer's certificate on `channel`, or `nil` when it presented none.
    static func commonName(on channel: any Channel) async throws -> String? {
        guard let peer = try await channel.nioSSL_peerCertificate().get() else { return nil }
        let certificate = try Certificate(derEncoded: try peer.toDERBytes())
        // The most significant (last) common name counts, as in TLS name checks.
        for relativeName in certificate.subject.reversed() {
            for attribute in relativeName where attribute.type == .RDNAttributeType.commonName {
                return String(attribute.value)
            }
        }
        return nil
    }
}
