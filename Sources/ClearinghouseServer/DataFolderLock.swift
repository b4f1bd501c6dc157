#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One daemon per SQLite data folder: `serve` holds an exclusive `flock` on `daemon.lock` in the
/// data folder, holding its pid, for as long as it runs.
///
/// SQLite would let a second daemon open the same file, and correctness here rests on one
/// writer per folder (the scheduled release, the retention purge and the spool are not shared
/// between processes). The lock is taken before the database is touched, so the second daemon
/// stops at once, naming the first one's pid. The kernel drops it when the process ends, even
/// by `kill -9`. Daemons on PostgreSQL coordinate through the database instead (the scheduler
/// lease), so they do not take it.
public final class DataFolderLock: Sendable {
    public struct Held: Error, CustomStringConvertible {
        public let folder: String
        public let pid: String

        public var description: String {
            "another clearinghouse serve (pid \(pid)) already runs on the data folder \(folder) (setting data_dir);"
                + " stop it first, or give this one another --data-dir"
        }
    }

    public struct CannotOpen: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot open \(path): \(reason); check the data folder (setting data_dir)" }
    }

    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Takes the lock of `folder` (creating the folder, mode 0700, when it does not exist yet).
    public static func acquire(folder: String) throws -> DataFolderLock {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = folder + "/daemon.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            var bytes = [UInt8](repeating: 0, count: 32)
            let count = read(descriptor, &bytes, bytes.count)
            close(descriptor)
            let pid = String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw Held(folder: folder, pid: pid.isEmpty ? "unknown" : pid)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, text, text.count, 0)
        return DataFolderLock(descriptor: descriptor)
    }

    deinit {
        close(descriptor)
    }
}
