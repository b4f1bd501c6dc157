#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a listening address is free, checked before anything else starts, so a port in use
/// stops the daemon with the setting and flag to change instead of NIO's raw
/// `bind(descriptor:ptr:bytes:)` error after the other services have started.
///
/// It binds and closes a socket the way the server will (SO_REUSEADDR), for literal IPv4 and
/// IPv6 addresses; a host name or port 0 is left to the server's own bind.
public enum ListenAddressCheck {
    public struct InUse: Error, CustomStringConvertible {
        public let host: String
        public let port: Int
        public let setting: String
        public let flag: String

        public var description: String {
            "port \(port) on \(host) is already in use (setting \(setting), flag \(flag));"
                + " stop the process that holds it, or choose another port"
        }
    }

    public static func ensureFree(host: String, port: Int, setting: String, flag: String) throws {
        guard port != 0, let inUse = isInUse(host: host, port: port), inUse else { return }
        throw InUse(host: host, port: port, setting: setting, flag: flag)
    }

    /// nil when the address is not a literal this check can bind.
    static func isInUse(host: String, port: Int) -> Bool? {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
        } else {
            return nil
        }
        #if canImport(Glibc)
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(family, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result: Int32
        if family == AF_INET {
            result = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            result = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        return result != 0 && errno == EADDRINUSE
    }
}
