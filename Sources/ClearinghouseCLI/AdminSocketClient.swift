import ClearinghouseCore
import ClearinghouseServer
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Asks the daemon running on the same data folder over its admin socket (``AdminSocket``).
///
/// A plain HTTP/1.1 request on a Unix socket, answered and closed: no daemon (no socket, or
/// nobody listening) is `nil`, and the command does the work itself.
enum AdminSocketClient {
    struct Answer {
        var status: Int
        var body: Data
    }

    /// Why the daemon's answer could not be read.
    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    /// Posts to `path` on the daemon's socket; `nil` when no daemon listens there.
    static func post(_ target: String, dataDirectory: String) throws -> Answer? {
        guard let socketPath = AdminSocket.path(dataDirectory: dataDirectory), FileManager.default.fileExists(atPath: socketPath)
        else { return nil }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        // A socket file that nobody listens on: a daemon that stopped without removing it.
        guard connected == 0 else { return nil }
        // A release takes seconds (building the copy, at most tens of seconds on 30 million
        // signals); a daemon that says nothing for this long is stuck, not busy.
        var timeout = timeval(tv_sec: Self.answerSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("POST /\(target) HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let written = request[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw Unreadable(description: "the daemon's admin socket closed before the request was sent") }
            sent += written
        }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                throw Unreadable(
                    description: "the daemon did not answer within \(Self.answerSeconds) s; it may still store the release: "
                        + "check `clearinghouse release list` before asking again")
            }
            guard count > 0 else { break }
            response.append(contentsOf: buffer[0..<count])
        }
        return try parse(response)
    }

    /// How long the command waits for the daemon's answer.
    static let answerSeconds = 600

    private static func parse(_ response: Data) throws -> Answer {
        guard let end = response.range(of: Data("\r\n\r\n".utf8)),
            let head = String(data: response[..<end.lowerBound], encoding: .utf8)
        else {
            throw Unreadable(
                description: "the daemon's answer was cut off or is not HTTP; check `clearinghouse release list` before asking again")
        }
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw Unreadable(description: "the daemon's admin socket answered without a status line")
        }
        return Answer(status: status, body: Data(response[end.upperBound...]))
    }
}
