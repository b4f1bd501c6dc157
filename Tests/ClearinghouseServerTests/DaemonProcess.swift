import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The real `clearinghouse` binary run as a child process, for tests that must kill it.
struct DaemonProcess {
    let process: Process
    let port: Int
    let logPath: String

    /// The binary built next to the test bundle (`swift build --build-tests` builds both).
    static var binary: String {
        if let override = ProcessInfo.processInfo.environment["CLEARINGHOUSE_TEST_BINARY"] { return override }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("clearinghouse").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/clearinghouse").path
    }

    /// Runs an admin command of the binary and returns its standard output.
    static func admin(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
        let result = try await ChildProcess.run(binary, arguments)
        return (result.status, String(decoding: result.stdout, as: UTF8.self), String(decoding: result.stderr, as: UTF8.self))
    }

    /// Starts `clearinghouse serve` on a free port and waits until it listens.
    static func start(
        dataDirectory: String, arguments extra: [String] = [], environment: [String: String] = [:]
    ) async throws -> DaemonProcess {
        let logPath = dataDirectory + "-daemon-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        // The Prometheus listener is off: its default port is fixed, and tests run daemons side by side.
        process.arguments = ["serve", "--data-dir", dataDirectory, "--port", "0", "--metrics-port", "0", "--log-level", "info"] + extra
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        // The durability tests upload as fast as they can; rate limits have their own tests.
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["CLEARINGHOUSE_LIMITS_WRITE_PER_SECOND": "100000", "CLEARINGHOUSE_LIMITS_WRITE_BURST": "100000"].merging(environment) { $1 }
        ) { $1 }
        try process.run()
        for _ in 0..<300 {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = log.range(of: "server.address=127.0.0.1:") {
                let digits = log[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) { return DaemonProcess(process: process, port: port, logPath: logPath) }
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw DaemonFailedToStart(log: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    struct DaemonFailedToStart: Error, CustomStringConvertible {
        let log: String
        var description: String { "the daemon did not start:\n\(log)" }
    }

    /// SIGKILL: no chance to finish anything.
    func kill9() async {
        kill(process.processIdentifier, SIGKILL)
        await waitForExit()
    }

    /// SIGTERM: graceful shutdown.
    func terminate() async {
        kill(process.processIdentifier, SIGTERM)
        await waitForExit()
    }

    private func waitForExit() async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
