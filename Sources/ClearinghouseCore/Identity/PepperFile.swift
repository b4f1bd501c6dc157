import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server pepper: 32 random bytes in a key file (mode 0600) next to, never inside, the database.
///
/// Created on first start with `O_CREAT | O_EXCL` and mode 0600 so that there is no moment in
/// which another user could read it, and refused on load when its mode lets anyone but the
/// owner read it or when its length is wrong.
public enum PepperFile {
    public static let byteCount = 32

    /// Errors that stop the daemon from starting, each saying what to do.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, errno: Int32)
        case wrongLength(path: String, length: Int)
        case tooOpen(path: String, mode: UInt32)
        case cannotCreate(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .unreadable(let path, let code):
                return "cannot read the pepper file \(path): \(String(cString: strerror(code))); check its owner and mode (0600)"
            case .wrongLength(let path, let length):
                return "the pepper file \(path) holds \(length) bytes, expected \(PepperFile.byteCount); restore it from backup (a new pepper unlinks every stored person)"
            case .tooOpen(let path, let mode):
                return "the pepper file \(path) has mode \(String(mode, radix: 8)); run `chmod 600 \(path)` so only its owner can read it"
            case .cannotCreate(let path, let code):
                return "cannot create the pepper file \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Loads the pepper at `path`, creating it with fresh random bytes if it does not exist.
    /// Returns the key and whether it was created now.
    public static func loadOrCreate(at path: String) throws(Failure) -> (key: SymmetricKey, created: Bool) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            let key = SymmetricKey(size: .bits256)
            let written = key.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            let synced = fsync(descriptor)
            close(descriptor)
            guard written == byteCount, synced == 0 else {
                let code = errno
                unlink(path)
                throw .cannotCreate(path: path, errno: code)
            }
            return (key, true)
        }
        guard errno == EEXIST else { throw .cannotCreate(path: path, errno: errno) }
        return (try load(at: path), false)
    }

    /// Loads an existing pepper file, checking its mode and length.
    public static func load(at path: String) throws(Failure) -> SymmetricKey {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, errno: errno) }
        let mode = UInt32(info.st_mode) & 0o777
        guard mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: mode) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path: path, errno: errno) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: byteCount + 1)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw .unreadable(path: path, errno: errno) }
        guard count == byteCount else { throw .wrongLength(path: path, length: count) }
        return SymmetricKey(data: bytes[0..<byteCount])
    }
}
