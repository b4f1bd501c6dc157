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
                db, action: .partnerAdded, partner: id.value, details: PartnerLedgerDetails.added(name: name, keyID: key.keyID), at: now, signals: .unchanged, copy: signalCopy)
        }
        logger.info("partner added", metadata: ["partner.id": "\(id)", "key.id": "\(key.keyID)"])
    }

    public func rotateKey(partner: PartnerID, key: APIKey, at now: Int64) async throws {
        try await writer.write { db in
            let row = try partnerRow(partner, db)
            try APIKeyRow
                .filter(
                    APIKeyRow.Columns.partnerID == row.id! && APIKeyRow.Columns.revokedAt == nil
                        && APIKeyRow.Columns.role == KeyRole.upload.rawValue)
                .updateAll(db, APIKeyRow.Columns.revokedAt.set(to: now))
            try APIKeyRow(keyID: key.keyID, partnerID: row.id!, secretDigest: Data(key.secretDigest), createdAt: now, revokedAt: nil)
                .insert(db)
            try LedgerAppender.append(db, action: .partnerKeyRotated, partner: partner.value, details: PartnerLedgerDetails.keyRotated(keyID: key.keyID), at: now, signals: .unchanged, copy: signalCopy)
        }
        logger.info("partner key rotated", metadata: ["partner.id": "\(partner)", "key.id": "\(key.keyID)"])
    }

    public func disablePartner(_ partner: PartnerID, at now: Int64) async throws {
        try await writer.write { db in
            var row = try partnerRow(partner, db)
            row.status = "disabled"
            try row.update(db)
            try LedgerAppender.append(db, action: .partnerDisabled, partner: partner.value, details: PartnerLedgerDetails.disabled, at: now, signals: .unchanged, copy: signalCopy)
        }
        logger.info("partner disabled", metadata: ["partner.id": "\(partner)"])
    }

    public func partners() async throws -> [PartnerSummary] {
        try await writer.read { db in
            let rows = try PartnerRow.order(PartnerRow.Columns.slug).fetchAll(db)
            return try rows.map { row in
                let keyID = try String.fetchOne(
                    db,
                    sql: "SELECT key_id FROM api_key WHERE partner_id = ? AND revoked_at IS NULL AND role = 'upload' ORDER BY created_at DESC",
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
                        SELECT k.secret_digest, k.revoked_at, p.id, p.slug, p.status, k.role
                        FROM api_key k JOIN partner p ON p.id = k.partner_id
                        WHERE k.key_id = ?
                        """,
                    arguments: [keyID])
            else { return nil }
            let digest: Data = row[0]
            let revokedAt: Int64? = row[1]
            let status: String = row[4]
            let role = KeyRole(rawValue: row[5]) ?? .read
            return StoredCredential(
                partner: AuthenticatedPartner(rowID: row[2], id: row[3], role: role),
                secretDigest: Array(digest),
                usable: revokedAt == nil && status == "active")
        }
    }

    public func addKey(partner: PartnerID, key: APIKey, role: KeyRole, label: String?, at now: Int64) async throws {
        try await writer.write { db in
            let row = try partnerRow(partner, db)
            guard row.status == "active" else { throw StoreError.partnerDisabled(partner.value) }
            try APIKeyRow(
                keyID: key.keyID, partnerID: row.id!, secretDigest: Data(key.secretDigest), createdAt: now, revokedAt: nil,
                role: role.rawValue, label: label
            ).insert(db)
            try LedgerAppender.append(
                db, action: .partnerKeyAdded, partner: partner.value,
                details: PartnerLedgerDetails.keyAdded(keyID: key.keyID, role: role, label: label), at: now, signals: .unchanged, copy: signalCopy)
        }
        logger.info("partner key added", metadata: ["partner.id": "\(partner)", "key.id": "\(key.keyID)", "key.role": "\(role)"])
    }

    public func keys(partner: PartnerID) async throws -> [KeySummary] {
        try await writer.read { db in
            let row = try partnerRow(partner, db)
            return try APIKeyRow.filter(APIKeyRow.Columns.partnerID == row.id!)
                .order(Column("created_at").desc, APIKeyRow.Columns.keyID)
                .fetchAll(db)
                .map { key in
                    KeySummary(
                        keyID: key.keyID, role: KeyRole(rawValue: key.role) ?? .read, label: key.label,
                        createdAt: RFC3339.format(milliseconds: key.createdAt),
                        revokedAt: key.revokedAt.map { RFC3339.format(milliseconds: $0) })
                }
        }
    }

    public func revokeKey(partner: PartnerID, keyID: String, at now: Int64) async throws {
        try await writer.write { db in
            let row = try partnerRow(partner, db)
            let changed = try APIKeyRow
                .filter(APIKeyRow.Columns.partnerID == row.id! && APIKeyRow.Columns.keyID == keyID && APIKeyRow.Columns.revokedAt == nil)
                .updateAll(db, APIKeyRow.Columns.revokedAt.set(to: now))
            guard changed == 1 else { throw StoreError.keyNotFound(partner: partner.value, keyID: keyID) }
            try db.execute(sql: "DELETE FROM portal_session WHERE key_id = ?", arguments: [keyID])
            try LedgerAppender.append(
                db, action: .partnerKeyRevoked, partner: partner.value, details: PartnerLedgerDetails.keyRevoked(keyID: keyID), at: now, signals: .unchanged, copy: signalCopy)
        }
        logger.info("partner key revoked", metadata: ["partner.id": "\(partner)", "key.id": "\(keyID)"])
    }

    public func createPortalSession(_ session: NewPortalSession) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM portal_session WHERE expires_at <= ?", arguments: [session.createdAt])
            try db.execute(
                sql: "INSERT INTO portal_session (digest, key_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [Data(session.digest), session.keyID, session.createdAt, session.expiresAt])
        }
    }

    public func portalSession(digest: [UInt8], at now: Int64) async throws -> PortalSession? {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT p.id, p.slug, k.role, k.key_id, s.expires_at
                        FROM portal_session s JOIN api_key k ON k.key_id = s.key_id JOIN partner p ON p.id = k.partner_id
                        WHERE s.digest = ? AND s.expires_at > ? AND k.revoked_at IS NULL AND p.status = 'active'
                        """,
                    arguments: [Data(digest), now])
            else { return nil }
            return PortalSession(
                partner: AuthenticatedPartner(rowID: row[0], id: row[1], role: KeyRole(rawValue: row[2]) ?? .read),
                keyID: row[3], expiresAt: row[4])
        }
    }

    public func endPortalSession(digest: [UInt8]) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM portal_session WHERE digest = ?", arguments: [Data(digest)])
        }
    }

    private func partnerRow(_ partner: PartnerID, _ db: Database) throws -> PartnerRow {
        guard let row = try PartnerRow.filter(PartnerRow.Columns.slug == partner.value).fetchOne(db) else {
            throw StoreError.partnerNotFound(partner.value)
        }
        return row
    }
}
