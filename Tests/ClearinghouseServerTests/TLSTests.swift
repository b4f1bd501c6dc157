import ClearinghouseCLI
import ClearinghouseServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOSSL
import Testing

/// HTTPS and mutual TLS on a real loopback socket, with certificates minted by
/// `scripts/make-certs` (the openssl tool), as an operator would.
@Suite("TLS and mutual TLS")
struct TLSTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A development PKI for acme and globex in a temporary directory.
    struct PKI {
        let directory: String
        var ca: String { directory + "/ca.pem" }
        var serverCertificate: String { directory + "/server.pem" }
        var serverKey: String { directory + "/server.key" }
        func certificate(_ partner: String) -> String { directory + "/partners/\(partner).pem" }
        func key(_ partner: String) -> String { directory + "/partners/\(partner).key" }

        static func make() async throws -> PKI {
            let directory = NSTemporaryDirectory() + "clearinghouse-pki-" + UUID().uuidString
            let result = try await ChildProcess.run(
                "/bin/bash", [root.appendingPathComponent("scripts/make-certs").path, "--out", directory, "acme", "globex"])
            #expect(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
            return PKI(directory: directory)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }

        /// A client that trusts the development CA, presenting `partner`'s certificate if given.
        func client(port: Int, presenting partner: String?) throws -> TestClient {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(ca)
            if let partner {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate(partner)).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key(partner), format: .pem))
            }
            let client = TestClient(
                host: "localhost", port: port, configuration: .init(tlsConfiguration: configuration, timeout: .seconds(10), serverName: "localhost"))
            client.connect()
            return client
        }
    }

    static func releases(_ client: TestClient, key: String) async throws -> TestClient.Response {
        try await client.execute(.init("/v1/releases", method: .get, authority: "localhost", headers: [.authorization: "Bearer \(key)"]))
    }

    @Test("mutual TLS: the certificate must name the key's partner; no certificate, no connection; plain HTTP is refused")
    func mutualTLS() async throws {
        let pki = try await PKI.make()
        defer { pki.remove() }
        let tls = TLSSettings(certificateFile: pki.serverCertificate, keyFile: pki.serverKey, clientCAFile: pki.ca)
        try await TestDaemon.run(tls: tls) { plain, daemon in
            let port = try #require(plain.port)

            let acme = try pki.client(port: port, presenting: "acme")
            let own = try await Self.releases(acme, key: daemon.keys["acme"]!)
            #expect(own.status == .ok)
            // acme's certificate with globex's key: refused, and counted as a failed authentication.
            let crossed = try await Self.releases(acme, key: daemon.keys["globex"]!)
            #expect(crossed.status == .forbidden)
            #expect(String(buffer: crossed.body ?? ByteBuffer()).contains("client_certificate_mismatch"))
            // A write is refused the same way, before its body is stored.
            let body = Lines.body([Lines.consent("tls-person")])
            let write = try await acme.execute(
                .init(
                    "/v1/consents", method: .post, authority: "localhost",
                    headers: [.authorization: "Bearer \(daemon.keys["globex"]!)", .contentType: "application/x-ndjson"],
                    body: ByteBuffer(string: body)))
            #expect(write.status == .forbidden)
            #expect(try daemon.count("SELECT COUNT(*) FROM consent") == 0)
            try await acme.shutdown()

            let globex = try pki.client(port: port, presenting: "globex")
            #expect(try await Self.releases(globex, key: daemon.keys["globex"]!).status == .ok)
            try await globex.shutdown()

            // No client certificate: the handshake is refused, no HTTP answer at all.
            let anonymous = try pki.client(port: port, presenting: nil)
            await #expect(throws: (any Error).self) { _ = try await Self.releases(anonymous, key: daemon.keys["acme"]!) }
            try? await anonymous.shutdown()

            // Plain HTTP on the TLS port gets no HTTP answer either.
            await #expect(throws: (any Error).self) {
                let response = try await plain.execute(uri: "/healthz", method: .get)
                if response.status == .ok { Issue.record("plain HTTP was answered on the TLS port") }
            }
            #expect(daemon.logText.contains("auth.certificate_name"))
            #expect(!daemon.logText.contains(daemon.keys["globex"]!))
        }
    }

    @Test("TLS without client certificates: HTTPS with the API key alone")
    func serverOnlyTLS() async throws {
        let pki = try await PKI.make()
        defer { pki.remove() }
        let tls = TLSSettings(certificateFile: pki.serverCertificate, keyFile: pki.serverKey)
        try await TestDaemon.run(tls: tls) { plain, daemon in
            let client = try pki.client(port: try #require(plain.port), presenting: nil)
            #expect(try await Self.releases(client, key: daemon.keys["acme"]!).status == .ok)
            try await client.shutdown()
        }
    }

    @Test("bad TLS settings stop the daemon at start with the file and what to do")
    func badFiles() async throws {
        let pki = try await PKI.make()
        defer { pki.remove() }
        // A key that does not belong to the certificate.
        let mismatched = TLSSettings(certificateFile: pki.serverCertificate, keyFile: pki.key("acme"))
        #expect(throws: (any Error).self) { try mismatched.serverConfiguration() }
        let missing = TLSSettings(certificateFile: pki.directory + "/nope.pem", keyFile: pki.serverKey)
        let problem = try #require(throws: TLSSettings.Problem.self) { try missing.serverConfiguration() }
        #expect(problem.description.contains("tls.certificate_file"))
        #expect(problem.description.contains("nope.pem"))
        // Half a pair in configuration is refused by the loader, naming the missing setting.
        await #expect {
            _ = try await ConfigurationLoader.load(
                configPath: nil, flags: [:], environment: ["CLEARINGHOUSE_TLS_CERTIFICATE_FILE": pki.serverCertificate])
        } throws: { "\($0)".contains("tls.key_file") }
        await #expect {
            _ = try await ConfigurationLoader.load(
                configPath: nil, flags: [:], environment: ["CLEARINGHOUSE_TLS_CLIENT_CA_FILE": pki.ca])
        } throws: { "\($0)".contains("tls.certificate_file") }
    }
}
