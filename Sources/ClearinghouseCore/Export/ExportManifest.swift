import Crypto
import Foundation

/// `manifest.json` of an export folder: what is in it, from which release, signed.
///
/// Shaped like a DSSE envelope: `payload` is the signed JSON text itself, kept as a string so a
/// verifier checks the signature over those exact bytes and needs no canonical JSON; the
/// payload then lists every file with its SHA-256 and size, the release's parameters and the
/// scoring settings. The signature is Ed25519 over `clearinghouse-export-v1\n` + payload.
public struct ExportManifest: Sendable, Codable, Equatable {
    public static let format = "clearinghouse-export-v1"
    public static let fileName = "manifest.json"

    public var payload: String
    public var signature: ExportSignature

    /// The signed message for `payload`: a domain-separation line, then the payload bytes.
    public static func message(_ payload: String) -> [UInt8] {
        Array("\(format)\n".utf8) + Array(payload.utf8)
    }

    /// Signs `payload` with `key`.
    public static func signed(_ payload: ExportPayload, key: ExportSigningKey) throws -> ExportManifest {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(payload), as: UTF8.self)
        return ExportManifest(
            payload: text,
            signature: ExportSignature(
                algorithm: "ed25519", keyID: key.keyID, publicKey: key.publicKeyHex,
                value: Hex.encode(try key.signature(for: message(text)))))
    }

    /// The manifest file's bytes (pretty, sorted keys, ending in a newline).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
    }
}

/// The Ed25519 signature of a manifest and the key that made it (hex).
public struct ExportSignature: Sendable, Codable, Equatable {
    public var algorithm: String
    public var keyID: String
    public var publicKey: String
    public var value: String

    enum CodingKeys: String, CodingKey {
        case algorithm, value
        case keyID = "key_id"
        case publicKey = "public_key"
    }
}

/// What a manifest signs.
public struct ExportPayload: Sendable, Codable, Equatable {
    public var format: String
    public var partner: String
    public var createdAt: String
    public var release: PublicReleaseInfo
    public var scoring: RecommendationSettings
    public var files: [ExportedFile]

    enum CodingKeys: String, CodingKey {
        case format, partner, release, scoring, files
        case createdAt = "created_at"
    }
}

/// One file of an export, by name, SHA-256 (hex) and size.
public struct ExportedFile: Sendable, Codable, Equatable {
    public var name: String
    public var sha256: String
    public var bytes: Int

    public init(name: String, contents: [UInt8]) {
        self.name = name
        self.sha256 = Hex.encode(SHA256.hash(data: contents))
        self.bytes = contents.count
    }
}
