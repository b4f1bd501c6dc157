#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ClearinghouseServer
import Configuration
import Hummingbird
import Logging
import NIOCore

/// `clearinghouse serve`: runs the daemon until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon (creates the data directory, pepper and database on first start).")

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "Address to listen on (default 127.0.0.1; setting server.host).")
    var host: String?

    @Option(name: .long, help: "Port to listen on, 0 for any free port (default 8420; setting server.port).")
    var port: Int?

    @Option(name: .long, help: "Port of the Prometheus listener, 0 to turn it off (default 8421; setting metrics.port).")
    var metricsPort: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (setting log.level).")
    var logLevel: String?

    @Option(name: .long, help: "Write the API port to this file once the API and metrics listeners are bound (for --port 0 under a supervisor).")
    var portFile: String?

    @Option(name: .long, help: "PEM certificate chain to serve HTTPS with (setting tls.certificate_file).")
    var tlsCertificate: String?

    @Option(name: .long, help: "PEM private key of --tls-certificate (setting tls.key_file).")
    var tlsKey: String?

    @Option(name: .long, help: "PEM CA of partners' client certificates; turns on mutual TLS (setting tls.client_ca_file).")
    var tlsClientCa: String?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be from 0 to 65535") }
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be from 0 to 65535") }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var flags: [String: ConfigContent] = [:]
        if let host { flags["server.host"] = .string(host) }
        if let port { flags["server.port"] = .int(port) }
        if let metricsPort { flags["metrics.port"] = .int(metricsPort) }
        if let logLevel { flags["log.level"] = .string(logLevel) }
        if let tlsCertificate { flags["tls.certificate_file"] = .string(tlsCertificate) }
        if let tlsKey { flags["tls.key_file"] = .string(tlsKey) }
        if let tlsClientCa { flags["tls.client_ca_file"] = .string(tlsClientCa) }
        let settings = try await options.settings(extra: flags)
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "clearinghouse")
        logger.logLevel = level
        // Before the database is touched: one daemon per SQLite data folder, and listeners that
        // can bind (each failure names its setting and flag).
        if settings.metricsPort != 0, settings.metricsPort == settings.port, settings.metricsHost == settings.host {
            throw SamePorts(port: settings.port, host: settings.host)
        }
        let lock = settings.storage.backend == .sqlite ? try DataFolderLock.acquire(folder: settings.dataDirectory) : nil
        try ListenAddressCheck.ensureFree(host: settings.host, port: settings.port, setting: "server.port", flag: "--port")
        try ListenAddressCheck.ensureFree(
            host: settings.metricsHost, port: settings.metricsPort, setting: "metrics.port", flag: "--metrics-port")
        FreedMemoryReturn.configure()
        let portFile = self.portFile
        let app = try await buildApplication(settings, logger: logger, metrics: PrometheusExposition.bootstrap()) { [logger] port in
            guard let portFile else { return }
            do {
                // Written whole, then renamed: a reader never sees a partial number.
                try "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
            } catch {
                logger.error("cannot write --port-file", metadata: ["file.path": "\(portFile)", "error": "\(error)"])
            }
        }
        do {
            try await app.runService()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            // A host name the check above could not bind, or a port taken since.
            throw PortTaken(settings: settings)
        }
        withExtendedLifetime(lock) {}
        logger.info("clearinghouse stopped")
    }
}

/// The metrics listener configured on the API's own address.
struct SamePorts: Error, CustomStringConvertible {
    let port: Int
    let host: String

    var description: String {
        "metrics.port and server.port are both \(port) on \(host); give the metrics listener another port (--metrics-port)"
            + " or turn it off with 0"
    }
}

/// A listener's bind failed with EADDRINUSE after the check (which binds literal addresses only).
struct PortTaken: Error, CustomStringConvertible {
    let settings: ServerSettings

    var description: String {
        var ports = "server.port \(settings.port) (flag --port)"
        if settings.metricsPort != 0 { ports += " or metrics.port \(settings.metricsPort) (flag --metrics-port)" }
        return "a port is already in use on \(settings.host): \(ports); stop the process that holds it, or choose another port"
    }
}
