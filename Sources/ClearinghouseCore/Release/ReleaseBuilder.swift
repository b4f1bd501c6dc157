/// The privacy guard: turns exact counts into released counts.
///
/// For every cell (N_AB, n_X|AB, n_XY) whose true count is at least k, one discrete Gaussian
/// draw (``DiscreteGaussian``, exact, from the caller's generator) is added
/// (when differential privacy is on); the cell is released only if its noisy count also
/// reaches the plan's threshold. A pair is released only if its n_XY, both n_X|AB and n_Y|AB,
/// and N_AB are all released. Cells below k are never drawn for and never shown, so a cohort
/// of k-1 persons cannot appear whatever the noise. Each cell is noised once per release.
///
/// A partner's own pairs (both items at partner A) are counted from A's signals alone and are
/// readable by A alone, so they tell A nothing it does not hold already: they are released
/// exact, spend no epsilon, and are still held back below k (N_A, n_X, n_Z and n_XZ all >= k)
/// so that no number below k is ever printed.
public enum ReleaseBuilder {
    public static func build<Generator: RandomNumberGenerator>(
        counts: AffinityCounts, catalog: ReleaseCatalog, settings: PrivacySettings, signals: Int,
        generator: inout Generator
    ) -> (table: ReleasedTable, summary: ReleaseSummary) {
        let plan = settings.plan
        let sampler = plan.sampler
        let k = Int64(settings.k)
        let partnerCount = counts.partnerCount
        var summary = ReleaseSummary(
            persons: counts.persons, personsAtSeveralPartners: counts.personsAtSeveralPartners, signals: signals,
            partners: catalog.partners.count, items: catalog.items.count)

        func guarded(_ value: Int64, released: inout Int, suppressed: inout Int) -> Int64? {
            guard value > 0 else { return nil }
            if value >= k {
                // The draw never sees the count: noise first, then the sum.
                let noisy = value + (sampler?.sample(using: &generator) ?? 0)
                if noisy >= plan.threshold {
                    released += 1
                    return noisy
                }
            }
            suppressed += 1
            return nil
        }

        var overlap = [Int64?](repeating: nil, count: partnerCount * partnerCount)
        for a in 0..<partnerCount {
            for b in (a + 1)..<max(a + 1, partnerCount) {
                overlap[a * partnerCount + b] = guarded(
                    counts.overlapCells[a * partnerCount + b],
                    released: &summary.overlapsReleased, suppressed: &summary.overlapsSuppressed)
            }
        }
        var within = [Int64?](repeating: nil, count: counts.itemCells.count)
        for index in counts.itemCells.indices {
            within[index] = guarded(
                counts.itemCells[index], released: &summary.itemCountsReleased, suppressed: &summary.itemCountsSuppressed)
        }
        var pairs: [ReleasedPair] = []
        counts.forEachPair { x, y, value in
            let a = catalog.items[x].partner
            let b = catalog.items[y].partner
            guard let both = guarded(value, released: &summary.pairsReleased, suppressed: &summary.pairsSuppressed)
            else { return }
            guard let nab = overlap[min(a, b) * partnerCount + max(a, b)],
                let nx = within[x * partnerCount + b], let ny = within[y * partnerCount + a]
            else {
                summary.pairsReleased -= 1
                summary.pairsSuppressed += 1
                return
            }
            pairs.append(ReleasedPair(x: Int32(x), y: Int32(y), both: both, xWithin: nx, yWithin: ny, overlap: nab))
        }
        var ownPairs: [ReleasedPair] = []
        counts.forEachOwnPair { x, z, value in
            let partner = catalog.items[x].partner
            let persons = counts.ownPersons[partner], nx = counts.ownItemPersons[x], nz = counts.ownItemPersons[z]
            guard value >= k, nx >= k, nz >= k, persons >= k else {
                summary.ownPairsSuppressed += 1
                return
            }
            summary.ownPairsReleased += 1
            ownPairs.append(ReleasedPair(x: Int32(x), y: Int32(z), both: value, xWithin: nx, yWithin: nz, overlap: persons))
        }
        return (
            ReleasedTable(
                catalog: catalog, pairs: pairs, ownPairs: ownPairs,
                ownItemPersons: counts.ownItemPersons.map { $0 >= k ? $0 : 0 },
                ownPartnerPersons: counts.ownPersons.map { $0 >= k ? $0 : 0 }),
            summary
        )
    }
}
