import ClearinghouseCore
import Foundation

// What each portal template is rendered with. Every figure is formatted here, so templates
// hold no logic; every value is something the partner's API answers already show it.

/// The frame every signed-in page shares: the partner, the sign-out form's CSRF token, the menu.
struct PortalFrame {
    struct Link {
        let label: String
        let href: String
        let current: Bool
    }
    let partner: String
    let csrf: String
    let expires: String
    let links: [Link]

    static let pages: [(label: String, path: String)] = [
        ("Overview", "overview"), ("Heatmap", "heatmap"), ("Surprises", "surprises"), ("Exports", "exports"),
    ]

    init(session: PortalSession, token: PortalSessionToken, current: String) {
        partner = session.partner.id
        csrf = token.csrfToken
        expires = RFC3339.format(milliseconds: session.expiresAt)
        links = Self.pages.map { Link(label: $0.label, href: "/portal/\($0.path)", current: $0.path == current) }
    }
}

struct PortalErrorView {
    let title: String
    let status: String
    let message: String
}

struct SignInView {
    let title = "Sign in"
    let csrf: String
    let error: String?
    let tls: Bool
}

/// A release as the pickers and tables show it.
struct ReleaseRow {
    let id: Int64
    let createdAt: String
    let privacy: String
    let noise: String
    let threshold: Int64
    let pairs: Int
    let selected: Bool

    init(_ info: PublicReleaseInfo, selected: Int64? = nil) {
        id = info.id
        createdAt = info.createdAt
        privacy =
            info.differentialPrivacy
            ? "ε = \(Self.short(info.epsilon ?? 0)), δ = \(Self.short(info.delta ?? 0))" : "no noise (k-anonymity only, counts bucketed)"
        noise = info.noise ?? "none"
        threshold = info.threshold
        pairs = info.pairsReleased
        self.selected = info.id == selected
    }

    static func short(_ value: Double) -> String {
        value != 0 && abs(value) < 0.001 ? String(format: "%.0e", value) : String(format: "%g", value)
    }
}

struct OverviewView {
    struct Latest {
        let release: ReleaseRow
        let k: Int
        let bounds: String
        let countsAre: String
    }
    struct Budget {
        let dp: Bool
        let period: String
        let epsilonSpent: String
        let epsilonPerPeriod: String
        let epsilonLeft: String
        let percentSpent: String
        let meterValue: String
        let releasesLeft: String
        let resetsAt: String
        let exhausted: Bool
        let scheduled: String?
    }
    let title = "Overview"
    let frame: PortalFrame
    let latest: Latest?
    let budget: Budget
    let releases: [ReleaseRow]
    let hasReleases: Bool
}

struct HeatmapView {
    struct Cell {
        let category: String
        let item: String
        let lift: String
        let n: Int64
        let nCategory: Int64
        let confidence: String
    }
    let title = "Heatmap"
    let frame: PortalFrame
    let release: ReleaseRow?
    let releases: [ReleaseRow]
    let svg: String?
    let summary: String?
    let cells: [Cell]
    let countsNote: String
}

struct SurprisesView {
    struct Bridge {
        let item: String
        let liftFrom: String
        let liftTo: String
        let countFrom: Int64
        let countTo: Int64
        /// The lifts to six decimals, for `data-` attributes (what the browser tests read back).
        let exactLiftFrom: String
        let exactLiftTo: String
    }
    struct Row {
        let rank: Int
        let item: String
        let score: String
        let lift: String
        let confidence: String
        let count: String
        /// Score and lift to six decimals, count as released (empty when below k), for `data-` attributes.
        let exactScore: String
        let exactLift: String
        let exactCount: String
        let novelty: String
        let inBaseline: Bool
        let bridges: [Bridge]
        let hasBridges: Bool
        /// What the lists learned (docs/feedback.md): the slot's mode, the posterior acceptance
        /// with its 90% interval, the partner's own invitations, and whether it is proven.
        let mode: String
        let acceptance: String
        let exactPosteriorMean: String
        let invited: String
        let proven: Bool
    }
    struct List {
        let kind: String
        let heading: String
        let rows: [Row]
        let empty: Bool
        let unexpectedness: String
        let baseline: String
        let note: String?
    }
    struct Item {
        let category: String
        let anchor: String
        let lists: [List]
    }
    struct CategoryOption {
        let name: String
        let selected: Bool
    }
    let title = "Surprises"
    let frame: PortalFrame
    let release: ReleaseRow?
    let releases: [ReleaseRow]
    let categories: [CategoryOption]
    let items: [Item]
    /// Your items for which neither list has a suggestion, comma-separated.
    let withoutSuggestions: String?
    let minimumLift: String
}

struct ExportsView {
    struct Export {
        let release: Int64
        let at: String
        let files: Int
        let folder: String
        let manifest: String
        let keyID: String
    }
    let title = "Exports"
    let frame: PortalFrame
    let exports: [Export]
    let hasExports: Bool
    let publicKey: String?
    let exampleFolder: String
}
