import ClearinghouseCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST /v1/consents`, `/v1/signals` and `/v1/revocations`: a partner's batch writes.
///
/// Each request is one atomic batch. The body is streamed through a ``BatchDecoder`` (nothing
/// is buffered beyond the spool), validated whole, and only then written in one transaction.
/// A 2xx means the batch is committed durably; any error means nothing was stored.
public struct IngestController: Sendable {
    let store: any ClearinghouseStore
    let deriver: PersonKeyDeriver
    let settings: ServerSettings
    let uploads: ConcurrentUploadLimiter
    let keysInFlight: IdempotencyKeysInFlight

    public init(_ runtime: DaemonRuntime) {
        store = runtime.store
        deriver = runtime.deriver
        settings = runtime.settings
        uploads = runtime.uploads
        keysInFlight = runtime.idempotencyKeys
    }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("consents") { request, context in try await self.ingest(.consents, request, context) }
        routes.post("signals") { request, context in try await self.ingest(.signals, request, context) }
        routes.post("revocations") { request, context in try await self.ingest(.revocations, request, context) }
        return routes
    }

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    static let tokenProfileHeader = HTTPField.Name("Token-Profile")!

    func ingest(_ kind: BatchKind, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        let partner = try context.requirePartner()
        let response = try await uploads.withSlot(partner.id) {
            DaemonMetrics.uploadsInFlight.increment()
            defer { DaemonMetrics.uploadsInFlight.decrement() }
            return try await ingest(kind, request, context, as: partner)
        }
        guard let response else {
            RateLimitMetrics.limited("concurrent_uploads")
            context.logger.notice("request refused: concurrent uploads", metadata: ["limit.kind": "concurrent_uploads"])
            throw BatchRefusal.tooManyConcurrentUploads(settings.rateLimits.concurrentUploads)
        }
        return response
    }

    private func ingest(
        _ kind: BatchKind, _ request: Request, _ context: AppRequestContext, as partner: AuthenticatedPartner
    ) async throws -> Response {
        let started = ContinuousClock.now
        let format = try RequestHeaders.bodyFormat(request.headers[.contentType])
        let gzip = try RequestHeaders.isGzip(request.headers[.contentEncoding])
        let idempotencyKey = try RequestHeaders.idempotencyKey(request.headers[Self.idempotencyKeyHeader])
        if let idempotencyKey {
            guard keysInFlight.claim(idempotencyKey, partner: partner.rowID) else {
                IngestMetrics.batch(kind: kind, result: "key_in_flight")
                throw BatchRefusal.idempotencyKeyInFlight
            }
        }
        defer { if let idempotencyKey { keysInFlight.release(idempotencyKey, partner: partner.rowID) } }
        context.logger.debug("batch receiving", metadata: ["batch.kind": "\(kind.rawValue)"])
        let tokenProfile = request.headers[Self.tokenProfileHeader]
        if let problem = settings.tokenProfiles.problem(withDeclared: tokenProfile) {
            IngestMetrics.batch(kind: kind, result: "rejected")
            context.logger.notice("batch rejected", metadata: ["batch.kind": "\(kind.rawValue)", "error.code": "\(problem.code)"])
            throw APIError(.badRequest, code: problem.code, message: problem.message + "; nothing was stored")
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > settings.limits.maxBodyBytes {
            throw rejection(.bodyTooLarge(limit: settings.limits.maxBodyBytes), kind: kind, bodyRead: false, context)
        }

        let now = WallClock.nowMilliseconds()
        let decoder = BatchDecoder(
            kind: kind, format: format, gzip: gzip, limits: settings.limits, deriver: deriver, now: now,
            spoolDirectory: settings.spoolDirectory)
        var bodyRead = false
        let batch: DecodedBatch
        // Checked as each part of the body arrives; a client that goes silent meets the idle timeout.
        let deadline = started + .seconds(settings.requestTimeoutSeconds)
        do {
            for try await chunk in request.body {
                if ContinuousClock.now > deadline { throw requestTimedOut(kind: kind, context) }
                try chunk.withUnsafeReadableBytes { try decoder.feed($0) }
            }
            bodyRead = true
            batch = try decoder.finish()
        } catch let reason as BatchDecoder.Rejection {
            throw rejection(reason, kind: kind, bodyRead: bodyRead, context)
        }

        let outcome: IngestOutcome
        do {
            outcome = try await store.ingest(batch, partner: partner, idempotencyKey: idempotencyKey, at: now)
        } catch StoreError.idempotencyConflict {
            IngestMetrics.batch(kind: kind, result: "conflict")
            throw BatchRefusal.idempotencyConflict
        } catch {
            IngestMetrics.batch(kind: kind, result: "failed")
            DaemonMetrics.storageError("ingest")
            context.logger.error(
                "batch could not be stored", metadata: ["batch.kind": "\(kind.rawValue)", "error.type": "\(type(of: error))"])
            var failure = APIError(
                .serviceUnavailable, code: "storage_unavailable",
                message: "the batch could not be stored and nothing was stored; retry later with the same Idempotency-Key")
            failure.extraHeaders[.retryAfter] = "5"
            throw failure
        }

        let receipt = outcome.receipt
        let replayed: Bool
        if case .replayed = outcome { replayed = true } else { replayed = false }
        IngestMetrics.stored(receipt, replayed: replayed, duration: ContinuousClock.now - started)
        let completed = replayed && (receipt.acceptedNow ?? 0) > 0
        context.logger.info(
            completed ? "batch completed" : replayed ? "batch replayed" : "batch stored",
            metadata: [
                "batch.id": "\(receipt.batchID)", "batch.kind": "\(kind.rawValue)", "batch.received": "\(receipt.received)",
                "batch.accepted": "\(receipt.accepted)", "batch.accepted_now": "\(receipt.acceptedNow ?? 0)",
                "batch.dropped_no_consent": "\(receipt.droppedNoConsent)",
                "batch.bytes": "\(decoder.rawBytes)", "batch.token_profile": "\(tokenProfile ?? "none")",
                "batch.duration_ms": "\((ContinuousClock.now - started).milliseconds)",
            ])
        var headers: HTTPFields = [:]
        if replayed { headers[Self.replayedHeader] = "true" }
        return try JSONBody.response(receipt, headers: headers)
    }

    private func requestTimedOut(kind: BatchKind, _ context: AppRequestContext) -> APIError {
        IngestMetrics.batch(kind: kind, result: "rejected")
        context.logger.notice("batch rejected", metadata: ["batch.kind": "\(kind.rawValue)", "error.code": "request_timeout"])
        return BatchRefusal.requestTimedOut(seconds: settings.requestTimeoutSeconds)
    }

    private func rejection(
        _ reason: BatchDecoder.Rejection, kind: BatchKind, bodyRead: Bool, _ context: AppRequestContext
    ) -> APIError {
        let error = BatchRejection.error(for: reason, noun: kind.rawValue, bodyRead: bodyRead, context)
        IngestMetrics.batch(kind: kind, result: "rejected")
        context.logger.notice(
            "batch rejected", metadata: ["batch.kind": "\(kind.rawValue)", "error.code": "\(error.code)"])
        return error
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
