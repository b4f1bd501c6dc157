import ClearinghouseCore
import Foundation
import GRDB
import Metrics

extension SQLiteStore {
    public func ingest(
        _ batch: DecodedBatch, partner: AuthenticatedPartner, idempotencyKey: String?, at now: Int64
    ) async throws -> IngestOutcome {
        let lookup = try await lookUpConsents(batch, partner: partner, idempotencyKey: idempotencyKey, at: now)
        return try await ingest(batch, partner: partner, idempotencyKey: idempotencyKey, at: now, lookedUp: lookup)
    }

    /// The persons of a signal batch with live consent, looked up in a read transaction before
    /// the writer is taken (see ``ConsentLookup``); `nil` for other kinds, and for a retry of a
    /// stored batch, which the writer answers or completes itself.
    func lookUpConsents(
        _ batch: DecodedBatch, partner: AuthenticatedPartner, idempotencyKey: String?, at now: Int64
    ) async throws -> ConsentLookup? {
        guard batch.kind == .signals else { return nil }
        return try await writer.read { db in
            if let idempotencyKey,
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM batch WHERE partner_id = ? AND idempotency_key = ?)",
                    arguments: [partner.rowID, idempotencyKey]) == true
            {
                return nil
            }
            return try ConsentLookup.resolve(db, batch, partner: partner, at: now, directories: consentDirectories)
        }
    }

    /// Writes a batch in one transaction, with the consents `lookup` found for a signal batch if
    /// they still hold then (otherwise it looks them up again inside the transaction).
    func ingest(
        _ batch: DecodedBatch, partner: AuthenticatedPartner, idempotencyKey: String?, at now: Int64, lookedUp lookup: ConsentLookup?
    ) async throws -> IngestOutcome {
        let pseudonymizer = try writingPseudonymizer()
        let outcome = try await writer.write { db -> IngestOutcome in
            if let idempotencyKey, let earlier = try earlierBatch(partner: partner, key: idempotencyKey, db) {
                try earlier.checkSameRequest(batch)
                guard let reconsider = earlier.linesToReconsider(batch) else { return .replayed(earlier.replay) }
                return try complete(earlier, batch, reconsidering: reconsider, partner: partner, pseudonymizer, at: now, db)
            }
            try db.execute(
                sql: """
                    INSERT INTO batch (partner_id, kind, received, accepted, body_sha256, idempotency_key, receipt, created_at)
                    VALUES (?, ?, ?, 0, ?, ?, '', ?)
                    """,
                arguments: [partner.rowID, batch.kind.rawValue, batch.received, Data(batch.bodyDigest), idempotencyKey, now])
            let batchID = db.lastInsertedRowID
            var receipt = BatchReceipt(batchID: batchID, kind: batch.kind, received: batch.received)
            let writer = BatchWriter(db: db, partner: partner, batchID: batchID, now: now, pseudonymizer: pseudonymizer)
            var dropped: DroppedLines?
            switch batch.kind {
            case .signals:
                let current = try lookup.flatMap { try $0.isCurrent(db, partner: partner.id) ? $0 : nil }
                if lookup != nil && current == nil { Counter(label: "clearinghouse_ingest_consent_lookups_repeated_total").increment() }
                // Looked up again inside the writer: a directory may answer, none is built here.
                let consents = try current
                    ?? ConsentLookup.resolve(db, batch, partner: partner, at: now, directories: consentDirectories, buildingDirectory: false)
                dropped = try writer.writeSignals(batch, consents: consents, into: &receipt)
            case .consents: try writer.writeConsents(batch, into: &receipt)
            case .revocations: try writer.writeRevocations(batch, into: &receipt)
            }
            let entry = try LedgerAppender.append(
                db, action: batch.kind.ledgerAction, partner: partner.id,
                details: BatchLedgerDetails(receipt: receipt, bodyDigest: batch.bodyDigest), at: now,
                signals: writer.changes.change, copy: signalCopy)
            receipt.ledgerSequence = entry.sequence
            receipt.ledgerHash = Hex.encode(entry.hash)
            let receiptJSON = String(decoding: try JSONEncoder().encode(receipt), as: UTF8.self)
            try db.execute(
                sql: "UPDATE batch SET accepted = ?, receipt = ?, dropped_lines = ? WHERE id = ?",
                arguments: [receipt.accepted, receiptJSON, DroppedLines.kept(dropped, idempotencyKey: idempotencyKey).map { Data($0) }, batchID])
            return .stored(receipt.answeringStored(at: now))
        }
        // The partner's directory of consents is stale now (and must not keep a revoked person).
        if batch.kind != .signals, case .stored(let receipt) = outcome, let sequence = receipt.ledgerSequence {
            consentDirectories.drop(partner: partner.rowID, changedAt: sequence)
        }
        if case .stored(let receipt) = outcome, (receipt.revoked ?? 0) > 0 || (receipt.signalsErased ?? 0) > 0 {
            await removeErasedCopies()
        }
        return outcome
    }

    /// Erasure leaves no copy behind: the columnar copy applies the erasure (or is dropped)
    /// before this returns; `secure_delete` zeroes erased rows in the database file, and this
    /// moves the WAL (which still holds the old page images) into the file and truncates it.
    /// The checkpoint is best effort after the commit: if readers keep it from completing, the
    /// next erasure or the retention service completes it.
    func removeErasedCopies() async {
        await signalCopy.settleAsync()
        do {
            try await writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        } catch {
            logger.warning("WAL checkpoint after erasure did not complete; it is retried", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    private func earlierBatch(partner: AuthenticatedPartner, key: String, _ db: Database) throws -> EarlierBatch? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT id, kind, body_sha256, receipt, created_at, dropped_lines FROM batch
                    WHERE partner_id = ? AND idempotency_key = ?
                    """,
                arguments: [partner.rowID, key])
        else { return nil }
        // The key of an outcome batch, whose receipt is another shape: another kind, a conflict.
        guard (row[1] as String) != EarlierOutcomeBatch.kind else { throw StoreError.idempotencyConflict }
        let digest: Data = row[2]
        let receiptJSON: String = row[3]
        let dropped: Data? = row[5]
        return EarlierBatch(
            batchID: row[0], kind: row[1], bodyDigest: Array(digest),
            receipt: try JSONDecoder().decode(BatchReceipt.self, from: Data(receiptJSON.utf8)), createdAt: row[4],
            dropped: dropped.map { Array($0) })
    }

    /// A retry of a signal batch that dropped lines for missing consent: stores, under the
    /// original batch, those dropped lines that consents cover now, and records that in the
    /// ledger; a plain replay when consents still cover none of them.
    private func complete(
        _ earlier: EarlierBatch, _ batch: DecodedBatch, reconsidering lines: DroppedLines, partner: AuthenticatedPartner,
        _ pseudonymizer: AuditPseudonymizer, at now: Int64, _ db: Database
    ) throws -> IngestOutcome {
        var receipt = BatchReceipt(batchID: earlier.batchID, kind: .signals, received: batch.received)
        let writer = BatchWriter(db: db, partner: partner, batchID: earlier.batchID, now: now, pseudonymizer: pseudonymizer)
        // A retry is rare and small: its dropped lines are looked up inside the writer.
        let consents = try ConsentLookup.resolve(
            db, batch, partner: partner, at: now, considering: lines, directories: consentDirectories, buildingDirectory: false)
        let stillDropped = try writer.writeSignals(batch, consents: consents, considering: lines, into: &receipt)
        guard receipt.accepted > 0 else { return .replayed(earlier.replay) }
        let completion = earlier.completion(storedNow: receipt.accepted, stillDropped: stillDropped.count)
        let entry = try LedgerAppender.append(
            db, action: batch.kind.ledgerAction, partner: partner.id,
            details: BatchLedgerDetails(receipt: completion, bodyDigest: batch.bodyDigest), at: now,
            signals: writer.changes.change, copy: signalCopy)
        var stored = completion.storedForm
        stored.ledgerSequence = entry.sequence
        stored.ledgerHash = Hex.encode(entry.hash)
        try db.execute(
            sql: "UPDATE batch SET accepted = ?, receipt = ?, dropped_lines = ? WHERE id = ?",
            arguments: [
                stored.accepted, String(decoding: try JSONEncoder().encode(stored), as: UTF8.self),
                stillDropped.storedBytes.map { Data($0) }, earlier.batchID,
            ])
        return .replayed(stored.answeringCompletion(storedNow: receipt.accepted, firstStoredAt: earlier.createdAt))
    }
}

/// Writes the records of one batch inside the batch's transaction.
struct BatchWriter {
    let db: Database
    let partner: AuthenticatedPartner
    let batchID: Int64
    let now: Int64
    let pseudonymizer: AuditPseudonymizer
    /// What this batch does to signals, for the columnar copy once it commits.
    let changes = SignalChangeRecorder()

    /// Appends the batch's signals whose person `consents` found live consent for (every line,
    /// or only those in `considering` on a retry), records the rowids written as a span of the
    /// partner (``SignalSpans``), and returns the lines dropped for missing consent. The table
    /// has no index beside its rowid, so each row costs one append (``SignalAppender``).
    @discardableResult
    func writeSignals(
        _ batch: DecodedBatch, consents: ConsentLookup, considering: DroppedLines? = nil, into receipt: inout BatchReceipt
    ) throws -> DroppedLines {
        var appender = try SignalAppender(db, partner: partner.rowID, batch: batchID)
        var categoryIDs = [Int64?](repeating: nil, count: batch.categories.count)
        var accepted = 0
        var dropped = DroppedLines(lineCount: batch.received)
        var line = -1
        try batch.forEachSignal { signal in
            line += 1
            if let considering, !considering.contains(line) { return }
            let personID = Int64(consents.persons[line])
            guard personID > 0 else {
                dropped.insert(line)
                return
            }
            let categoryID: Int64
            if let known = categoryIDs[signal.categoryIndex] {
                categoryID = known
            } else {
                categoryID = try self.categoryID(named: batch.categories[signal.categoryIndex])
                categoryIDs[signal.categoryIndex] = categoryID
            }
            try appender.append(person: personID, category: categoryID, weight: signal.weight, observedAt: signal.observedAt)
            changes.stored(StoredSignal(person: personID, partner: partner.rowID, category: categoryID, weight: signal.weight))
            accepted += 1
        }
        try appender.finish()
        if let written = appender.written {
            try SignalSpans.record(db, partner: partner.rowID, first: written.lowerBound, last: written.upperBound)
        }
        receipt.accepted = accepted
        receipt.droppedNoConsent = dropped.count
        return dropped
    }

    func writeConsents(_ batch: DecodedBatch, into receipt: inout BatchReceipt) throws {
        let findPerson = try RawStatement(db, sql: "SELECT id FROM person WHERE key = ?1")
        let insertPerson = try RawStatement(db, sql: "INSERT INTO person (key) VALUES (?1)")
        let findConsent = try RawStatement(
            db, sql: "SELECT granted_at, purposes FROM consent WHERE partner_id = ?1 AND person_id = ?2")
        let upsert = try RawStatement(
            db,
            sql: """
                INSERT INTO consent (partner_id, person_id, purposes, granted_at, expires_at, proof, batch_id)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                ON CONFLICT (partner_id, person_id) DO UPDATE SET
                    purposes = excluded.purposes, granted_at = excluded.granted_at,
                    expires_at = excluded.expires_at, proof = excluded.proof, batch_id = excluded.batch_id
                """)
        var erasure = SignalErasure()
        let history = try ConsentEventRecorder(db, pseudonymizer: pseudonymizer, partnerID: partner.rowID, batchID: batchID, now: now)
        var tally = ConsentBatchTally()
        try batch.forEachConsent { consent in
            findPerson.reset()
            findPerson.bind(1, blob: consent.personKey)
            var personID = try findPerson.firstInt64()
            var earlier: (grantedAt: Int64, purposes: Int64)?
            if let existing = personID {
                findConsent.reset()
                findConsent.bind(1, partner.rowID)
                findConsent.bind(2, existing)
                earlier = try findConsent.firstRow { ($0.int64(0), $0.int64(1)) }
            } else {
                insertPerson.reset()
                insertPerson.bind(1, blob: consent.personKey)
                try insertPerson.run()
                personID = insertPerson.lastInsertedRowID
            }
            let decision = ConsentMerge.decide(
                stored: earlier.map { ($0.grantedAt, UInt32($0.purposes)) }, incomingGrantedAt: consent.grantedAt,
                incomingPurposes: consent.purposes)
            tally.count(decision, expiresAt: consent.expiresAt, at: now)
            switch decision {
            case .supersede:
                try history.record(
                    .superseded, personKey: consent.personKey, purposes: Int64(consent.purposes), grantedAt: consent.grantedAt,
                    expiresAt: consent.expiresAt, proof: consent.proof)
                return
            case .replace: try history.recordEnding(.replaced, personKey: consent.personKey, personID: personID!)
            case .create: break
            }
            upsert.reset()
            upsert.bind(1, partner.rowID)
            upsert.bind(2, personID!)
            upsert.bind(3, Int64(consent.purposes))
            upsert.bind(4, consent.grantedAt)
            upsert.bind(5, consent.expiresAt)
            upsert.bind(6, textOrNull: consent.proof)
            upsert.bind(7, batchID)
            try upsert.run()
            if decision == .replace(erasesSignals: true) {
                erasure.add(partner: partner.rowID, person: personID!)
                changes.erased(partner: partner.rowID, person: personID!)
            }
        }
        // A consent that no longer grants affinity takes its signals with it, in this transaction.
        if !erasure.isEmpty { tally.signalsErased += try erasure.run(db) }
        tally.fill(&receipt)
    }

    func writeRevocations(_ batch: DecodedBatch, into receipt: inout BatchReceipt) throws {
        let findPerson = try RawStatement(db, sql: "SELECT id FROM person WHERE key = ?1")
        var eraser = try ConsentEraser(db)
        let record = try RawStatement(
            db, sql: "INSERT INTO revocation (partner_id, pseudonym, batch_id, at) VALUES (?1, ?2, ?3, ?4)")
        let history = try ConsentEventRecorder(db, pseudonymizer: pseudonymizer, partnerID: partner.rowID, batchID: batchID, now: now)
        var revoked = 0
        var notFound = 0
        try batch.forEachRevocation { revocation in
            findPerson.reset()
            findPerson.bind(1, blob: revocation.personKey)
            guard let personID = try findPerson.firstInt64() else {
                notFound += 1
                return
            }
            try history.recordEnding(.revoked, personKey: revocation.personKey, personID: personID)
            let erasure = try eraser.erase(partner: partner.rowID, person: personID)
            changes.erased(partner: partner.rowID, person: personID)
            if erasure.consents > 0 {
                revoked += 1
                let pseudonym = pseudonymizer.pseudonym(of: revocation.personKey)
                try pseudonym.withUnsafeBytes { bytes in
                    record.reset()
                    record.bind(1, partner.rowID)
                    record.bind(2, blob: bytes)
                    record.bind(3, batchID)
                    record.bind(4, now)
                    try record.run()
                }
            } else {
                notFound += 1
            }
        }
        receipt.accepted = batch.received
        receipt.revoked = revoked
        receipt.signalsErased = try eraser.eraseSignals()
        receipt.notFound = notFound
    }

    private func categoryID(named name: String) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO category (partner_id, name) VALUES (?, ?) ON CONFLICT (partner_id, name) DO NOTHING",
            arguments: [partner.rowID, name])
        return try Int64.fetchOne(
            db, sql: "SELECT id FROM category WHERE partner_id = ? AND name = ?", arguments: [partner.rowID, name])!
    }
}
