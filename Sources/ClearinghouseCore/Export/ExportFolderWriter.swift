import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Publishes one partner's export folder atomically: `OUT/PARTNER/release-ID/`, then `latest`.
///
/// Files are written and fsynced into a hidden `.release-ID.partial-PID` folder beside the
/// final one, the manifest last; the folder is renamed into place in one step and the parent
/// fsynced; then the `latest` symlink is replaced by a rename. A crash at any point leaves
/// either no `release-ID` folder or a complete one; the partial folder of a dead process is
/// removed by the next export.
public enum ExportFolderWriter {
    public enum Outcome: Sendable, Equatable {
        case written(path: String)
        case alreadyExported(path: String)
    }

    public static func publish(
        directory: String, partner: String, releaseID: Int64, files: [(name: String, contents: [UInt8])]
    ) throws -> Outcome {
        let partnerFolder = directory + "/" + partner
        let name = "release-\(releaseID)"
        let final = partnerFolder + "/" + name
        try makeDirectory(directory)
        try makeDirectory(partnerFolder)
        removeAbandonedPartials(in: partnerFolder)
        if FileManager.default.fileExists(atPath: final) { return .alreadyExported(path: final) }

        let partial = partnerFolder + "/.\(name).partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: partial)
        guard mkdir(partial, 0o750) == 0 else { throw failure(partial) }
        do {
            for file in files { try writeDurably(partial + "/" + file.name, file.contents) }
            try syncDirectory(partial)
            guard rename(partial, final) == 0 else {
                if errno == EEXIST || errno == ENOTEMPTY {
                    try? FileManager.default.removeItem(atPath: partial)
                    return .alreadyExported(path: final)
                }
                throw failure(final)
            }
            try syncDirectory(partnerFolder)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        let link = partnerFolder + "/.latest.tmp-\(getpid())"
        unlink(link)
        if symlink(name, link) == 0, rename(link, partnerFolder + "/latest") == 0 {
            try? syncDirectory(partnerFolder)
        } else {
            unlink(link)
        }
        return .written(path: final)
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o750) != 0 && errno != EEXIST { throw failure(path) }
    }

    static func writeDurably(_ path: String, _ contents: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw failure(path) }
        defer { close(descriptor) }
        var offset = 0
        while offset < contents.count {
            let written = contents[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw failure(path) }
            offset += written
        }
        guard fsync(descriptor) == 0 else { throw failure(path) }
    }

    static func syncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure(path) }
    }

    /// Removes `.release-*.partial-PID` folders whose process is gone (crashed exports).
    static func removeAbandonedPartials(in folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(".release-") || name.hasPrefix(".latest.tmp-") {
            guard let dash = name.lastIndex(of: "-"), let pid = Int32(name[name.index(after: dash)...]) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: folder + "/" + name)
            }
        }
    }

    static func failure(_ path: String) -> ExportError {
        .cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
}
