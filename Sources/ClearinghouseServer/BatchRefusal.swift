import ClearinghouseCore
import Hummingbird

/// The refusals every batch endpoint (`/v1/consents`, `/signals`, `/revocations`, `/outcomes`)
/// answers alike, so that a client handles them once whatever it uploads. Each says that
/// nothing was stored and what to do.
enum BatchRefusal {
    static func tooManyConcurrentUploads(_ limit: Int) -> APIError {
        APIError.rateLimited(
            code: "too_many_concurrent_uploads",
            message: "this partner already has \(limit) uploads in flight"
                + " (limits.concurrent_uploads); send the next batch when one has been answered",
            wait: .seconds(1))
    }

    /// 409: the key's first request is still being served (its retry then gets its answer).
    static var idempotencyKeyInFlight: APIError {
        var busy = APIError(
            .conflict, code: "idempotency_key_in_flight",
            message: "a request with this Idempotency-Key is still being served; send it again once that one is answered"
                + " (the retry gets its answer), and nothing was stored by this one")
        busy.extraHeaders[.retryAfter] = "1"
        return busy
    }

    /// 422: the key is bound to another request (the IETF idempotency-key draft); 409 is for a
    /// key whose first request is still in flight.
    static var idempotencyConflict: APIError {
        APIError(
            .unprocessableContent, code: "idempotency_conflict",
            message: "this Idempotency-Key was already used with a different body; use a new key for a new batch")
    }

    static func requestTimedOut(seconds: Int) -> APIError {
        var error = APIError(
            .requestTimeout, code: "request_timeout",
            message: "the body took longer than \(seconds) s to arrive (server.request_timeout_seconds)"
                + " and nothing was stored; send smaller batches or retry from a faster link")
        error.closeConnection = true
        return error
    }
}

/// The answer to a batch whose body was refused, the same for every batch endpoint.
enum BatchRejection {
    /// `noun`: what the body should hold (`signals`, `outcomes`), for the empty-body message.
    static func error(
        for reason: BatchDecoder.Rejection, noun: String, bodyRead: Bool, _ context: AppRequestContext
    ) -> APIError {
        var error: APIError
        switch reason {
        case .invalidLines(let lines):
            error = APIError(
                .badRequest, code: "invalid_lines",
                message: "the batch was rejected and nothing was stored: \(lines.count == 1 ? "a line is" : "lines are") invalid"
                    + " (the first \(lines.count) listed); fix them and send the whole batch again")
            error.lines = lines
        case .bodyTooLarge(let limit):
            error = APIError(
                .contentTooLarge, code: "body_too_large",
                message: "the body is larger than \(limit) bytes (ingest.max_body_bytes); split it into smaller batches")
        case .decodedBodyTooLarge(let limit):
            error = APIError(
                .contentTooLarge, code: "decoded_body_too_large",
                message: "the body inflates to more than \(limit) bytes (ingest.max_decoded_bytes); split it into smaller batches")
        case .tooManyLines(let limit):
            error = APIError(
                .contentTooLarge, code: "too_many_lines",
                message: "the batch has more than \(limit) lines (ingest.max_lines_per_batch); split it into smaller batches")
        case .badGzip(let what):
            error = APIError(
                .badRequest, code: "bad_gzip",
                message: "\(what); send a whole gzip stream (gzip -c FILE) with Content-Encoding: gzip, or drop that header")
        case .empty:
            error = APIError(
                .badRequest, code: "empty_body",
                message: "the body holds no \(noun); send one record per line (see docs/partners.md)")
        case .spoolFailed:
            context.logger.error("batch spool failed", metadata: ["batch.kind": "\(noun)"])
            error = APIError(
                .serviceUnavailable, code: "storage_unavailable",
                message: "the daemon could not buffer the batch and nothing was stored; retry later")
            error.extraHeaders[.retryAfter] = "5"
        }
        // A body over the size limit is not read further: the connection closes after the answer.
        // Any other early rejection lets the (bounded) rest of the body drain, so the client
        // reads the error instead of a reset connection.
        if case .bodyTooLarge = reason { error.closeConnection = !bodyRead }
        return error
    }
}

