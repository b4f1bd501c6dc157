import Foundation

/// Where a PostgreSQL database is, from `storage.url`: `postgres://USER@HOST:PORT/DB?sslmode=MODE`.
///
/// The password never travels in the URL (URLs end up in logs, process lists and shell
/// history): it comes from `CLEARINGHOUSE_STORAGE_PASSWORD` or `storage.password_file`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is protected; the libpq names, of which these three are accepted.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP: for a server on the same host or a private link only.
        case disable
        /// TLS, without checking the server's certificate (protects against eavesdropping only).
        case require
        /// TLS with the server's certificate checked against `storage.ca_file` and its host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode

    public init(user: String, host: String, port: Int = 5432, database: String, sslMode: SSLMode) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
    }

    /// The URL without secrets, for logs and messages.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)" }

    /// Parses `storage.url`; the error says what is wrong and what to write instead.
    public static func parse(_ text: String) -> Result<PostgresLocation, PostgresSettingProblem> {
        func problem(_ message: String) -> Result<PostgresLocation, PostgresSettingProblem> {
            .failure(PostgresSettingProblem(message: "setting 'storage.url': \(message); expected postgres://USER@HOST:PORT/DATABASE?sslmode=disable|require|verify-full"))
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else { return problem("not a postgres:// URL") }
        guard components.password == nil else {
            return problem("holds a password; put it in CLEARINGHOUSE_STORAGE_PASSWORD or storage.password_file instead")
        }
        guard let user = components.user, !user.isEmpty else { return problem("names no user") }
        guard let host = components.host, !host.isEmpty else { return problem("names no host") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { return problem("names no database") }
        var sslMode = SSLMode.verifyFull
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else { return problem("has an unknown parameter '\(item.name)'") }
            guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                return problem("sslmode must be disable, require or verify-full")
            }
            sslMode = mode
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { return problem("port must be from 1 to 65535") }
        return .success(PostgresLocation(user: user, host: host, port: port, database: database, sslMode: sslMode))
    }
}

/// A PostgreSQL setting that cannot be used, with what to do.
public struct PostgresSettingProblem: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}
