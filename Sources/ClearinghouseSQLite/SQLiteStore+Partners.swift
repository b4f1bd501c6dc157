import ClearinghouseCore
import Foundation
import GRDB

extension SQLiteStore {
    public func addPartner(id: PartnerID, name: String, key: APIKey, at now: Int64) async throws {
        try await writer.write { db in
            guard try PartnerRow.filter(PartnerRow.Columns.slug == id.value).fetchCount(db) == 0 else {
                throw StoreError.partnerExists(id.value)
            }
            var partner = PartnerRow(id: nil, slug: id.value, name: name, status: "active", createdAt: now)
            try partner.insert(db)
            try APIKeyRow(keyID: key.keyID, partnerID: partner.id!, secretDigest: Data(key.secretDigest), createdAt: now, revokedAt: nil)
                .insert(db)
            try LedgerAppender.append(
                db, action: .partnerAdded, partner: id.value, details: PartnerLedgerDetails.added(name: name, keyID: key.keyID), at: now)
        }
        logger.info("partner added", metadata: ["partner.id": "\(id)", "key.id": "\(key.keyID)"])
    }

    public func rotateKey(partner: PartnerID, key: APIKey, at now: Int64) async throws {
        try await writer.write { db in
            let row = try partnerRow(partner, db)
            try APIKeyRow
                .filter(APIKeyRow.Columns.partnerID == row.id! && APIKeyRow.Columns.revokedAt == nil)
                .updateAll(db, APIKeyRow.Columns.revokedAt.set(to: now))
            try APIKeyRow(keyID: key.keyID, partnerID: row.id!, secretDigest: Data(key.secretDigest), createdAt: now, revokedAt: nil)
                .insert(db)
            try LedgerAppender.append(db, action: .partnerKeyRotated, partner: partner.value, details: PartnerLedgerDetails.keyRotated(keyID: key.keyID), at: now)
        }
        logger.info("partner key rotated", metadata: ["partner.id": "\(partner)", "key.id": "\(key.keyID)"])
    }

    public func disablePartner(_ partner: PartnerID, at now: Int64) async throws {
        try await writer.write { db in
            var row = try partnerRow(partner, db)
            row.status = "disabled"
            try row.update(db)
            try LedgerAppender.append(db, action: .partnerDisabled, partner: partner.value, details: PartnerLedgerDetails.disabled, at: now)
        }
        logger.info("partner disabled", metadata: ["partner.id": "\(partner)"])
    }

    public func partners() async throws -> [PartnerSummary] {
        try await writer.read { db in
            let rows = try PartnerRow.order(PartnerRow.Columns.slug).fetchAll(db)
            return try rows.map { row in
                let keyID = try String.fetchOne(
                    db, sql: "SELECT key_id FROM api_key WHERE partner_id = ? AND revoked_at IS NULL ORDER BY created_at DESC",
                    arguments: [row.id])
                return PartnerSummary(
                    id: row.slug, name: row.name, status: row.status,
                    createdAt: RFC3339.format(milliseconds: row.createdAt), keyID: keyID)
            }
        }
    }

    public func credential(keyID: String) async throws -> StoredCredential? {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT k.secret_digest, k.revoked_at, p.id, p.slug, p.status
                        FROM api_key k JOIN partner p ON p.id = k.partner_id
                        WHERE k.key_id = ?
                        """,
                    arguments: [keyID])
            else { return nil }
            let digest: Data = row[0]
            let revokedAt: Int64? = row[1]
            let status: String = row[4]
            return StoredCredential(
                partner: AuthenticatedPartner(rowID: row[2], id: row[3]),
                secretDigest: Array(digest),
                usable: revokedAt == nil && status == "active")
        }
    }

    private func partnerRow(_ partner: PartnerID, _ db: Database) throws -> PartnerRow {
        guard let row = try PartnerRow.filter(PartnerRow.Columns.slug == partner.value).fetchOne(db) else {
            throw StoreError.partnerNotFound(partner.value)
        }
        return row
    }
}
