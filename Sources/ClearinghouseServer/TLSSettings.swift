import NIOSSL

/// The listener's TLS: partners upload from other companies' networks, so the daemon serves
/// HTTPS from configured certificate and key files, and can demand mutual TLS.
///
/// With `clientCAFile` set, every client must present a certificate signed by that CA, and
/// ``PartnerAuthenticator`` refuses a request whose certificate names another partner than its
/// API key: a stolen key alone, or a stolen certificate alone, is not enough.
public struct TLSSettings: Sendable, Equatable {
    /// PEM certificate chain the daemon presents (leaf first).
    public var certificateFile: String
    /// PEM private key of that certificate.
    public var keyFile: String
    /// PEM CA bundle that signs partners' client certificates; `nil`: no client certificates.
    public var clientCAFile: String?

    public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }

    /// Whether clients must present a certificate naming their partner.
    public var requiresClientCertificate: Bool { clientCAFile != nil }

    /// A problem with the files, saying which and what to do.
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads the files and builds the server configuration: TLS 1.2 at least, and with a client
    /// CA, a client certificate chaining to it is required in the handshake.
    public func serverConfiguration() throws -> TLSConfiguration {
        let chain = try Self.certificates(
            in: certificateFile, setting: "tls.certificate_file", fix: "point it at the server's PEM certificate chain")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw Problem(description: "tls.key_file \(keyFile) could not be read as a PEM private key (\(type(of: error))); point it at the certificate's key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            let roots = try Self.certificates(
                in: clientCAFile, setting: "tls.client_ca_file", fix: "point it at the CA that signs partners' client certificates")
            configuration.trustRoots = .certificates(roots)
            // On a server this requires a client certificate; hostnames are not checked (clients have none).
            configuration.certificateVerification = .noHostnameVerification
        }
        // Fail at start, not at the first handshake, when certificate and key do not belong together.
        _ = try NIOSSLContext(configuration: configuration)
        return configuration
    }

    /// The PEM certificates in `path`, at least one, or a problem naming the setting.
    private static func certificates(in path: String, setting: String, fix: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw Problem(description: "\(setting) \(path) could not be read as PEM certificates (\(error)); \(fix)")
        }
        guard !certificates.isEmpty else { throw Problem(description: "\(setting) \(path) holds no certificate; \(fix)") }
        return certificates
    }
}
