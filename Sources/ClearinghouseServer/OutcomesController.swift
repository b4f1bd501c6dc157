import ClearinghouseCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST /v1/outcomes` (what a partner's campaign tool counted for each suggestion and period)
/// and `GET /v1/outcomes/summary` (what the partner's suggestions achieved).
///
/// A batch is atomic like every batch: the body is read within the ingest limits, every line
/// checked on its own and then against the release it names, and only a batch without a bad
/// line is stored, in one transaction. A partner reads and writes its own outcomes only.
public struct OutcomesController: Sendable {
    let store: any ClearinghouseStore
    let settings: ServerSettings
    let uploads: ConcurrentUploadLimiter
    let keysInFlight: IdempotencyKeysInFlight
    let cache: ReleaseCache
    let clock: @Sendable () -> Int64

    public init(_ runtime: DaemonRuntime) {
        store = runtime.store
        settings = runtime.settings
        uploads = runtime.uploads
        keysInFlight = runtime.idempotencyKeys
        cache = runtime.releaseCache
        clock = runtime.clock
    }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("outcomes") { request, context in try await self.receive(request, context) }
        routes.get("outcomes/summary") { _, context in
            let partner = try context.requirePartner()
            let summary = OutcomeSummary(partner: partner.id, records: try await store.outcomes(partner: partner.id, endingAfter: nil))
            context.logger.info(
                "outcomes summary read", metadata: ["partner.id": "\(partner.id)", "outcomes.periods": "\(summary.periods.count)"])
            return try JSONBody.response(summary)
        }
        return routes
    }

    func receive(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let partner = try context.requirePartner()
        let response = try await uploads.withSlot(partner.id) { try await receive(request, context, as: partner) }
        guard let response else {
            RateLimitMetrics.limited("concurrent_uploads")
            throw BatchRefusal.tooManyConcurrentUploads(settings.rateLimits.concurrentUploads)
        }
        return response
    }

    private func receive(_ request: Request, _ context: AppRequestContext, as partner: AuthenticatedPartner) async throws -> Response {
        let started = ContinuousClock.now
        let format = try RequestHeaders.bodyFormat(request.headers[.contentType])
        let gzip = try RequestHeaders.isGzip(request.headers[.contentEncoding])
        let idempotencyKey = try RequestHeaders.idempotencyKey(request.headers[IngestController.idempotencyKeyHeader])
        if let idempotencyKey {
            guard keysInFlight.claim(idempotencyKey, partner: partner.rowID) else { throw BatchRefusal.idempotencyKeyInFlight }
        }
        defer { if let idempotencyKey { keysInFlight.release(idempotencyKey, partner: partner.rowID) } }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > settings.limits.maxBodyBytes {
            throw rejected(.bodyTooLarge(limit: settings.limits.maxBodyBytes), bodyRead: false, context)
        }
        let now = clock()
        let decoder = OutcomeDecoder(
            format: format, gzip: gzip, limits: settings.limits, maxPeriodDays: settings.feedback.maxPeriodDays, now: now)
        let deadline = started + .seconds(settings.requestTimeoutSeconds)
        var bodyRead = false
        let decoded: DecodedOutcomes
        do {
            for try await chunk in request.body {
                if ContinuousClock.now > deadline { throw BatchRefusal.requestTimedOut(seconds: settings.requestTimeoutSeconds) }
                try chunk.withUnsafeReadableBytes { try decoder.feed($0) }
            }
            bodyRead = true
            decoded = try decoder.finish()
        } catch let reason as BatchDecoder.Rejection {
            throw rejected(reason, bodyRead: bodyRead, context)
        }

        let batch: OutcomeBatch
        switch OutcomeValidator(settings: settings.recommendation).check(
            decoded, partner: partner.id, releases: try await releases(named: decoded.lines),
            history: try await store.outcomes(partner: partner.id, endingAfter: nil), now: now)
        {
        case .success(let checked): batch = checked
        case .failure(let invalid):
            throw rejected(.invalidLines(Array(invalid.lines.prefix(settings.limits.maxErrorsReported))), bodyRead: true, context)
        }
        // When the reports count for lists: stamped as close to the commit as can be, after the
        // body and the checks (a day's lists count what was recorded five minutes before the day
        // began, UTCDay.countsBefore, which leaves the store call that margin).
        let recordedAt = clock()

        let result: OutcomeStoreResult
        do {
            result = try await store.storeOutcomes(batch, partner: partner, idempotencyKey: idempotencyKey, at: recordedAt)
        } catch StoreError.idempotencyConflict {
            throw BatchRefusal.idempotencyConflict
        } catch {
            DaemonMetrics.storageError("outcomes")
            context.logger.error("outcomes could not be stored", metadata: ["error.type": "\(type(of: error))"])
            var failure = APIError(
                .serviceUnavailable, code: "storage_unavailable",
                message: "the outcomes could not be stored and nothing was stored; retry later with the same Idempotency-Key")
            failure.extraHeaders[.retryAfter] = "5"
            throw failure
        }
        let receipt = result.receipt
        var headers: HTTPFields = [:]
        if case .replayed = result { headers[IngestController.replayedHeader] = "true" }
        context.logger.info(
            receipt.replayed == true ? "outcomes replayed" : "outcomes stored",
            metadata: [
                "batch.id": "\(receipt.batchID)", "batch.kind": "outcomes", "batch.received": "\(receipt.received)",
                "outcomes.stored": "\(receipt.stored)", "outcomes.replaced": "\(receipt.replaced)",
                "batch.duration_ms": "\((ContinuousClock.now - started).milliseconds)",
            ])
        return try JSONBody.response(receipt, headers: headers)
    }

    /// The releases the lines name that exist, with their tables.
    private func releases(named lines: [OutcomeLine]) async throws -> [Int64: (record: ReleaseRecord, table: ReleasedTable)] {
        var found: [Int64: (record: ReleaseRecord, table: ReleasedTable)] = [:]
        for id in Set(lines.map(\.release)) {
            guard let record = try await store.release(id: id), let table = try await cache.table(id) else { continue }
            found[id] = (record, table)
        }
        return found
    }

    private func rejected(_ reason: BatchDecoder.Rejection, bodyRead: Bool, _ context: AppRequestContext) -> APIError {
        let error = BatchRejection.error(for: reason, noun: "outcomes", bodyRead: bodyRead, context)
        context.logger.notice("batch rejected", metadata: ["batch.kind": "outcomes", "error.code": "\(error.code)"])
        return error
    }
}
