import ClearinghouseCore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The daemon's local admin socket, `admin.sock` in the data folder: a Unix domain socket that
/// only the data folder's owner can reach (the folder is 0700, the socket 0600), never a
/// network port.
///
/// `clearinghouse release now` asks the running daemon through it, so a release made from the
/// command line counts the daemon's columnar copy (already built, kept true) instead of
/// scanning the database in a second process, and the answer is the same either way (the
/// oracle tests hold the engines equal). Without a daemon the command scans.
public enum AdminSocket {
    /// Unix socket paths are limited (108 bytes on Linux, with the terminating zero).
    static let maximumPathBytes = 100

    /// The socket's path for a data folder, or `nil` when that path is too long for a socket.
    public static func path(dataDirectory: String) -> String? {
        let path = (dataDirectory as NSString).appendingPathComponent("admin.sock")
        return path.utf8.count <= maximumPathBytes ? path : nil
    }

    /// A failed release as the socket answers it: the message the command prints.
    public struct Failure: Codable, Sendable {
        public var error: String
        /// `budget_exhausted`, `invalid_settings` or `failed`.
        public var code: String
    }

    /// The admin listener, run beside the API listener (none when the path is too long).
    static func services(_ runtime: DaemonRuntime, logger: Logger) -> [any Service] {
        guard let path = path(dataDirectory: runtime.settings.dataDirectory) else {
            logger.notice(
                "the data folder's path is too long for the admin socket; release now scans instead of asking the daemon",
                metadata: ["data_dir": "\(runtime.settings.dataDirectory)"])
            return []
        }
        // Whoever can open the socket can spend privacy budget: only with a data folder that
        // no one but its owner can enter (0700, as the daemon creates it).
        let mode = (try? FileManager.default.attributesOfItem(atPath: runtime.settings.dataDirectory)[.posixPermissions] as? Int) ?? 0o777
        guard mode & 0o077 == 0 else {
            logger.warning(
                "the data folder is open to other users (mode \(String(mode, radix: 8))); no admin socket: chmod 700 it",
                metadata: ["data_dir": "\(runtime.settings.dataDirectory)"])
            return []
        }
        // One daemon per data folder (DataFolderLock on SQLite): a socket file left here is
        // from a daemon that has stopped.
        unlink(path)
        let service = runtime.settings.releaseService(store: runtime.store)
        let router = Router()
        router.post("release") { _, _ -> Response in
            do {
                let record = try await service.releaseNow(trigger: "cli", at: runtime.clock())
                return try JSONBody.response(record)
            } catch let error as ReleaseError {
                let code: String
                switch error {
                case .budgetExhausted: code = "budget_exhausted"
                case .invalidSettings: code = "invalid_settings"
                }
                return try JSONBody.response(Failure(error: error.description, code: code), status: .conflict)
            } catch {
                logger.error("release asked over the admin socket failed", metadata: ["error.type": "\(type(of: error))"])
                return try JSONBody.response(
                    Failure(error: "the daemon could not compute the release (\(type(of: error))); its log says more", code: "failed"),
                    status: .internalServerError)
            }
        }
        let application = Application(
            router: router,
            configuration: .init(address: .unixDomainSocket(path: path), serverName: "clearinghouse-admin"),
            onServerRunning: { _ in
                chmod(path, 0o600)
                logger.info("admin socket listening", metadata: ["admin.socket": "\(path)"])
            },
            logger: logger)
        return [application]
    }
}
