import ClearinghouseCore
import Foundation
import Hummingbird

/// Every error the API answers with, in one JSON shape:
/// `{"error": {"code": "...", "message": "...", "lines": [{"line", "field", "problem", "fix"}]}}`.
///
/// `code` is stable for scripts; `message` says what was wrong and what to do; `lines` (batch
/// rejections only) locates each bad line. No message carries a token or person key: line
/// errors describe values by kind and length, never by content.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var lines: [LineError] = []
    /// Close the connection after answering: for a body over the size limit, which is not
    /// read further (see ``CloseAfterResponseHandler``).
    public var closeConnection = false
    public var extraHeaders: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The one answer to any failed authentication: unknown, malformed, rotated and disabled
    /// keys are indistinguishable.
    /// 429 with `Retry-After` (whole seconds, rounded up).
    static func rateLimited(code: String, message: String, wait: Duration) -> APIError {
        let seconds = max(1, Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up)))
        var error = APIError(.tooManyRequests, code: code, message: "\(message); retry after \(seconds) s")
        error.extraHeaders[.retryAfter] = "\(seconds)"
        return error
    }

    public static var unauthorized: APIError {
        var error = APIError(
            .unauthorized, code: "unauthorized",
            message: "missing or invalid API key; send Authorization: Bearer <key> with a key from `clearinghouse partner add`")
        error.extraHeaders[.wwwAuthenticate] = "Bearer realm=\"clearinghouse\""
        return error
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
            let lines: [LineError]?
        }
        let error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(error: .init(code: code, message: message, lines: lines.isEmpty ? nil : lines))
        var headers = extraHeaders
        if closeConnection { headers[.connection] = "close" }
        return try JSONBody.response(body, status: status, headers: headers)
    }
}
