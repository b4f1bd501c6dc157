import ClearinghouseCore
import Hummingbird
import Logging

/// Authenticates partner requests by API key (`Authorization: Bearer chk_<id>_<secret>`).
///
/// The key id selects the stored credential; the secret is checked against its digest in
/// constant time, and the same check runs against a dummy digest when the id is unknown, so
/// neither the answer nor its timing tells an unknown key from a rotated key or a disabled
/// partner. Failures are logged with the key id only (never the secret).
public struct PartnerAuthenticator: RouterMiddleware {
    public typealias Context = AppRequestContext
    let store: any ClearinghouseStore

    public init(store: any ClearinghouseStore) {
        self.store = store
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.partner = try await authenticate(request, logger: context.logger)
        context.logger[metadataKey: "partner.id"] = "\(context.partner!.id)"
        return try await next(request, context)
    }

    private func authenticate(_ request: Request, logger: Logger) async throws -> AuthenticatedPartner {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let key = APIKey.parse(header.dropFirst("Bearer ".count))
        else {
            logger.notice("authentication failed", metadata: ["auth.reason": "malformed"])
            throw APIError.unauthorized
        }
        let credential = try await store.credential(keyID: key.keyID)
        let valid = key.matches(storedDigest: credential?.secretDigest)
        guard valid, let credential, credential.usable else {
            logger.notice("authentication failed", metadata: ["auth.key_id": "\(key.keyID)"])
            throw APIError.unauthorized
        }
        return credential.partner
    }
}
