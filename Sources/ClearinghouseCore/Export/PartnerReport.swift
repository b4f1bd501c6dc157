import Foundation

/// The HTML report of one partner's export: one self-contained file (inline CSS, no script, no
/// network), so it opens from a shared folder or an e-mail attachment.
///
/// It shows the release parameters, a heatmap of the partner's categories against other
/// brands' items by lift (the `maxColumns` items with the strongest lift, so the page stays
/// readable), and the surprise lists with their evidence.
public struct PartnerReport: Sendable {
    let files: PartnerExportFiles
    static let maxColumns = 30
    static let suggestionsShown = 5

    public init(files: PartnerExportFiles) { self.files = files }

    public var html: String {
        let release = files.release
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Clearinghouse report: \(Self.escape(files.partner)), release \(release.id)</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430}
            h1{font-size:22px}h2{font-size:17px;margin-top:28px}
            table{border-collapse:collapse}td,th{border:1px solid #d6dbe3;padding:3px 6px;text-align:left}
            table.heat td{width:26px;height:22px;text-align:center;font-size:11px;padding:0}
            table.heat th.col{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:11px;white-space:nowrap}
            .params td:first-child{color:#5b6575}.muted{color:#5b6575}.lists{display:flex;flex-wrap:wrap;gap:16px}
            .list{border:1px solid #d6dbe3;border-radius:6px;padding:8px 12px;min-width:300px}
            .legend span{display:inline-block;width:38px;text-align:center;font-size:11px}
            </style></head><body>
            <h1>\(Self.escape(files.partner)): cross-brand affinities and surprises</h1>
            <p class="muted">Aggregates of at least k persons only; no row-level data. Counts are \(Self.escape(release.countsAre)).</p>
            <h2>Release</h2>
            <table class="params" id="release">
            <tr><td>release</td><td>\(release.id), created \(Self.escape(release.createdAt))</td></tr>
            <tr><td>k</td><td>\(release.k)</td></tr>
            <tr><td>differential privacy</td><td>\(release.differentialPrivacy ? "on: epsilon \(release.epsilon.map { "\($0)" } ?? "-"), delta \(release.delta.map { "\($0)" } ?? "-"), noise sigma \(release.noiseSigma.map { String(format: "%.1f", $0) } ?? "-"), threshold \(release.threshold)" : "off (counts rounded down to tens)")</td></tr>
            <tr><td>contribution bounds</td><td>\(release.bounds.itemsPerPartner) items per partner, \(release.bounds.partnersPerPerson) partners per person</td></tr>
            <tr><td>pairs released</td><td>\(release.pairsReleased)</td></tr>
            <tr><td>scoring</td><td>lift at least \(files.scoring.minimumLift); try instead: direct lift at most \(files.scoring.maximumDirectLift); baseline demotion \(files.scoring.baselineDemotion); baseline of the \(files.scoring.baselineSize == 0 ? "list's length" : "\(files.scoring.baselineSize)") most popular candidates</td></tr>
            </table>

            """
        page += budgetSection
        page += heatmap
        page += lists(title: "Cross-brand suggestions", id: "cross", files.cross)
        page += lists(title: "Try instead (your own items, found through other brands)", id: "instead", files.instead)
        page += gapSection
        page += outcomeSection
        page += "</body></html>\n"
        return page
    }

    /// What the partner's suggestions achieved, from its own reports (POST /v1/outcomes).
    var outcomeSection: String {
        let summary = files.outcomes
        var html = "<h2>Outcomes: what your suggestions achieved</h2>\n"
        guard !summary.periods.isEmpty else {
            return html + "<p class=\"muted\">No outcomes reported yet (POST /v1/outcomes); lists rank by the release's evidence alone.</p>\n"
        }
        func rate(_ totals: OutcomeTotals) -> String {
            totals.rate.map { String(format: "%.2f%% of %d", $0 * 100, totals.invited) } ?? "-"
        }
        html += "<table class=\"params\" id=\"outcomes\">\n"
        html += "<tr><td>acceptance outside the popularity baseline</td><td>\(rate(summary.outsideBaseline))</td></tr>\n"
        html += "<tr><td>acceptance inside it</td><td>\(rate(summary.insideBaseline))</td></tr>\n"
        html += "<tr><td>explore / exploit</td><td>\(rate(summary.explore)) / \(rate(summary.exploit))</td></tr>\n"
        html += "<tr><td>proven surprises</td><td>\(summary.proven.count)</td></tr>\n</table>\n"
        html += OutcomeChart(summary: summary).svg
        if !summary.proven.isEmpty {
            html += "<p>Proven surprises (outside the baseline, accepted significantly more often than your average):</p><ul>"
            for proven in summary.proven {
                html += "<li>\(Self.escape(proven.item)) &rarr; \(Self.escape(proven.suggested)) <span class=\"muted\">"
                    + String(format: "%.2f%% of %d invitations", proven.rate * 100, proven.invited) + "</span></li>"
            }
            html += "</ul>\n"
        }
        return html
    }

    /// Audiences where each item of the partner's is bought less than in the overlap.
    var gapSection: String {
        let listed = files.gaps.filter { !$0.gaps.isEmpty }
        var html = "<h2>Gaps: audiences that do not buy your item yet</h2>\n"
        guard !listed.isEmpty else { return html + "<p class=\"muted\">No shortfall stands clear of the noise in this release.</p>\n" }
        html += "<p class=\"muted\">Other brands' audiences where your item is bought less than in the overlap as a whole, by missing "
            + "customers (each clear of noise and sampling at 95%). \"Held back\": the pair was suppressed although far more buyers "
            + "were expected.</p>\n<table id=\"gaps\"><tr><th>your item</th><th>audience</th><th>missing</th><th>expected</th>"
            + "<th>buy it</th><th>they buy instead</th></tr>\n"
        for list in listed {
            for gap in list.gaps.prefix(Self.suggestionsShown) {
                html += "<tr><td>\(Self.escape(list.category))</td><td>\(Self.escape(gap.audience))</td><td>\(gap.missing)</td>"
                    + "<td>\(gap.expected)</td><td>\(gap.observed.map { "\($0)" } ?? "held back")</td><td>"
                    + Self.escape(gap.instead.map(\.item).joined(separator: ", ")) + "</td></tr>\n"
            }
        }
        return html + "</table>\n"
    }

    /// The period's privacy budget as of the export (what `GET /v1/budget` answered then).
    var budgetSection: String {
        guard let budget = files.budget else { return "" }
        var html = "<h2>Privacy budget</h2>\n<table class=\"params\" id=\"budget\">\n"
        html += "<tr><td>period</td><td>\(Self.escape(budget.period)) (\(Self.escape(budget.periodKind))), resets \(Self.escape(budget.resetsAt))</td></tr>\n"
        guard budget.differentialPrivacy else {
            return html + "<tr><td>epsilon</td><td>differential privacy is off: releases spend none</td></tr>\n</table>\n"
        }
        html += "<tr><td>epsilon spent</td><td>" + String(format: "%.3f", budget.epsilonSpent) + " of \(budget.epsilonPerPeriod) (delta \(budget.delta)); left "
            + String(format: "%.3f", budget.epsilonLeft) + "</td></tr>\n"
        html += "<tr><td>releases that still fit</td><td>\(budget.releasesLeft ?? 0) at epsilon \(budget.epsilonPerRelease ?? 0)"
            + (budget.exhausted ? " (spent until the reset)" : "") + "</td></tr>\n"
        let spent = budget.releases.map { "release \($0.release): epsilon " + String(format: "%.3f", $0.epsilon) }
        html += "<tr><td>releases this period</td><td>\(spent.isEmpty ? "none" : Self.escape(spent.joined(separator: "; ")))</td></tr>\n"
        return html + "</table>\n<p class=\"muted\">As of this export. Epsilons of several releases do not add up: the period's total "
            + "is the conversion of their summed zCDP rho.</p>\n"
    }

    /// Own categories (rows) against the other brands' items with the strongest lift (columns).
    var heatmap: String {
        let rows = Array(Set(files.affinities.map(\.category))).sorted()
        var strongest: [String: Double] = [:]
        for affinity in files.affinities { strongest[affinity.item] = max(strongest[affinity.item] ?? 0, affinity.lift) }
        let columns = strongest.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(Self.maxColumns).map(\.key).sorted()
        var lift: [String: Double] = [:]
        for affinity in files.affinities { lift["\(affinity.category)|\(affinity.item)"] = affinity.lift }
        var html = "<h2>Heatmap: your categories against other brands' items, by lift</h2>\n"
        html += "<p class=\"legend\">lift <span style=\"background:\(Self.color(0.5))\">0.5</span><span style=\"background:\(Self.color(1))\">1</span>"
            + "<span style=\"background:\(Self.color(2))\">2</span><span style=\"background:\(Self.color(4))\">4+</span> (blank: not released)</p>\n"
        html += "<table class=\"heat\" id=\"heatmap\"><tr><th></th>"
        for column in columns { html += "<th class=\"col\">\(Self.escape(column))</th>" }
        html += "</tr>\n"
        for row in rows {
            html += "<tr><th>\(Self.escape(row))</th>"
            for column in columns {
                if let value = lift["\(row)|\(column)"] {
                    html += "<td style=\"background:\(Self.color(value))\" title=\"\(Self.escape(row)) / \(Self.escape(column)): lift \(String(format: "%.2f", value))\">"
                        + String(format: "%.1f", value) + "</td>"
                } else {
                    html += "<td></td>"
                }
            }
            html += "</tr>\n"
        }
        return html + "</table>\n"
    }

    func lists(title: String, id: String, _ lists: [RecommendationList]) -> String {
        var html = "<h2>\(Self.escape(title))</h2>\n<div class=\"lists\" id=\"\(id)\">\n"
        let shown = lists.filter { !$0.suggestions.isEmpty }
        if shown.isEmpty { html += "<p class=\"muted\">No suggestion passes the lift minimum in this release.</p>\n" }
        for list in shown {
            html += "<div class=\"list\"><b>\(Self.escape(list.category))</b>"
            if let share = list.unexpectedness {
                html += String(
                    format: " <span class=\"muted\">unexpectedness %.0f%%, novelty %.2f (baseline %.2f)</span>", share * 100,
                    list.meanNovelty ?? 0, list.baseline.meanNovelty ?? 0)
            }
            html += "<ol>"
            for suggestion in list.suggestions.prefix(Self.suggestionsShown) {
                var evidence: [String] = []
                if let lift = suggestion.lift { evidence.append(String(format: "lift %.2f", lift)) }
                if let count = suggestion.count { evidence.append("n &ge; \(count)") }
                if let bridges = suggestion.bridges, !bridges.isEmpty {
                    evidence.append("via " + bridges.map { Self.escape($0.item) }.joined(separator: ", "))
                }
                if let mode = suggestion.mode, let posterior = suggestion.posterior {
                    evidence.append(mode.rawValue + String(format: ", acceptance %.1f%%", posterior.mean * 100))
                }
                if suggestion.proven == true { evidence.append("<b>proven</b>") }
                html += "<li>\(Self.escape(suggestion.item)) <span class=\"muted\">\(evidence.joined(separator: "; "))</span></li>"
            }
            html += "</ol></div>\n"
        }
        return html + "</div>\n"
    }

    /// Blue below lift 1, white at 1, red from 1 up to 4 (log scale).
    static func color(_ lift: Double) -> String {
        let position = max(-1, min(1, log2(max(lift, 1e-9)) / 2))
        let fade = Int((1 - abs(position)) * 255)
        return position >= 0 ? "rgb(255,\(fade),\(fade))" : "rgb(\(fade),\(fade),255)"
    }

    static func escape(_ text: String) -> String { HTMLText.escape(text) }
}
