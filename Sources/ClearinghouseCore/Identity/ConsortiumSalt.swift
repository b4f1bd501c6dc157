import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The consortium salt: the secret the partners share among themselves to turn identifiers into tokens.
///
/// The daemon never needs it (it only ever sees tokens); `clearinghouse salt new` makes one for
/// the partners, and `clearinghouse token` and the upload client read it. The file is JSON so
/// that the key id travels with the key, and is created 0600 with `O_EXCL` so it is never
/// readable by others, even for a moment, and never overwrites an existing salt.
public struct ConsortiumSalt: Sendable {
    /// The salt's key id: uploads carry it as `kid`; tokens of different kids never match.
    public let kid: String
    let key: SymmetricKey
    /// When the salt was made, RFC 3339.
    public let createdAt: String

    public static let byteCount = 32
    public static let format = "clearinghouse-salt-v1"

    public init(kid: String, bytes: [UInt8], createdAt: String) throws(Failure) {
        guard Self.isValidKid(kid) else { throw .badKid }
        guard bytes.count == Self.byteCount else { throw .malformed(path: "", reason: "the salt is not 32 bytes") }
        self.kid = kid
        self.key = SymmetricKey(data: bytes)
        self.createdAt = createdAt
    }

    /// The token of an already normalized identifier: hex(HMAC-SHA256(salt, UTF-8 bytes)).
    public func token(normalized: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(normalized.utf8), using: key))
    }

    /// Normalizes `identifier` with `profile`, then hashes it; invalid input is never hashed.
    public func token(for identifier: String, profile: NormalizationProfile) -> Result<String, NormalizationFailure> {
        profile.normalize(identifier).map { token(normalized: $0) }
    }

    /// Kids are 1 to 64 characters of `A-Z a-z 0-9 . _ -`, as the ingest API requires.
    public static func isValidKid(_ kid: String) -> Bool {
        (1...64).contains(kid.utf8.count)
            && kid.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    return true
                default: return false
                }
            }
    }

    /// Errors of making or reading a salt file, each saying what to do.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case badKid
        case exists(path: String)
        case cannotCreate(path: String, errno: Int32)
        case unreadable(path: String, errno: Int32)
        case tooOpen(path: String, mode: UInt32)
        case malformed(path: String, reason: String)

        public var description: String {
            switch self {
            case .badKid:
                return "the kid must be 1 to 64 characters of A-Z a-z 0-9 . _ - (such as 2026-q4)"
            case .exists(let path):
                return "\(path) already exists; a salt is never overwritten (tokens made with it would stop matching): choose another path"
            case .cannotCreate(let path, let code):
                return "cannot create the salt file \(path): \(String(cString: strerror(code)))"
            case .unreadable(let path, let code):
                return "cannot read the salt file \(path): \(String(cString: strerror(code)))"
            case .tooOpen(let path, let mode):
                return "the salt file \(path) has mode \(String(mode, radix: 8)); run `chmod 600 \(path)` so only its owner can read it"
            case .malformed(let path, let reason):
                return "the salt file \(path) is not a clearinghouse salt file: \(reason)"
            }
        }
    }

    /// Makes a new random salt and writes it to `path` (mode 0600, never overwriting).
    public static func create(kid: String, at path: String, now: Int64 = WallClock.nowMilliseconds()) throws(Failure) -> ConsortiumSalt {
        let salt = try ConsortiumSalt(kid: kid, bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }, createdAt: RFC3339.format(milliseconds: now))
        let document = "{\"format\":\"\(format)\",\"kid\":\"\(kid)\",\"salt\":\"\(salt.key.withUnsafeBytes { Hex.encode($0) })\",\"created_at\":\"\(salt.createdAt)\"}\n"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw errno == EEXIST ? .exists(path: path) : .cannotCreate(path: path, errno: errno)
        }
        let bytes = Array(document.utf8)
        let written = write(descriptor, bytes, bytes.count)
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else {
            let code = errno
            unlink(path)
            throw .cannotCreate(path: path, errno: code)
        }
        return salt
    }

    /// Reads a salt file, refusing one that others may read.
    public static func load(at path: String) throws(Failure) -> ConsortiumSalt {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, errno: errno) }
        let mode = UInt32(info.st_mode) & 0o777
        guard mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: mode) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path, errno: EIO) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .malformed(path: path, reason: "it is not a JSON object")
        }
        guard object["format"] as? String == format else {
            throw .malformed(path: path, reason: "its format is not \(format)")
        }
        guard let kid = object["kid"] as? String, isValidKid(kid) else {
            throw .malformed(path: path, reason: "its kid is missing or not 1-64 of A-Z a-z 0-9 . _ -")
        }
        guard let hex = object["salt"] as? String, let bytes = Hex.decode(hex), bytes.count == byteCount else {
            throw .malformed(path: path, reason: "its salt is not 64 hexadecimal characters")
        }
        return try ConsortiumSalt(kid: kid, bytes: bytes, createdAt: object["created_at"] as? String ?? "")
    }
}
