import Hummingbird
import HTTPTypes
import Logging

/// Puts the portal's security headers on every portal response (pages, redirects, errors) and
/// turns errors into HTML pages, not the API's JSON.
///
/// - `Content-Security-Policy`: nothing loads but the daemon's own stylesheet; no script at all,
///   no frame, forms post only back to the portal.
/// - `frame-ancestors 'none'` (and `X-Frame-Options: DENY` for older browsers): no other site
///   can frame a page to trick a click.
/// - `Cache-Control: no-store`: released figures are not left in shared or disk caches.
/// - `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin` (no-referrer would make browsers post `Origin: null`, which the
///   origin check refuses; same-origin still keeps portal URLs from other sites).
///
/// The portal's route group uses it for every portal route; the router also puts one around its
/// not-found answer with `onlyUnder: "/portal"`, so a mistyped portal URL (404) or method (405)
/// gets an HTML page with the same headers instead of the API's JSON.
struct PortalHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// When set, requests outside this path prefix pass through untouched.
    var onlyUnder: String? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let prefix = onlyUnder, request.uri.path != prefix, !request.uri.path.hasPrefix(prefix + "/") {
            return try await next(request, context)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.errorPage(error, logger: context.logger)
        }
        Self.secure(&response.headers)
        return response
    }

    static func secure(_ headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xFrameOptions] = "DENY"
        headers[.cacheControl] = "no-store"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "same-origin"
    }

    /// An error as a page: its status and message, never a stack or a value from the request.
    static func errorPage(_ error: any Error, logger: Logger) -> Response {
        let status: HTTPResponse.Status
        let message: String
        var headers: HTTPFields = [:]
        switch error {
        case let error as APIError:
            status = error.status
            message = error.message
            headers = error.extraHeaders
        case let error as HTTPError:
            status = error.status
            message = error.body ?? status.reasonPhrase
        default:
            // Everything else a portal handler can throw comes from the store (a template that
            // does not render is an HTTPError above): the database did not answer.
            logger.error("portal page failed", metadata: ["error.type": "\(type(of: error))"])
            DaemonMetrics.storageError("portal")
            status = .serviceUnavailable
            message = "the database did not answer (storage_unavailable); nothing changed; try again in a few seconds"
            headers[.retryAfter] = "5"
        }
        let view = PortalErrorView(
            title: "\(status.code) \(status.reasonPhrase)", status: "\(status.code) \(status.reasonPhrase)", message: message)
        if let page = try? PortalRenderer.shared.page("error", view, status: status, headers: headers) { return page }
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
