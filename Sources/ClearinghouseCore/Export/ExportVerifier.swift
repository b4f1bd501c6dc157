import Crypto
import Foundation

/// Checks an export folder: the manifest's Ed25519 signature against a trusted public key, then
/// every listed file's size and SHA-256, and that the folder holds nothing else.
///
/// Partners run it (or its few lines of Python in docs/operations.md) before loading an export; any
/// changed, missing or added byte makes it fail.
public enum ExportVerifier {
    public struct Report: Sendable, Equatable {
        /// Problems found; empty means the folder is exactly what the daemon signed.
        public var problems: [String]
        public var payload: ExportPayload?
        public var ok: Bool { problems.isEmpty }
    }

    public static func verify(folder: String, trustedPublicKey: [UInt8]) -> Report {
        let manifestPath = folder + "/" + ExportManifest.fileName
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            return Report(problems: ["\(manifestPath) is missing or unreadable"], payload: nil)
        }
        guard let manifest = try? JSONDecoder().decode(ExportManifest.self, from: data) else {
            return Report(problems: ["\(manifestPath) is not an export manifest"], payload: nil)
        }
        // The manifest is written in one canonical layout; any other byte (even whitespace a
        // JSON parser would skip) is a change.
        guard (try? manifest.encoded()) == Array(data) else {
            return Report(problems: ["\(manifestPath) was changed: its bytes are not the ones the daemon wrote"], payload: nil)
        }
        guard manifest.signature.algorithm == "ed25519", let signature = Hex.decode(manifest.signature.value),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: trustedPublicKey)
        else {
            return Report(problems: ["the manifest's signature is not an Ed25519 signature, or the trusted key is not an Ed25519 public key"], payload: nil)
        }
        let trustedID = ExportSigningKey.keyID(publicKey: trustedPublicKey)
        guard manifest.signature.publicKey == Hex.encode(trustedPublicKey), manifest.signature.keyID == trustedID else {
            return Report(
                problems: ["the manifest names key \(manifest.signature.keyID.prefix(16)), not the trusted key \(trustedID)"], payload: nil)
        }
        guard key.isValidSignature(signature, for: ExportManifest.message(manifest.payload)) else {
            let signer = manifest.signature.keyID
            let trusted = ExportSigningKey.keyID(publicKey: trustedPublicKey)
            return Report(
                problems: [
                    signer == trusted
                        ? "the manifest's signature does not match its contents: the manifest was changed after signing"
                        : "the manifest was signed by key \(signer), not by the trusted key \(trusted)"
                ], payload: nil)
        }
        guard let payload = try? JSONDecoder().decode(ExportPayload.self, from: Data(manifest.payload.utf8)),
            payload.format == ExportManifest.format
        else {
            return Report(problems: ["the signed payload is not a \(ExportManifest.format) payload"], payload: nil)
        }
        var problems: [String] = []
        for file in payload.files {
            guard !file.name.contains("/"), let contents = FileManager.default.contents(atPath: folder + "/" + file.name) else {
                problems.append("\(file.name) is missing")
                continue
            }
            let actual = ExportedFile(name: file.name, contents: Array(contents))
            if actual.bytes != file.bytes {
                problems.append("\(file.name) has \(actual.bytes) bytes, the manifest says \(file.bytes)")
            } else if actual.sha256 != file.sha256 {
                problems.append("\(file.name) does not match its SHA-256 in the manifest")
            }
        }
        let listed = Set(payload.files.map(\.name) + [ExportManifest.fileName])
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() where !listed.contains(name) {
            problems.append("\(name) is not in the manifest")
        }
        return Report(problems: problems, payload: payload)
    }
}
