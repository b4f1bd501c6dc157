import ClearinghouseCore
import Hummingbird

/// The per-request context: Hummingbird's core storage plus the partner the request
/// authenticated as (set by ``PartnerAuthenticator``).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var partner: AuthenticatedPartner?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.partner = nil
    }

    /// The authenticated partner; routes behind the authenticator can rely on it.
    func requirePartner() throws -> AuthenticatedPartner {
        guard let partner else { throw APIError.unauthorized }
        return partner
    }
}
