import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon's Ed25519 export key: it signs every export manifest so partners can trust files
/// that reached them through shared folders, SFTP or e-mail.
///
/// Kept beside the pepper in the data directory (`export.key`, 32 bytes, mode 0600, created on
/// first use with `O_EXCL`). The public key is not secret: the operator publishes it
/// (`clearinghouse export public-key`), and partners verify against that copy, never against
/// the key an export carries.
public struct ExportSigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    public init(rawRepresentation: [UInt8]) throws {
        key = try Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation)
    }

    init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// The public key, hex (64 characters).
    public var publicKeyHex: String { Hex.encode(key.publicKey.rawRepresentation) }

    /// A short, stable name of the public key: the first 16 hex digits of its SHA-256.
    public var keyID: String { Self.keyID(publicKey: Array(key.publicKey.rawRepresentation)) }

    public static func keyID(publicKey: [UInt8]) -> String {
        String(Hex.encode(SHA256.hash(data: publicKey)).prefix(16))
    }

    public func signature(for message: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: message))
    }

    /// Loads the key at `path`, creating it if it does not exist; refuses one others may read.
    public static func loadOrCreate(at path: String) throws -> ExportSigningKey {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            let key = Curve25519.Signing.PrivateKey()
            let bytes = Array(key.rawRepresentation)
            let written = write(descriptor, bytes, bytes.count)
            let synced = fsync(descriptor)
            close(descriptor)
            guard written == bytes.count, synced == 0 else {
                unlink(path)
                throw ExportError.keyFile("cannot write the export key \(path)")
            }
            return ExportSigningKey(key: key)
        }
        guard errno == EEXIST else { throw ExportError.keyFile("cannot create the export key \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        guard stat(path, &info) == 0 else { throw ExportError.keyFile("cannot read the export key \(path)") }
        let mode = UInt32(info.st_mode) & 0o777
        guard mode & 0o077 == 0 else {
            throw ExportError.keyFile("the export key \(path) has mode \(String(mode, radix: 8)); run `chmod 600 \(path)`")
        }
        guard let data = FileManager.default.contents(atPath: path), data.count == 32 else {
            throw ExportError.keyFile("the export key \(path) is not 32 bytes; restore it from backup or move it away to make a new one")
        }
        return try ExportSigningKey(rawRepresentation: Array(data))
    }
}
