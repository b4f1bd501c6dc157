import Crypto
import Foundation

@testable import ClearinghouseCore

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "clearinghouse-core-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func mode(of path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static func chmod(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// Compresses with the system's gzip(1), an implementation independent of the one under test.
/// Files rather than pipes, and the exit awaited through `terminationHandler`, so no thread
/// of the test pool blocks on the child.
func gzip(_ bytes: [UInt8]) async throws -> [UInt8] {
    let base = NSTemporaryDirectory() + "gzip-" + UUID().uuidString
    defer {
        try? FileManager.default.removeItem(atPath: base + ".in")
        try? FileManager.default.removeItem(atPath: base + ".gz")
    }
    try Data(bytes).write(to: URL(fileURLWithPath: base + ".in"))
    _ = FileManager.default.createFile(atPath: base + ".gz", contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-c", "-n", base + ".in"]
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".gz"))
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    guard status == 0 else { throw GzipFailed(status: status) }
    return Array(try Data(contentsOf: URL(fileURLWithPath: base + ".gz")))
}

struct GzipFailed: Error {
    let status: Int32
}

/// Test tokens: hex(HMAC-SHA256(test salt, identifier)), as a partner would make them.
enum TestTokens {
    static let salt = SymmetricKey(data: Array("test-salt".utf8))

    static func bytes(_ identifier: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(identifier.utf8), using: salt))
    }

    static func hex(_ identifier: String) -> String {
        Hex.encode(bytes(identifier))
    }
}
