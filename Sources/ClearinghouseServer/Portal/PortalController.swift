import ClearinghouseCore
import HTTPTypes
import Foundation
import Hummingbird
import Logging

/// `/portal`: the marketer's read-only view of what the partner's API shows it, in a browser.
///
/// Sign-in takes a read key (``KeyRole/read``; an upload key is refused) and sets a session
/// cookie (``PortalCookies``). Sessions live in the database by the digest of their token
/// (``PortalSessionToken``), so any daemon on the database honours them and a revoked key or a
/// disabled partner ends them at once. Every page is built from the session's partner alone:
/// no page takes a partner from the URL, so a session cannot ask for another partner's view.
/// Failed sign-ins draw from the same per-address bucket as bad API keys; forms carry a CSRF
/// token and posts from another origin are refused.
public struct PortalController: Sendable {
    let runtime: DaemonRuntime
    let cache: ReleaseCache
    let cookies: PortalCookies
    let pages: PortalPages

    public init(_ runtime: DaemonRuntime) {
        self.runtime = runtime
        cache = ReleaseCache(store: runtime.store)
        cookies = PortalCookies(secure: runtime.settings.tls != nil)
        pages = PortalPages(runtime: runtime, cache: cache)
    }

    var sessionSeconds: Int { runtime.settings.portalSessionMinutes * 60 }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get { request, context in
            try await visitor(request, context) == nil ? Self.redirect("/portal/sign-in") : Self.redirect("/portal/overview")
        }
        routes.get("static/portal.css") { _, _ in
            guard let css = PortalRenderer.shared.stylesheet else { throw HTTPError(.notFound) }
            return Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: css)))
        }
        routes.get("sign-in") { request, context in
            if try await visitor(request, context) != nil { return Self.redirect("/portal/overview") }
            return try signInPage(error: nil, status: .ok)
        }
        routes.post("sign-in") { request, context in try await signIn(request, context) }
        routes.post("sign-out") { request, context in try await signOut(request, context) }
        for page in PortalFrame.pages.map(\.path) {
            routes.get(RouterPath(page)) { request, context in
                // A malformed query is 400 whoever asks; only then does a missing session redirect.
                try PortalPages.checkQuery(request.uri.queryParameters)
                guard let visitor = try await visitor(request, context) else { return Self.redirect("/portal/sign-in") }
                try takeRead(visitor, context)
                context.logger.info("portal page", metadata: ["partner.id": "\(visitor.session.partner.id)", "portal.page": "\(page)"])
                return try await pages.render(page, for: visitor, query: request.uri.queryParameters)
            }
        }
        return routes
    }

    // MARK: Signing in and out

    private func signInPage(error: String?, status: HTTPResponse.Status) throws -> Response {
        let nonce = PortalSessionToken.signInNonce()
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value: cookies.setSignInNonce(nonce)))
        return try PortalRenderer.shared.page(
            "sign-in", SignInView(csrf: nonce, error: error, tls: runtime.settings.tls != nil), status: status, headers: headers)
    }

    private func signIn(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let source = context.remoteAddress ?? "unknown"
        if let wait = runtime.limiters.authenticationFailures.check(source) {
            RateLimitMetrics.limited("authentication_failures")
            context.logger.warning("portal sign-in refused: too many failed authentications", metadata: ["client.address": "\(source)"])
            throw APIError.rateLimited(
                code: "too_many_failed_authentications",
                message: "too many sign-ins or requests with a bad key from this address (limits.auth_failures_per_minute)", wait: wait)
        }
        let form = try await Self.form(request, context)
        guard let nonce = PortalCookies.value(PortalCookies.signIn, in: request.headers), let posted = form["csrf"],
            PortalSessionToken.same(nonce, posted)
        else {
            context.logger.notice("portal sign-in refused: CSRF token missing or wrong")
            return try signInPage(error: "This sign-in form has expired or did not come from this portal. Please try again.", status: .forbidden)
        }
        let failed = { (reason: String, message: String, status: HTTPResponse.Status) throws -> Response in
            _ = runtime.limiters.authenticationFailures.take(source)
            DaemonMetrics.authenticationRefused("portal_\(reason)")
            context.logger.notice("portal sign-in failed", metadata: ["auth.reason": "\(reason)"])
            return try signInPage(error: message, status: status)
        }
        guard let text = form["key"]?.trimmingCharacters(in: .whitespaces), let key = APIKey.parse(Substring(text)) else {
            return try failed("malformed", "That is not a Clearinghouse key. A key starts with chk_; paste the whole read key.", .unauthorized)
        }
        let credential = try await runtime.store.credential(keyID: key.keyID)
        guard key.matches(storedDigest: credential?.secretDigest), let credential, credential.usable else {
            return try failed("unknown_or_unusable_key", "That key is not valid: it may have been revoked. Ask your operator for a read key.", .unauthorized)
        }
        guard credential.partner.role == .read else {
            return try failed(
                "upload_key", "This is an upload key, which cannot sign in here. Ask your operator for a read key "
                    + "(clearinghouse partner add-key \(credential.partner.id) --role read).", .forbidden)
        }
        if runtime.settings.tls?.requiresClientCertificate ?? false {
            do { try await PartnerAuthenticator.checkCertificate(of: context, names: credential.partner) } catch {
                _ = runtime.limiters.authenticationFailures.take(source)
                throw error
            }
        }
        let token = PortalSessionToken.generate()
        let now = runtime.clock()
        try await runtime.store.createPortalSession(
            NewPortalSession(digest: token.digest, keyID: key.keyID, createdAt: now, expiresAt: now + Int64(sessionSeconds) * 1000))
        context.logger.info("portal signed in", metadata: ["partner.id": "\(credential.partner.id)", "key.id": "\(key.keyID)"])
        var response = Self.redirect("/portal/overview")
        response.headers.append(HTTPField(name: .setCookie, value: cookies.setSession(token, maxAgeSeconds: sessionSeconds)))
        response.headers.append(HTTPField(name: .setCookie, value: cookies.clear(PortalCookies.signIn)))
        return response
    }

    private func signOut(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Self.form(request, context)
        guard let posted = form["csrf"] else {
            throw APIError(.badRequest, code: "bad_form", message: "the sign-out form has no csrf field; open a portal page and sign out from there")
        }
        guard let visitor = try await visitor(request, context) else { return Self.redirect("/portal/sign-in") }
        guard PortalSessionToken.same(posted, visitor.token.csrfToken) else {
            context.logger.notice("portal sign-out refused: CSRF token missing or wrong", metadata: ["partner.id": "\(visitor.session.partner.id)"])
            throw APIError(.forbidden, code: "csrf", message: "this form did not come from your portal page; open the page again and sign out from there")
        }
        try await runtime.store.endPortalSession(digest: visitor.token.digest)
        context.logger.info("portal signed out", metadata: ["partner.id": "\(visitor.session.partner.id)"])
        var response = Self.redirect("/portal/sign-in")
        response.headers.append(HTTPField(name: .setCookie, value: cookies.clear(PortalCookies.session)))
        return response
    }

    // MARK: Sessions

    /// The signed-in visitor: a live session for the cookie's token, and under mutual TLS a
    /// client certificate naming the same partner; `nil` when there is none.
    private func visitor(_ request: Request, _ context: AppRequestContext) async throws -> PortalVisitor? {
        guard let cookie = PortalCookies.value(PortalCookies.session, in: request.headers),
            let token = PortalSessionToken(cookie: cookie)
        else { return nil }
        guard let session = try await runtime.store.portalSession(digest: token.digest, at: runtime.clock()) else { return nil }
        if runtime.settings.tls?.requiresClientCertificate ?? false {
            try await PartnerAuthenticator.checkCertificate(of: context, names: session.partner)
        }
        return PortalVisitor(session: session, token: token)
    }

    /// A page is a read: it draws from the partner's read bucket like a `GET` of the API.
    private func takeRead(_ visitor: PortalVisitor, _ context: AppRequestContext) throws {
        if let wait = runtime.limiters.reads.take(visitor.session.partner.id) {
            RateLimitMetrics.limited("reads")
            throw APIError.rateLimited(
                code: "rate_limited", message: "too many read requests for this partner (limits.read_per_second, limits.read_burst)",
                wait: wait)
        }
    }

    // MARK: Requests

    /// A posted form, after checking that the post came from this origin (a browser sends
    /// `Origin` with every POST; one naming another site is refused whatever the token).
    private static func form(_ request: Request, _ context: AppRequestContext) async throws -> FormBody {
        if let origin = request.headers[.origin] {
            let host = request.head.authority ?? ""
            let stripped = origin.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? ""
            guard origin != "null", !host.isEmpty, stripped == host else {
                context.logger.notice("portal post refused: from another origin")
                throw APIError(.forbidden, code: "cross_origin", message: "this form was posted from another site; open the portal and use its own forms")
            }
        }
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "the portal's forms post application/x-www-form-urlencoded")
        }
        let body = try await request.body.collect(upTo: FormBody.maximumBytes)
        guard let form = FormBody(Array(buffer: body)) else {
            throw APIError(.badRequest, code: "bad_form", message: "the form could not be read; open the page again and resubmit it")
        }
        return form
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }
}

/// A signed-in portal visitor: the stored session and the cookie's token (the CSRF token's key).
struct PortalVisitor: Sendable {
    let session: PortalSession
    let token: PortalSessionToken
}
