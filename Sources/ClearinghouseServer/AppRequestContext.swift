import ClearinghouseCore
import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the partner the request
/// authenticated as (set by ``PartnerAuthenticator``).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var partner: AuthenticatedPartner?
    /// The connection: its peer address and, under mutual TLS, its peer certificate.
    public let channel: any Channel

    /// The client's IP address, the key of the failed-authentication limit.
    public var remoteAddress: String? { channel.remoteAddress?.ipAddress }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.partner = nil
        self.channel = source.channel
    }

    /// The authenticated partner; routes behind the authenticator can rely on it.
    func requirePartner() throws -> AuthenticatedPartner {
        guard let partner else { throw APIError.unauthorized }
        return partner
    }
}
