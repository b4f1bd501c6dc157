import ClearinghouseCore
import ClearinghousePostgres
import Foundation

/// Which database the daemon and the admin commands use (`storage.*` settings).
public struct StorageSettings: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        /// The embedded SQLite file in `data_dir` (the default).
        case sqlite
        case postgres(PostgresLocation)
    }

    public var backend: Backend
    /// A file holding the PostgreSQL password (mode 0600), when `CLEARINGHOUSE_STORAGE_PASSWORD` is not set.
    public var passwordFile: String?
    /// The CA certificate (PEM) that signed the server's certificate, for `sslmode=verify-full`.
    public var caFile: String?

    public init(backend: Backend = .sqlite, passwordFile: String? = nil, caFile: String? = nil) {
        self.backend = backend
        self.passwordFile = passwordFile
        self.caFile = caFile
    }

    /// The settings from `storage.url`, `storage.password_file` and `storage.ca_file`.
    public static func parse(url: String, passwordFile: String, caFile: String) -> Result<StorageSettings, PostgresSettingProblem> {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        let passwordFile = passwordFile.isEmpty ? nil : passwordFile
        let caFile = caFile.isEmpty ? nil : caFile
        if trimmed.isEmpty || trimmed == "sqlite:" {
            return .success(StorageSettings(backend: .sqlite, passwordFile: passwordFile, caFile: caFile))
        }
        return PostgresLocation.parse(trimmed).map {
            StorageSettings(backend: .postgres($0), passwordFile: passwordFile, caFile: caFile)
        }
    }

    /// The environment variable that holds the PostgreSQL password.
    public static let passwordVariable = "CLEARINGHOUSE_STORAGE_PASSWORD"

    /// The password: from the environment, else from the password file (refused unless only
    /// its owner can read it), else none (a server that trusts the connection).
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let value = environment[Self.passwordVariable], !value.isEmpty { return value }
        guard let passwordFile else { return nil }
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: passwordFile)
        } catch {
            throw PostgresSettingProblem(message: "setting 'storage.password_file': cannot read \(passwordFile); check the path and its owner")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value ?? 0
        guard mode & 0o077 == 0 else {
            throw PostgresSettingProblem(
                message: "setting 'storage.password_file': \(passwordFile) has mode \(String(mode, radix: 8)); run `chmod 600 \(passwordFile)`")
        }
        guard let data = FileManager.default.contents(atPath: passwordFile) else {
            throw PostgresSettingProblem(message: "setting 'storage.password_file': cannot read \(passwordFile); check its owner")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }
}
