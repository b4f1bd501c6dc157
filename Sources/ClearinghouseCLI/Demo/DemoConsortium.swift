import ClearinghouseCore
import Foundation

/// The synthetic consortium `clearinghouse demo` runs: four brands whose customers overlap, with
/// one planted bridge per brand, written as the CRM exports a partner would upload.
///
/// The shape comes from ``SyntheticConsortium`` (Zipf-like category popularity, persons at one
/// to three brands); this file gives it names a newcomer can read and the stories of the bridges,
/// so the printed lists can be checked against what was planted.
struct DemoConsortium {
    struct Brand {
        let id: String
        let name: String
        /// Most popular first: ``SyntheticConsortium`` makes category 0 the best seller.
        let categories: [String]
    }

    /// A planted bridge: buyers of `from` at its brand also buy `via` at another brand, and
    /// other `via` buyers buy `to` at the first brand, so `to` is what "try instead" should
    /// propose to `from`'s buyers although the two are barely linked directly.
    struct Bridge {
        let brand: Int
        let from: Int
        let viaBrand: Int
        let via: Int
        let to: Int
    }

    static let brands = [
        Brand(
            id: "trailhead", name: "Trailhead Outdoor",
            categories: [
                "tents", "sleeping-bags", "hiking-boots", "rain-jackets", "headlamps", "camp-stoves", "trekking-poles",
                "kayaks", "climbing-ropes", "water-filters",
            ]),
        Brand(
            id: "brewline", name: "Brewline Coffee",
            categories: [
                "espresso", "filter-coffee", "cold-brew", "decaf", "oat-milk", "travel-mugs", "grinders", "tea", "pastries",
                "gift-cards",
            ]),
        Brand(
            id: "pageturn", name: "Pageturn Books",
            categories: [
                "thrillers", "cookbooks", "travel-guides", "poetry", "sci-fi", "biographies", "comics", "kids-books",
                "nature-writing", "maps",
            ]),
        Brand(
            id: "pulse", name: "Pulse Fitness",
            categories: [
                "yoga-mats", "running-shoes", "protein", "kettlebells", "swim-goggles", "cycling-gloves", "foam-rollers",
                "smartwatches", "resistance-bands", "climbing-chalk",
            ]),
    ]

    static let bridges = [
        Bridge(brand: 0, from: 4, viaBrand: 2, via: 8, to: 7),  // headlamps -> nature-writing -> kayaks
        Bridge(brand: 1, from: 2, viaBrand: 3, via: 5, to: 5),  // cold-brew -> cycling-gloves -> travel-mugs
        Bridge(brand: 2, from: 2, viaBrand: 0, via: 6, to: 9),  // travel-guides -> trekking-poles -> maps
        Bridge(brand: 3, from: 4, viaBrand: 1, via: 7, to: 8),  // swim-goggles -> tea -> resistance-bands
    ]

    let persons: Int
    let consortium: SyntheticConsortium

    init(persons: Int, seed: UInt64) {
        self.persons = persons
        consortium = SyntheticConsortium(
            partners: Self.brands.map(\.id), categories: Self.brands[0].categories.count, persons: persons,
            plants: Self.bridges.map {
                .init(fromPartner: $0.brand, fromCategory: $0.from, viaPartner: $0.viaBrand, viaCategory: $0.via, toCategory: $0.to)
            }, seed: seed)
    }

    static func item(_ brand: Int, _ category: Int) -> String { "\(brands[brand].id):\(brands[brand].categories[category])" }

    /// The CRM export header: names the upload client recognises without options.
    static let header = "email,category,quantity,purchased_at,consent_at,consent_ref"

    /// Writes one CSV export per brand into `folder` and returns their paths with their row counts.
    ///
    /// Every brand writes a customer's address in its own spelling (letter case, a stray space),
    /// so the demo also shows the normalization profile linking them. Purchases fall in the last
    /// 60 days, consents 90 days back: all live when the release runs.
    func writeExports(to folder: String, now: Int64) throws -> [(brand: Brand, path: String, rows: Int)] {
        var rows = Array(repeating: [Self.header], count: Self.brands.count)
        let day: Int64 = 86_400_000
        let consentAt = RFC3339.format(milliseconds: now - 90 * day)
        for (index, signal) in consortium.signals.enumerated() {
            let brand = Self.brands[signal.partner]
            let observed = now - Int64((signal.person * 7 + index) % 60) * day - 3_600_000
            rows[signal.partner].append(
                [
                    Self.email(person: signal.person, brand: signal.partner), brand.categories[signal.category],
                    "\(Int(signal.weight))", RFC3339.format(milliseconds: observed), consentAt,
                    "cmp-\(brand.id)-\(signal.person)",
                ].joined(separator: ","))
        }
        return try Self.brands.indices.map { brand in
            let path = folder + "/\(Self.brands[brand].id)-crm.csv"
            try (rows[brand].joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return (Self.brands[brand], path, rows[brand].count - 1)
        }
    }

    /// The same person under each brand's spelling; `email-v1` maps all of them to one form.
    static func email(person: Int, brand: Int) -> String {
        switch brand {
        case 0: "customer\(person)@demo.example"
        case 1: "Customer\(person)@Demo.Example"
        case 2: " customer\(person)@DEMO.example"
        default: "CUSTOMER\(person)@demo.example"
        }
    }
}
