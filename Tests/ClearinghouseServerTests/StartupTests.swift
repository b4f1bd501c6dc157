import Foundation
import Testing

/// A daemon that cannot start stops at once with what to do, before it touches the database or
/// starts its scheduled services.
@Suite("Start-up failures")
struct StartupTests {
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "clearinghouse-startup-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a second daemon on the same SQLite data folder is refused, naming the first one's pid")
    func secondDaemonOnOneFolder() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await DaemonProcess.start(dataDirectory: directory)
        let second = try await ChildProcess.run(
            DaemonProcess.binary, ["serve", "--data-dir", directory, "--port", "0", "--metrics-port", "0"])
        let errors = String(decoding: second.stderr, as: UTF8.self)
        #expect(second.status != 0)
        #expect(errors.contains("another clearinghouse serve (pid \(first.process.processIdentifier)) already runs on the data folder"))
        try await first.terminate()
        // Once the first has stopped, the folder is free again.
        let third = try await DaemonProcess.start(dataDirectory: directory)
        try await third.terminate()
    }

    @Test("a port in use stops the daemon naming the setting and the flag, before any scheduled service runs")
    func portInUse() async throws {
        let (one, two) = (try Self.folder(), try Self.folder())
        defer { for path in [one, two] { try? FileManager.default.removeItem(atPath: path) } }
        let holder = try await DaemonProcess.start(dataDirectory: one)
        let refused = try await ChildProcess.run(
            DaemonProcess.binary,
            ["serve", "--data-dir", two, "--port", "\(holder.port)", "--metrics-port", "0", "--log-level", "info"],
            environment: ["CLEARINGHOUSE_RELEASE_EVERY": "1h", "CLEARINGHOUSE_RETENTION_EVERY": "1h"])
        let errors = String(decoding: refused.stderr, as: UTF8.self)
        #expect(refused.status != 0)
        #expect(errors.contains("port \(holder.port) on 127.0.0.1 is already in use (setting server.port, flag --port)"))
        #expect(!errors.contains("bind(descriptor"), "not NIO's raw error")
        #expect(!FileManager.default.fileExists(atPath: two + "/clearinghouse.sqlite"), "the database is not touched")
        // The metrics port likewise.
        let metrics = try await ChildProcess.run(
            DaemonProcess.binary, ["serve", "--data-dir", two, "--port", "0", "--metrics-port", "\(holder.port)"])
        #expect(metrics.status != 0)
        #expect(String(decoding: metrics.stderr, as: UTF8.self).contains("(setting metrics.port, flag --metrics-port)"))
        // A host name the check cannot bind: the real bind fails, and the scheduled services,
        // held until the listener is bound, have not run (no lease taken, nothing purged).
        let named = try await ChildProcess.run(
            DaemonProcess.binary,
            ["serve", "--data-dir", two, "--host", "localhost", "--port", "\(holder.port)", "--metrics-port", "0", "--log-level", "debug"],
            environment: ["CLEARINGHOUSE_RETENTION_EVERY": "1h"])
        let namedErrors = String(decoding: named.stderr, as: UTF8.self)
        #expect(named.status != 0)
        #expect(namedErrors.contains("a port is already in use on localhost: server.port \(holder.port) (flag --port)"))
        #expect(!namedErrors.contains("scheduler lease taken"), "the scheduled services did not start")
        try await holder.terminate()
    }
}
