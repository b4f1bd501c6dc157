/// A seeded synthetic consortium with known structure, for tests and first looks.
///
/// Persons shop at one to three partners, categories have Zipf-like popularity, and two kinds of
/// structure can be planted:
/// - an affinity A:X -> B:Y (persons with X at A, who shop at B, get Y there);
/// - a bridge X -> Y -> Z: persons with A:X get B:Y, and other persons who hold B:Y (without X)
///   get A:Z, so X and Z are both tied to Y while X and Z are barely tied to each other. That is what
///   "try instead" must find and a popularity baseline cannot.
public struct SyntheticConsortium: Sendable {
    /// One planted structure, by partner and category index.
    public struct Plant: Sendable, Equatable {
        public var fromPartner: Int
        public var fromCategory: Int
        public var viaPartner: Int
        public var viaCategory: Int
        /// For a bridge: the category of `fromPartner` reached through the via item.
        public var toCategory: Int?

        public init(fromPartner: Int, fromCategory: Int, viaPartner: Int, viaCategory: Int, toCategory: Int? = nil) {
            self.fromPartner = fromPartner
            self.fromCategory = fromCategory
            self.viaPartner = viaPartner
            self.viaCategory = viaCategory
            self.toCategory = toCategory
        }
    }

    /// One signal: person index, partner index, category index, weight.
    public struct Signal: Sendable, Equatable {
        public var person: Int
        public var partner: Int
        public var category: Int
        public var weight: Double
    }

    public let partners: [String]
    public let categories: Int
    public let persons: Int
    public private(set) var signals: [Signal] = []
    /// Partners each person shops at (has consent at).
    public private(set) var memberships: [[Int]] = []

    /// `plants` fire with probability `strength` per eligible person.
    public init(
        partners: [String], categories: Int, persons: Int, plants: [Plant], strength: Double = 0.6, seed: UInt64 = 7
    ) {
        self.partners = partners
        self.categories = categories
        self.persons = persons
        var random = SeededGenerator(seed: seed)
        let popularity = (0..<categories).map { 1.0 / Double($0 + 1).squareRoot() }
        let total = popularity.reduce(0, +)
        func category() -> Int {
            var draw = Double.random(in: 0..<total, using: &random)
            for (index, weight) in popularity.enumerated() {
                if draw < weight { return index }
                draw -= weight
            }
            return categories - 1
        }
        var held: [[Set<Int>]] = []  // person -> partner -> categories
        for person in 0..<persons {
            let count = [1, 1, 2, 2, 3].randomElement(using: &random)!
            let chosen = Array(partners.indices.shuffled(using: &random).prefix(min(count, partners.count))).sorted()
            memberships.append(chosen)
            var mine = [Set<Int>](repeating: [], count: partners.count)
            for partner in chosen {
                for _ in 0..<Int.random(in: 1...2, using: &random) {
                    let picked = category()
                    mine[partner].insert(picked)
                    signals.append(Signal(person: person, partner: partner, category: picked, weight: 1))
                }
            }
            held.append(mine)
        }
        for plant in plants {
            let fromHolders = Set(
                (0..<persons).filter { held[$0][plant.fromPartner].contains(plant.fromCategory) })
            // The via item for X's holders who shop at the via partner.
            for person in fromHolders.sorted() where memberships[person].contains(plant.viaPartner) {
                guard Double.random(in: 0..<1, using: &random) < strength else { continue }
                held[person][plant.viaPartner].insert(plant.viaCategory)
                signals.append(Signal(person: person, partner: plant.viaPartner, category: plant.viaCategory, weight: 2))
            }
            guard let toCategory = plant.toCategory else { continue }
            // A second population: persons at both partners who hold the via item but not X
            // get Z at X's partner, so Z is tied to Y and barely to X.
            for person in 0..<persons
            where !fromHolders.contains(person) && memberships[person].contains(plant.fromPartner)
                && held[person][plant.viaPartner].contains(plant.viaCategory)
            {
                guard Double.random(in: 0..<1, using: &random) < strength else { continue }
                held[person][plant.fromPartner].insert(toCategory)
                signals.append(Signal(person: person, partner: plant.fromPartner, category: toCategory, weight: 2))
            }
        }
    }

    /// The catalog of every partner's categories `c00`, `c01`, ... in index order.
    public var catalog: ReleaseCatalog {
        ReleaseCatalog(
            partners: partners,
            items: partners.indices.flatMap { partner in
                (0..<categories).map { ReleaseCatalog.Item(partner: partner, category: Self.categoryName($0)) }
            })
    }

    public static func categoryName(_ index: Int) -> String {
        index < 10 ? "c0\(index)" : "c\(index)"
    }

    /// The signals as columns over `catalog`, for `AffinityCounter`.
    public var columns: SignalColumns {
        var columns = SignalColumns()
        for signal in signals {
            columns.append(
                person: Int32(signal.person), item: Int32(signal.partner * categories + signal.category), weight: signal.weight)
        }
        return columns
    }
}
