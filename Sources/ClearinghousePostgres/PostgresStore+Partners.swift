import ClearinghouseCore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    public func addPartner(id: PartnerID, name: String, key: APIKey, at now: Int64) async throws {
        try await write { connection in
            let inserted = try await connection.query(
                """
                INSERT INTO partner (slug, name, status, created_at) VALUES (\(id.value), \(name), 'active', \(now))
                ON CONFLICT (slug) DO NOTHING RETURNING id
                """, logger: logger
            ).all(Int64.self)
            guard let rowID = inserted.first else { throw StoreError.partnerExists(id.value) }
            try await connection.query(
                """
                INSERT INTO api_key (key_id, partner_id, secret_digest, created_at, role)
                VALUES (\(key.keyID), \(rowID), \(key.secretDigest.buffer), \(now), 'upload')
                """, logger: logger)
            try await PostgresLedger.append(
                connection, action: .partnerAdded, partner: id.value, details: PartnerLedgerDetails.added(name: name, keyID: key.keyID),
                at: now, logger: logger)
        }
        logger.info("partner added", metadata: ["partner.id": "\(id)", "key.id": "\(key.keyID)"])
    }

    public func rotateKey(partner: PartnerID, key: APIKey, at now: Int64) async throws {
        try await write { connection in
            let rowID = try await lockPartner(partner, connection).id
            try await connection.query(
                "UPDATE api_key SET revoked_at = \(now) WHERE partner_id = \(rowID) AND revoked_at IS NULL AND role = 'upload'",
                logger: logger)
            try await connection.query(
                """
                INSERT INTO api_key (key_id, partner_id, secret_digest, created_at, role)
                VALUES (\(key.keyID), \(rowID), \(key.secretDigest.buffer), \(now), 'upload')
                """, logger: logger)
            try await PostgresLedger.append(
                connection, action: .partnerKeyRotated, partner: partner.value,
                details: PartnerLedgerDetails.keyRotated(keyID: key.keyID), at: now, logger: logger)
        }
        logger.info("partner key rotated", metadata: ["partner.id": "\(partner)", "key.id": "\(key.keyID)"])
    }

    public func disablePartner(_ partner: PartnerID, at now: Int64) async throws {
        try await write { connection in
            let rowID = try await lockPartner(partner, connection).id
            try await connection.query("UPDATE partner SET status = 'disabled' WHERE id = \(rowID)", logger: logger)
            try await PostgresLedger.append(
                connection, action: .partnerDisabled, partner: partner.value, details: PartnerLedgerDetails.disabled, at: now,
                logger: logger)
        }
        logger.info("partner disabled", metadata: ["partner.id": "\(partner)"])
    }

    /// The partner's row id and whether it is active, its row locked for the rest of the
    /// transaction (two rotations serialize).
    private func lockPartner(_ partner: PartnerID, _ connection: PostgresConnection) async throws -> (id: Int64, active: Bool) {
        let rows = try await connection.query(
            "SELECT id, status FROM partner WHERE slug = \(partner.value) FOR UPDATE", logger: logger
        ).collect().all((Int64, String).self)
        guard let (rowID, status) = rows.first else { throw StoreError.partnerNotFound(partner.value) }
        return (rowID, status == "active")
    }

    public func partners() async throws -> [PartnerSummary] {
        try await fetch(
            """
            SELECT p.slug, p.name, p.status, p.created_at,
              (SELECT k.key_id FROM api_key k WHERE k.partner_id = p.id AND k.revoked_at IS NULL AND k.role = 'upload'
               ORDER BY k.created_at DESC LIMIT 1)
            FROM partner p ORDER BY p.slug
            """
        ).all((String, String, String, Int64, String?).self).map { slug, name, status, createdAt, keyID in
            PartnerSummary(id: slug, name: name, status: status, createdAt: RFC3339.format(milliseconds: createdAt), keyID: keyID)
        }
    }

    public func credential(keyID: String) async throws -> StoredCredential? {
        // Every request asks this first: it must fail fast, not hang, while the server is down.
        try await leasing { connection in
            let rows = try await connection.query(
                """
                SELECT k.secret_digest, k.revoked_at, p.id, p.slug, p.status, k.role
                FROM api_key k JOIN partner p ON p.id = k.partner_id WHERE k.key_id = \(keyID)
                """, logger: logger)
            for try await (digest, revokedAt, rowID, slug, status, role) in rows.decode(
                (ByteBuffer, Int64?, Int64, String, String, String).self)
            {
                return StoredCredential(
                    partner: AuthenticatedPartner(rowID: rowID, id: slug, role: KeyRole(rawValue: role) ?? .read),
                    secretDigest: digest.bytes,
                    usable: revokedAt == nil && status == "active")
            }
            return nil
        }
    }

    public func addKey(partner: PartnerID, key: APIKey, role: KeyRole, label: String?, at now: Int64) async throws {
        try await write { connection in
            let (rowID, active) = try await lockPartner(partner, connection)
            guard active else { throw StoreError.partnerDisabled(partner.value) }
            try await connection.query(
                """
                INSERT INTO api_key (key_id, partner_id, secret_digest, created_at, role, label)
                VALUES (\(key.keyID), \(rowID), \(key.secretDigest.buffer), \(now), \(role.rawValue), \(label))
                """, logger: logger)
            try await PostgresLedger.append(
                connection, action: .partnerKeyAdded, partner: partner.value,
                details: PartnerLedgerDetails.keyAdded(keyID: key.keyID, role: role, label: label), at: now, logger: logger)
        }
        logger.info("partner key added", metadata: ["partner.id": "\(partner)", "key.id": "\(key.keyID)", "key.role": "\(role)"])
    }

    public func keys(partner: PartnerID) async throws -> [KeySummary] {
        let rows = try await fetch(
            """
            SELECT k.key_id, k.role, k.label, k.created_at, k.revoked_at
            FROM api_key k JOIN partner p ON p.id = k.partner_id WHERE p.slug = \(partner.value)
            ORDER BY k.created_at DESC, k.key_id
            """
        ).all((String, String, String?, Int64, Int64?).self)
        if rows.isEmpty, try await fetch("SELECT 1 FROM partner WHERE slug = \(partner.value)").all(Int32.self).isEmpty {
            throw StoreError.partnerNotFound(partner.value)
        }
        return rows.map { keyID, role, label, createdAt, revokedAt in
            KeySummary(
                keyID: keyID, role: KeyRole(rawValue: role) ?? .read, label: label, createdAt: RFC3339.format(milliseconds: createdAt),
                revokedAt: revokedAt.map { RFC3339.format(milliseconds: $0) })
        }
    }

    public func revokeKey(partner: PartnerID, keyID: String, at now: Int64) async throws {
        try await write { connection in
            let rowID = try await lockPartner(partner, connection).id
            let revoked = try await connection.query(
                """
                UPDATE api_key SET revoked_at = \(now)
                WHERE partner_id = \(rowID) AND key_id = \(keyID) AND revoked_at IS NULL RETURNING key_id
                """, logger: logger
            ).all(String.self)
            guard !revoked.isEmpty else { throw StoreError.keyNotFound(partner: partner.value, keyID: keyID) }
            try await connection.query("DELETE FROM portal_session WHERE key_id = \(keyID)", logger: logger)
            try await PostgresLedger.append(
                connection, action: .partnerKeyRevoked, partner: partner.value, details: PartnerLedgerDetails.keyRevoked(keyID: keyID),
                at: now, logger: logger)
        }
        logger.info("partner key revoked", metadata: ["partner.id": "\(partner)", "key.id": "\(keyID)"])
    }

    public func createPortalSession(_ session: NewPortalSession) async throws {
        try await write { connection in
            try await connection.query("DELETE FROM portal_session WHERE expires_at <= \(session.createdAt)", logger: logger)
            try await connection.query(
                """
                INSERT INTO portal_session (digest, key_id, created_at, expires_at)
                VALUES (\(session.digest.buffer), \(session.keyID), \(session.createdAt), \(session.expiresAt))
                """, logger: logger)
        }
    }

    public func portalSession(digest: [UInt8], at now: Int64) async throws -> PortalSession? {
        try await fetch(
            """
            SELECT p.id, p.slug, k.role, k.key_id, s.expires_at
            FROM portal_session s JOIN api_key k ON k.key_id = s.key_id JOIN partner p ON p.id = k.partner_id
            WHERE s.digest = \(digest.buffer) AND s.expires_at > \(now) AND k.revoked_at IS NULL AND p.status = 'active'
            """
        ).all((Int64, String, String, String, Int64).self).first.map { rowID, slug, role, keyID, expiresAt in
            PortalSession(
                partner: AuthenticatedPartner(rowID: rowID, id: slug, role: KeyRole(rawValue: role) ?? .read), keyID: keyID,
                expiresAt: expiresAt)
        }
    }

    public func endPortalSession(digest: [UInt8]) async throws {
        try await write { connection in
            try await connection.query("DELETE FROM portal_session WHERE digest = \(digest.buffer)", logger: logger)
        }
    }
}
