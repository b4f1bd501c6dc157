/// The three kinds of write a partner makes, one per endpoint.
public enum BatchKind: String, Sendable, Codable, CaseIterable {
    case consents
    case signals
    case revocations

    /// The fields a line of this kind may carry.
    public var allowedFields: Set<LineField> {
        switch self {
        case .consents: return [.token, .kid, .purposes, .grantedAt, .expiresAt, .proof]
        case .signals: return [.token, .kid, .category, .weight, .observedAt]
        case .revocations: return [.token, .kid]
        }
    }

    /// The fields a line of this kind must carry.
    public var requiredFields: [LineField] {
        switch self {
        case .consents: return [.token, .kid, .purposes, .grantedAt]
        case .signals: return [.token, .kid, .category, .observedAt]
        case .revocations: return [.token, .kid]
        }
    }

    /// Singular noun for messages ("a signal line").
    var lineNoun: String {
        switch self {
        case .consents: return "consent"
        case .signals: return "signal"
        case .revocations: return "revocation"
        }
    }
}

/// The body formats the write endpoints accept.
public enum BodyFormat: String, Sendable {
    case ndjson
    case csv
}
