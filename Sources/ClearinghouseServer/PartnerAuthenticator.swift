import ClearinghouseCore
import Hummingbird
import Logging

/// Authenticates partner requests by API key (`Authorization: Bearer chk_<id>_<secret>`).
///
/// The key id selects the stored credential; the secret is checked against its digest in
/// constant time, and the same check runs against a dummy digest when the id is unknown, so
/// neither the answer nor its timing tells an unknown key from a rotated key or a disabled
/// partner. Failures are logged with the key id only (never the secret).
///
/// It also applies the request limits: an address with too many failed authentications gets
/// 429 for every request until its bucket refills, before any key is checked (a brute-force
/// attempt learns nothing more); an authenticated partner's writes and reads each draw from
/// its own token bucket.
///
/// Under mutual TLS (`tls.client_ca_file`), the client certificate's common name must be the
/// partner the key belongs to; otherwise 403, counted as a failed authentication.
///
/// A read key (`KeyRole.read`) may make `GET` requests only: any other method gets 403
/// `read_only_key` after authentication (it is not a failed authentication: the key is good).
public struct PartnerAuthenticator: RouterMiddleware {
    public typealias Context = AppRequestContext
    let store: any ClearinghouseStore
    let limiters: RequestLimiters
    let requiresClientCertificate: Bool

    public init(store: any ClearinghouseStore, limiters: RequestLimiters, requiresClientCertificate: Bool = false) {
        self.store = store
        self.requiresClientCertificate = requiresClientCertificate
        self.limiters = limiters
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let source = context.remoteAddress ?? "unknown"
        try limiters.refuseIfBlocked(source, logger: context.logger)
        do {
            let partner = try await authenticate(request, logger: context.logger)
            if requiresClientCertificate { try await Self.checkCertificate(of: context, names: partner) }
            context.partner = partner
        } catch {
            _ = limiters.authenticationFailures.take(source)
            throw error
        }
        let partner = context.partner!
        context.logger[metadataKey: "partner.id"] = "\(partner.id)"
        guard partner.role.allows(method: request.method.rawValue) else {
            DaemonMetrics.authenticationRefused("read_only_key")
            context.logger.notice("request refused: read-only key", metadata: ["http.method": "\(request.method)"])
            throw APIError(
                .forbidden, code: "read_only_key",
                message: "this is a read key: it may only GET; send writes with the partner's upload key "
                    + "(the operator's `clearinghouse partner add` or `rotate-key` prints it)")
        }
        try limiters.draw(write: request.method == .post, partner: partner.id, logger: context.logger)
        return try await next(request, context)
    }

    /// Under mutual TLS: refuses a connection whose client certificate names another partner.
    static func checkCertificate(of context: Context, names partner: AuthenticatedPartner) async throws {
        let name = try? await ClientCertificate.commonName(on: context.channel)
        guard name == partner.id else {
            DaemonMetrics.authenticationRefused("client_certificate")
            context.logger.warning(
                "authentication failed: client certificate names another partner",
                metadata: ["auth.partner": "\(partner.id)", "auth.certificate_name": "\(name ?? "none")"])
            throw APIError(
                .forbidden, code: "client_certificate_mismatch",
                message: "the TLS client certificate does not name the partner this API key belongs to; "
                    + "use the certificate issued for that partner (its subject CN is the partner id)")
        }
    }

    private func authenticate(_ request: Request, logger: Logger) async throws -> AuthenticatedPartner {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let key = APIKey.parse(header.dropFirst("Bearer ".count))
        else {
            logger.notice("authentication failed", metadata: ["auth.reason": "malformed"])
            DaemonMetrics.authenticationRefused("malformed")
            throw APIError.unauthorized
        }
        let credential: StoredCredential?
        do {
            credential = try await store.credential(keyID: key.keyID)
        } catch {
            // The database is unreachable (PostgreSQL down): nothing can be checked or stored.
            logger.error("key lookup failed", metadata: ["error.type": "\(type(of: error))"])
            DaemonMetrics.storageError("authenticate")
            var failure = APIError(
                .serviceUnavailable, code: "storage_unavailable",
                message: "the database is unreachable and nothing was stored; retry later (with the same Idempotency-Key for writes)")
            failure.extraHeaders[.retryAfter] = "5"
            throw failure
        }
        let valid = key.matches(storedDigest: credential?.secretDigest)
        guard valid, let credential, credential.usable else {
            logger.notice("authentication failed", metadata: ["auth.key_id": "\(key.keyID)"])
            DaemonMetrics.authenticationRefused("unknown_or_unusable_key")
            throw APIError.unauthorized
        }
        return credential.partner
    }
}

/// The request limits' buckets, one set per daemon, shared by the API's authenticator and the
/// portal's sign-in (failed sign-ins count against the same per-address limit as bad API keys).
public struct RequestLimiters: Sendable {
    public let authenticationFailures: TokenBucketLimiter
    public let writes: TokenBucketLimiter
    public let reads: TokenBucketLimiter

    public init(_ limits: RateLimits) {
        authenticationFailures = TokenBucketLimiter(limits.authenticationFailures)
        writes = TokenBucketLimiter(limits.writes)
        reads = TokenBucketLimiter(limits.reads)
    }

    /// 429 `too_many_failed_authentications` while `source` has spent its failed
    /// authentications, before any key is looked at (a brute-force attempt learns nothing more).
    func refuseIfBlocked(_ source: String, logger: Logger) throws {
        guard let wait = authenticationFailures.check(source) else { return }
        RateLimitMetrics.limited("authentication_failures")
        logger.warning("request refused: too many failed authentications", metadata: ["client.address": "\(source)"])
        throw APIError.rateLimited(
            code: "too_many_failed_authentications",
            message: "too many requests or sign-ins with a bad key from this address (limits.auth_failures_per_minute)", wait: wait)
    }

    /// Draws one of `partner`'s requests from its write or read bucket; 429 `rate_limited` when
    /// the bucket is empty.
    func draw(write: Bool, partner: String, logger: Logger) throws {
        guard let wait = (write ? writes : reads).take(partner) else { return }
        RateLimitMetrics.limited(write ? "writes" : "reads")
        logger.notice("request refused: rate limit", metadata: ["limit.kind": "\(write ? "writes" : "reads")"])
        throw APIError.rateLimited(
            code: "rate_limited",
            message: write
                ? "too many write requests for this partner (limits.write_per_second, limits.write_burst)"
                : "too many read requests for this partner (limits.read_per_second, limits.read_burst)",
            wait: wait)
    }
}
