import Foundation

/// The report's chart of what a partner's suggestions achieved: acceptance per reported period,
/// one line for suggestions outside the popularity baseline and one for those inside it (and
/// dashed, explore against exploit), as inline SVG so the report stays one file.
struct OutcomeChart {
    let summary: OutcomeSummary
    static let width = 640.0
    static let height = 240.0
    static let margin = (left: 48.0, right: 150.0, top: 12.0, bottom: 36.0)

    struct Series {
        let name: String
        let color: String
        let dashed: Bool
        let values: [Double?]
    }

    var series: [Series] {
        [
            Series(name: "outside baseline", color: "#c0392b", dashed: false, values: summary.periods.map(\.outsideBaseline.rate)),
            Series(name: "inside baseline", color: "#2c6fbb", dashed: false, values: summary.periods.map(\.insideBaseline.rate)),
            Series(name: "explore", color: "#8e44ad", dashed: true, values: summary.periods.map(\.explore.rate)),
            Series(name: "exploit", color: "#16a085", dashed: true, values: summary.periods.map(\.exploit.rate)),
        ]
    }

    var svg: String {
        let periods = summary.periods
        let plotWidth = Self.width - Self.margin.left - Self.margin.right
        let plotHeight = Self.height - Self.margin.top - Self.margin.bottom
        let top = max(0.01, series.flatMap { $0.values.compactMap { $0 } }.max() ?? 0.01) * 1.1
        func x(_ index: Int) -> Double {
            Self.margin.left + (periods.count > 1 ? Double(index) / Double(periods.count - 1) * plotWidth : plotWidth / 2)
        }
        func y(_ rate: Double) -> Double { Self.margin.top + plotHeight * (1 - rate / top) }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" id="outcome-chart" width="\(Int(Self.width))" height="\(Int(Self.height))" \
            role="img" aria-label="Acceptance per period, outside and inside the popularity baseline">
            <rect x="\(Self.margin.left)" y="\(Self.margin.top)" width="\(plotWidth)" height="\(plotHeight)" fill="none" stroke="#d6dbe3"/>

            """
        for step in 0...4 {
            let rate = top * Double(step) / 4
            svg += "<text x=\"\(Self.margin.left - 4)\" y=\(quoted(y(rate) + 4)) font-size=\"10\" text-anchor=\"end\">"
                + String(format: "%.1f%%", rate * 100) + "</text>\n"
        }
        if let first = periods.first, let last = periods.last {
            svg += "<text x=\"\(Self.margin.left)\" y=\"\(Self.height - 12)\" font-size=\"10\">\(first.periodStart.prefix(10))</text>\n"
            svg += "<text x=\"\(Self.margin.left + plotWidth)\" y=\"\(Self.height - 12)\" font-size=\"10\" text-anchor=\"end\">"
                + "\(last.periodEnd.prefix(10))</text>\n"
        }
        for (index, line) in series.enumerated() {
            let points = line.values.enumerated().compactMap { period, rate in rate.map { String(format: "%.1f,%.1f", x(period), y($0)) } }
            if points.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "")"
                    + " points=\"\(points.joined(separator: " "))\"/>\n"
            }
            for point in points {
                let parts = point.split(separator: ",")
                svg += "<circle cx=\"\(parts[0])\" cy=\"\(parts[1])\" r=\"2.5\" fill=\"\(line.color)\"/>\n"
            }
            let legendY = Self.margin.top + 14 + Double(index) * 18
            svg += "<line x1=\"\(Self.width - Self.margin.right + 10)\" y1=\(quoted(legendY - 4)) x2=\"\(Self.width - Self.margin.right + 30)\""
                + " y2=\(quoted(legendY - 4)) stroke=\"\(line.color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "")/>\n"
            svg += "<text x=\"\(Self.width - Self.margin.right + 36)\" y=\(quoted(legendY)) font-size=\"11\">\(line.name)</text>\n"
        }
        return svg + "</svg>\n"
    }

    private func quoted(_ value: Double) -> String { "\"" + String(format: "%.1f", value) + "\"" }
}
