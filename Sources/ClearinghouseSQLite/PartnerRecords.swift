import ClearinghouseCore
import Foundation
import GRDB

/// A row of `partner`.
struct PartnerRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "partner"

    var id: Int64?
    var slug: String
    var name: String
    var status: String
    var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, slug, name, status
        case createdAt = "created_at"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let slug = Column(CodingKeys.slug)
        static let status = Column(CodingKeys.status)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// A row of `api_key`: the digest of a key's secret, never the secret.
struct APIKeyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "api_key"

    var keyID: String
    var partnerID: Int64
    var secretDigest: Data
    var createdAt: Int64
    var revokedAt: Int64?
    /// `KeyRole.rawValue`.
    var role: String = KeyRole.upload.rawValue
    var label: String?

    enum CodingKeys: String, CodingKey {
        case role, label
        case keyID = "key_id"
        case partnerID = "partner_id"
        case secretDigest = "secret_digest"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }

    enum Columns {
        static let keyID = Column(CodingKeys.keyID)
        static let partnerID = Column(CodingKeys.partnerID)
        static let revokedAt = Column(CodingKeys.revokedAt)
        static let role = Column(CodingKeys.role)
    }
}

