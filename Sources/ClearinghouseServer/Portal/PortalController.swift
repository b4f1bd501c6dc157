import ClearinghouseCore
import Crypto
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
    let cookies: PortalCookies
    let pages: PortalPages
    /// Signs the sign-in form's nonces; derived from the pepper, so every daemon of the database
    /// accepts the nonces of the others.
    let nonceKey: SymmetricKey
    /// `scheme://` of this listener, to compare a browser's `Origin` with.
    let scheme: String

    public init(_ runtime: DaemonRuntime) {
        self.runtime = runtime
        cookies = PortalCookies(secure: runtime.settings.tls != nil)
        pages = PortalPages(runtime: runtime)
        nonceKey = runtime.deriver.subkey(purpose: "portal.signin-nonce.v1")
        scheme = runtime.settings.tls == nil ? "http://" : "https://"
    }

    var sessionSeconds: Int { runtime.settings.portalSessionMinutes * 60 }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get { request, context in
            try await visitor(request, context) == nil ? signInRedirect(request) : Self.redirect("/portal/overview")
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
                _ = try PortalPages.checkQuery(request.uri.queryParameters)
                guard let visitor = try await visitor(request, context) else { return signInRedirect(request) }
                // A page is a read: it draws from the partner's read bucket like a `GET` of the API.
                try runtime.limiters.draw(write: false, partner: visitor.session.partner.id, logger: context.logger)
                context.logger.info("portal page", metadata: ["partner.id": "\(visitor.session.partner.id)", "portal.page": "\(page)"])
                return try await pages.render(page, for: visitor, query: request.uri.queryParameters)
            }
        }
        return routes
    }

    // MARK: Signing in and out

    private func signInPage(error: String?, status: HTTPResponse.Status) throws -> Response {
        let nonce = PortalSessionToken.signInNonce(key: nonceKey)
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value: cookies.setSignInNonce(nonce)))
        return try PortalRenderer.shared.page(
            "sign-in", SignInView(csrf: nonce, error: error, tls: runtime.settings.tls != nil), status: status, headers: headers)
    }

    private func signIn(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let source = context.remoteAddress ?? "unknown"
        try runtime.limiters.refuseIfBlocked(source, logger: context.logger)
        let form = try await form(request, context)
        guard let nonce = PortalCookies.value(PortalCookies.signIn, in: request.headers), let posted = form["csrf"],
            PortalSessionToken.same(nonce, posted), PortalSessionToken.isSignInNonce(nonce, key: nonceKey)
        else {
            context.logger.notice("portal sign-in refused: CSRF token missing or wrong")
            return try signInPage(error: "This sign-in form has expired or did not come from this portal. Please try again.", status: .forbidden)
        }
        // A refused key is 403 with the form again (not 401: this is a form, not HTTP authentication).
        let failed = { (reason: String, message: String) throws -> Response in
            _ = runtime.limiters.authenticationFailures.take(source)
            DaemonMetrics.authenticationRefused("portal_\(reason)")
            context.logger.notice("portal sign-in failed", metadata: ["auth.reason": "\(reason)"])
            return try signInPage(error: message, status: .forbidden)
        }
        guard let text = form["key"]?.trimmingCharacters(in: .whitespaces), let key = APIKey.parse(Substring(text)) else {
            return try failed("malformed", "That is not a Clearinghouse key. A key starts with chk_; paste the whole read key.")
        }
        let credential = try await runtime.store.credential(keyID: key.keyID)
        guard key.matches(storedDigest: credential?.secretDigest), let credential, credential.usable else {
            return try failed("unknown_or_unusable_key", "That key is not valid: it may have been revoked. Ask your operator for a read key.")
        }
        guard credential.partner.role == .read else {
            return try failed(
                "upload_key", "This is an upload key, which cannot sign in here. Ask your operator for a read key "
                    + "(clearinghouse partner add-key \(credential.partner.id) --role read).")
        }
        if runtime.settings.tls?.requiresClientCertificate ?? false {
            do { try await PartnerAuthenticator.checkCertificate(of: context, names: credential.partner) } catch {
                _ = runtime.limiters.authenticationFailures.take(source)
                throw error
            }
        }
        // A sign-in writes a session: it draws from the partner's write bucket like an upload.
        try runtime.limiters.draw(write: true, partner: credential.partner.id, logger: context.logger)
        // A sign-in over a live session replaces it: the old token stops working.
        if let old = PortalCookies.value(PortalCookies.session, in: request.headers).flatMap(PortalSessionToken.init(cookie:)) {
            try await runtime.store.endPortalSession(digest: old.digest)
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
        let form = try await form(request, context)
        guard let posted = form["csrf"] else {
            throw APIError(.badRequest, code: "bad_form", message: "the sign-out form has no csrf field; open a portal page and sign out from there")
        }
        guard let visitor = try await visitor(request, context) else { return signInRedirect(request) }
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

    // MARK: Requests

    /// A posted form, after checking that the post came from this origin.
    ///
    /// Browsers send `Origin` with every POST (and `Sec-Fetch-Site`): it must be this listener's
    /// `scheme://host:port` exactly, and `Sec-Fetch-Site` must be `same-origin`, whatever the
    /// token. A client that sends neither is not a browser, so it carries no ambient cookie to
    /// forge a request with; the CSRF token still applies to it.
    private func form(_ request: Request, _ context: AppRequestContext) async throws -> FormBody {
        let expected = scheme + (request.head.authority ?? "")
        let origin = request.headers[.origin]
        let fetchSite = request.headers[HTTPField.Name("Sec-Fetch-Site")!]
        if (origin != nil && origin != expected) || (fetchSite != nil && fetchSite != "same-origin") {
            context.logger.notice("portal post refused: from another origin")
            throw APIError(.forbidden, code: "cross_origin", message: "this form was posted from another site; open the portal and use its own forms")
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

    /// To the sign-in page; a session cookie that is no longer valid is cleared on the way.
    private func signInRedirect(_ request: Request) -> Response {
        var response = Self.redirect("/portal/sign-in")
        if PortalCookies.value(PortalCookies.session, in: request.headers) != nil {
            response.headers.append(HTTPField(name: .setCookie, value: cookies.clear(PortalCookies.session)))
        }
        return response
    }
}

/// A signed-in portal visitor: the stored session and the cookie's token (the CSRF token's key).
struct PortalVisitor: Sendable {
    let session: PortalSession
    let token: PortalSessionToken
}
