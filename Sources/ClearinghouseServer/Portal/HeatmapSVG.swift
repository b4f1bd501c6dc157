import ClearinghouseCore
import Foundation

/// The portal's heatmap: a partner's items (rows) against other brands' items (columns),
/// each cell coloured by the pair's lift, drawn as inline SVG on the server.
///
/// Inline SVG needs no script and no asset from elsewhere, so it passes the portal's strict
/// Content-Security-Policy. Each cell carries an SVG `<title>` (the browser shows it on hover:
/// the pair, its lift and its released counts) and `data-` attributes (what the browser tests
/// read back and compare with the API's answer). Colours are six lift bands around 1 (no
/// association), with a legend; a pair the release did not publish (below the threshold) is
/// drawn grey, and says so.
struct HeatmapSVG {
    /// More columns than this would be unreadable; the strongest ones are kept.
    static let maximumColumns = 80
    static let cell = 26
    static let rowLabelWidth = 170
    static let columnLabelHeight = 150

    /// Lift bands, lowest first: upper bound (exclusive) and colour. Blue below 1, red above.
    static let bands: [(upper: Double, colour: String, label: String)] = [
        (0.5, "#2c7bb6", "below 0.5"),
        (0.8, "#abd9e9", "0.5 to 0.8"),
        (1.25, "#ffffbf", "0.8 to 1.25"),
        (2, "#fdae61", "1.25 to 2"),
        (4, "#f46d43", "2 to 4"),
        (.infinity, "#d73027", "4 or more"),
    ]
    static let missingColour = "#e4e4e4"
    static let legendSwatchWidth = 105
    /// The legend's seven swatches side by side.
    static let legendWidth = 40 + (bands.count + 1) * legendSwatchWidth

    let rows: [String]
    let columns: [String]
    let columnsInRelease: Int
    let cells: [String: Affinity]

    init(affinities: [Affinity]) {
        var strongest: [String: Double] = [:]
        var cells: [String: Affinity] = [:]
        for affinity in affinities {
            strongest[affinity.item] = max(strongest[affinity.item] ?? -.infinity, affinity.lift)
            cells[Self.key(affinity.category, affinity.item)] = affinity
        }
        let kept = strongest.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(Self.maximumColumns).map(\.key)
        let keptSet = Set(kept)
        self.rows = Set(affinities.map(\.category)).sorted()
        self.columns = kept.sorted()
        self.columnsInRelease = strongest.count
        self.cells = cells.filter { keptSet.contains($0.value.item) }
    }

    /// The cells drawn, row by row (the page's table lists every pair, drawn or not).
    var drawnCells: [Affinity] {
        rows.flatMap { row in columns.compactMap { cells[Self.key(row, $0)] } }
    }

    static func band(of lift: Double) -> Int { bands.firstIndex { lift < $0.upper } ?? bands.count - 1 }

    func render() -> String {
        // The rotated column labels reach past the last column: room for the longest on the right.
        let width = max(Self.rowLabelWidth + columns.count * Self.cell + Self.columnLabelHeight / 2, Self.legendWidth)
        let legendTop = Self.columnLabelHeight + rows.count * Self.cell + 24
        let height = legendTop + 60
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)" role="img" aria-labelledby="heatmap-title heatmap-desc">
            <title id="heatmap-title">Lift of your items against other brands' items</title>
            <desc id="heatmap-desc">\(Self.escape(summary))</desc>

            """
        for (index, column) in columns.enumerated() {
            let x = Self.rowLabelWidth + index * Self.cell + Self.cell / 2
            svg += "<text class=\"column-label\" transform=\"translate(\(x),\(Self.columnLabelHeight - 6)) rotate(-60)\">\(Self.escape(column))</text>\n"
        }
        for (rowIndex, row) in rows.enumerated() {
            let y = Self.columnLabelHeight + rowIndex * Self.cell
            svg += "<text class=\"row-label\" x=\"\(Self.rowLabelWidth - 8)\" y=\"\(y + Self.cell / 2 + 4)\" text-anchor=\"end\">\(Self.escape(row))</text>\n"
            for (columnIndex, column) in columns.enumerated() {
                let x = Self.rowLabelWidth + columnIndex * Self.cell
                let rect = "x=\"\(x)\" y=\"\(y)\" width=\"\(Self.cell - 2)\" height=\"\(Self.cell - 2)\""
                if let affinity = cells[Self.key(row, column)] {
                    svg += """
                        <rect class="cell" \(rect) fill="\(Self.bands[Self.band(of: affinity.lift)].colour)" \
                        data-category="\(Self.escape(row))" data-item="\(Self.escape(column))" data-lift="\(Self.number(affinity.lift, 6))" \
                        data-n="\(affinity.n)" data-n-category="\(affinity.nCategory)"><title>\(Self.escape(Self.tooltip(affinity)))</title></rect>

                        """
                } else {
                    svg += "<rect class=\"cell missing\" \(rect) fill=\"\(Self.missingColour)\"><title>\(Self.escape("\(row) × \(column): not released (fewer persons than the threshold)"))</title></rect>\n"
                }
            }
        }
        svg += legend(top: legendTop)
        svg += "</svg>"
        return svg
    }

    private func legend(top: Int) -> String {
        var legend = "<g class=\"legend\" aria-hidden=\"true\"><text x=\"0\" y=\"\(top + 12)\">Lift</text>\n"
        let swatches = Self.bands.map { ($0.colour, $0.label) } + [(Self.missingColour, "not released")]
        for (index, swatch) in swatches.enumerated() {
            let x = 40 + index * Self.legendSwatchWidth
            legend += "<rect x=\"\(x)\" y=\"\(top)\" width=\"16\" height=\"16\" fill=\"\(swatch.0)\" stroke=\"#888\"/>"
            legend += "<text x=\"\(x + 22)\" y=\"\(top + 12)\">\(Self.escape(swatch.1))</text>\n"
        }
        return legend + "</g>\n"
    }

    /// What a screen reader says for the whole picture.
    var summary: String {
        let strongest = drawnCells.max { $0.lift < $1.lift }
        var text = "\(rows.count) of your items against \(columns.count) items of other brands"
        if columnsInRelease > columns.count { text += " (the \(columns.count) strongest of \(columnsInRelease))" }
        if let strongest { text += "; the strongest pair is \(strongest.category) with \(strongest.item), lift \(Self.number(strongest.lift, 2))" }
        return text + ". The table below lists every released pair of yours."
    }

    static func tooltip(_ affinity: Affinity) -> String {
        "\(affinity.category) × \(affinity.item): lift \(number(affinity.lift, 2)); \(affinity.n) persons with both; "
            + "\(affinity.nCategory) of your \(affinity.category) persons shop at \(affinity.partner)"
    }

    static func number(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    private static func key(_ category: String, _ item: String) -> String { "\(category)\u{0}\(item)" }

    /// Text and attribute values: category names come from partners' uploads.
    static func escape(_ text: String) -> String { HTMLText.escape(text) }
}
