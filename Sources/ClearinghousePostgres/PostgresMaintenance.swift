import Logging
import PostgresNIO

/// One-off statements on a server's maintenance database (CREATE or DROP DATABASE), for the
/// tests, the benchmarks and `storage copy`, which need a database that does not exist yet.
public enum PostgresMaintenance {
    /// Runs `statement` (no binds) on `location`'s database with a client of its own.
    public static func execute(_ statement: String, on location: PostgresLocation, password: String?) async throws {
        let configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: try PostgresStore.tlsConfiguration(location, caFile: nil).map { .require($0) } ?? .disable)
        let client = PostgresClient(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: statement))
        }
    }
}
