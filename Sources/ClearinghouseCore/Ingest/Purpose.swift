/// A purpose a person can grant consent for.
///
/// The daemon processes exactly one purpose today, cross-brand affinity. It refuses purposes it
/// does not process instead of storing them (data minimisation): a consent record that lists
/// only unknown purposes would authorise nothing here.
public enum Purpose: String, CaseIterable, Sendable, Codable {
    case affinity

    /// The bit of this purpose in a stored purpose set.
    public var bit: UInt32 {
        switch self {
        case .affinity: return 1
        }
    }

    /// The purposes whose bits are set in `mask`.
    public static func decode(mask: UInt32) -> [Purpose] {
        allCases.filter { mask & $0.bit != 0 }
    }
}
