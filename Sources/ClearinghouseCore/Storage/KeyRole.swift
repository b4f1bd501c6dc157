/// What an API key may do.
///
/// A partner's upload key (the one `partner add` prints) runs its upload scripts: every
/// operation. A read key is for the people who only look (marketers, in the portal, or a
/// dashboard's scheduled `GET`s): it may read everything its partner may read and write nothing,
/// so handing one out never puts the partner's data at risk of a bad upload or a revocation.
public enum KeyRole: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case upload
    case read

    /// Whether a key of this role may make a request with this HTTP method.
    public func allows(method: String) -> Bool {
        switch self {
        case .upload: return true
        case .read: return method == "GET" || method == "HEAD"
        }
    }

    public var description: String { rawValue }
}

/// One key of a partner as the operator sees it: never its secret, which is shown once.
public struct KeySummary: Sendable, Codable, Equatable {
    public let keyID: String
    public let role: KeyRole
    public let label: String?
    public let createdAt: String
    /// When it was revoked (or rotated away); `nil` while it works.
    public let revokedAt: String?

    public init(keyID: String, role: KeyRole, label: String?, createdAt: String, revokedAt: String?) {
        self.keyID = keyID
        self.role = role
        self.label = label
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case role, label
        case keyID = "key_id"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }
}

/// A portal session to store: the SHA-256 of its random token (the token itself is only in
/// the browser's cookie), the read key it signed in with, and when it ends.
public struct NewPortalSession: Sendable, Equatable {
    public let digest: [UInt8]
    public let keyID: String
    public let createdAt: Int64
    public let expiresAt: Int64

    public init(digest: [UInt8], keyID: String, createdAt: Int64, expiresAt: Int64) {
        self.digest = digest
        self.keyID = keyID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A live portal session: who it is for and until when.
public struct PortalSession: Sendable, Equatable {
    public let partner: AuthenticatedPartner
    public let keyID: String
    public let expiresAt: Int64

    public init(partner: AuthenticatedPartner, keyID: String, expiresAt: Int64) {
        self.partner = partner
        self.keyID = keyID
        self.expiresAt = expiresAt
    }
}
