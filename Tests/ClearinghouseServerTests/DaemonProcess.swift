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
    ///
    /// Only there: a fallback to `.build/debug` could run a binary older than the code under
    /// test (a release-mode test run, another scratch path), and pass or fail for the wrong reason.
    static let binary: String = {
        if let override = ProcessInfo.processInfo.environment["CLEARINGHOUSE_TEST_BINARY"] { return override }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("clearinghouse").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        fatalError(
            "no clearinghouse binary next to the test bundle in \(bundle.path): build both with `swift build --build-tests`"
                + " (or set CLEARINGHOUSE_TEST_BINARY)")
    }()

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
        let portFile = logPath + ".port"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        // The Prometheus listener is off: its default port is fixed, and tests run daemons side by side.
        process.arguments =
            ["serve", "--data-dir", dataDirectory, "--port", "0", "--metrics-port", "0", "--log-level", "info", "--port-file", portFile]
            + extra
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        // The durability tests upload as fast as they can; rate limits have their own tests.
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["CLEARINGHOUSE_LIMITS_WRITE_PER_SECOND": "100000", "CLEARINGHOUSE_LIMITS_WRITE_BURST": "100000"].merging(environment) { $1 }
        ) { $1 }
        try process.run()
        defer { try? FileManager.default.removeItem(atPath: portFile) }
        // `--port-file` is written once the listener is bound; an exit before that is a failure.
        let port = try? await Poll.value("the daemon to listen", within: .seconds(30), every: .milliseconds(20)) { () -> Int? in
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            return process.isRunning ? nil : -1
        }
        if let port, port > 0 { return DaemonProcess(process: process, port: port, logPath: logPath) }
        process.terminate()
        throw DaemonFailedToStart(log: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    struct DaemonFailedToStart: Error, CustomStringConvertible {
        let log: String
        var description: String { "the daemon did not start:\n\(log)" }
    }

    /// SIGKILL: no chance to finish anything.
    func kill9() async throws {
        kill(process.processIdentifier, SIGKILL)
        try await waitForExit()
    }

    /// SIGTERM: graceful shutdown.
    func terminate() async throws {
        kill(process.processIdentifier, SIGTERM)
        try await waitForExit()
    }

    private func waitForExit() async throws {
        try await Poll.until("the daemon (pid \(process.processIdentifier)) to exit", within: .seconds(60), every: .milliseconds(20)) {
            !process.isRunning
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
