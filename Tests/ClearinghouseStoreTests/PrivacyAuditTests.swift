import ClearinghouseCore
import Foundation
import Testing

/// The release path audited as a black box: an attacker who knows everything but the noise
/// tries to tell, from one release's published counts, whether one more person took part.
///
/// Two consortia differ by one person who contributes everything the bounds allow (three items
/// at each of three partners: all 48 cells). Many releases are made of each through the real
/// store and release service. The attacker sums the published counts the person touches,
/// learns a threshold on half of the releases and guesses on the other half. For the Gaussian
/// mechanism at the release's rho no test can be right more often than Phi(sqrt(2 rho) / 2)
/// (the two sums differ by 48 in mean and by sigma sqrt(48) in spread); the measured accuracy
/// must stay within three standard errors of that.
@Suite("Privacy audit")
struct PrivacyAuditTests {
    static let partners = ["acme", "globex", "initech"]
    static let categories = ["tents", "boots", "stoves"]
    static let persons = 1000
    static let releasesEach = 300

    /// The store of `persons` persons (plus the neighbour when `withNeighbour`), each buying
    /// every category at every partner, and its released counts keyed by cell.
    static func releases(withNeighbour: Bool) async throws -> (plan: NoisePlan, runs: [[String: Int64]]) {
        var result: (NoisePlan, [[String: Int64]])?
        try await TestDatabase.with(.sqlite) { store, _ in
            let ids = try await store.addPartners(partners)
            let everyone = (0..<persons).map { "audit-\($0)" } + (withNeighbour ? ["the-neighbour"] : [])
            for partner in partners {
                try await store.store(try Batches.consents(everyone), as: ids[partner]!)
                try await store.store(
                    try Batches.signals(everyone.flatMap { person in categories.map { (person: person, category: $0) } }), as: ids[partner]!)
            }
            // Budget raised for the audit: hundreds of releases in one period.
            let service = ReleaseService(
                store: store, settings: PrivacySettings(), budget: PrivacyBudget(epsilonPerPeriod: 10_000, period: .month, delta: 1e-6))
            var runs: [[String: Int64]] = []
            var plan: NoisePlan?
            for _ in 0..<releasesEach {
                let record = try await service.releaseNow(trigger: "audit", at: Batches.now)
                plan = record.plan
                let table = try #require(try await store.releasedTable(id: record.id))
                runs.append(cells(table))
            }
            result = (try #require(plan), runs)
        }
        return try #require(result)
    }

    /// Every released cell once: n_XY, n_X|B, N_AB.
    static func cells(_ table: ReleasedTable) -> [String: Int64] {
        var cells: [String: Int64] = [:]
        for pair in table.pairs {
            let (x, y) = (Int(pair.x), Int(pair.y))
            let (a, b) = (table.catalog.items[x].partner, table.catalog.items[y].partner)
            cells["pair \(x) \(y)"] = pair.both
            cells["item \(x) at \(b)"] = pair.xWithin
            cells["item \(y) at \(a)"] = pair.yWithin
            cells["overlap \(min(a, b)) \(max(a, b))"] = pair.overlap
        }
        return cells
    }

    @Test("one release tells a neighbour apart no better than the Gaussian optimum; the spread matches the published sigma")
    func neighbouringConsortia() async throws {
        let (plan, without) = try await Self.releases(withNeighbour: false)
        let (_, with) = try await Self.releases(withNeighbour: true)
        let cellCount = PrivacySettings().bounds.cellsPerPerson
        #expect(without.allSatisfy { $0.count == cellCount } && with.allSatisfy { $0.count == cellCount }, "every cell released")

        // The statistic: the sum of the person's cells over what the smaller consortium holds.
        let base = Int64(Self.persons * cellCount)
        func statistic(_ run: [String: Int64]) -> Int64 { run.values.reduce(0, +) - base }
        let half = Self.releasesEach / 2
        let train = without[..<half].map { (statistic($0), false) } + with[..<half].map { (statistic($0), true) }
        let test = without[half...].map { (statistic($0), false) } + with[half...].map { (statistic($0), true) }
        // The attacker's threshold: the one that is right most often on the training half.
        let candidates = Set(train.map(\.0)).sorted()
        let threshold = candidates.max { a, b in
            train.filter { ($0.0 > a) == $0.1 }.count < train.filter { ($0.0 > b) == $0.1 }.count
        }!
        let accuracy = Double(test.filter { ($0.0 > threshold) == $0.1 }.count) / Double(test.count)
        let optimum = StandardNormal.cdf((2 * plan.rho).squareRoot() / 2)
        let standardError = (optimum * (1 - optimum) / Double(test.count)).squareRoot()
        print(
            "PrivacyAuditTests: rho \(plan.rho), sigma \(plan.sigma); attacker accuracy \(accuracy) on \(test.count) releases, "
                + "Gaussian optimum \(optimum), allowed up to \(optimum + 3 * standardError)")
        #expect(accuracy <= optimum + 3 * standardError)

        // The published sigma is the noise's spread: released minus exact over every cell.
        var residuals: [Double] = []
        for run in without { residuals += run.values.map { Double($0 - Int64(Self.persons)) } }
        for run in with { residuals += run.values.map { Double($0 - Int64(Self.persons + 1)) } }
        let mean = residuals.reduce(0, +) / Double(residuals.count)
        let spread = (residuals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(residuals.count - 1)).squareRoot()
        print("PrivacyAuditTests: spread of released counts \(spread) over \(residuals.count) cells, published sigma \(plan.sigma)")
        #expect(abs(spread / plan.sigma - 1) < 0.1)
        // No two releases of the same data carry the same noise.
        #expect(Set(without.map { $0.values.sorted() }).count == without.count)
    }
}
