import Testing

@testable import ClearinghouseCore

/// A consortium with a planted bridge acme:c05 -> globex:c06 -> acme:c07 (c07 is acme's least
/// popular category) and a planted obvious affinity acme:c05 -> globex:c00 (globex's best seller).
func plantedRelease(seed: UInt64 = 7) -> ReleasedTable {
    let consortium = SyntheticConsortium(
        partners: ["acme", "globex", "initech"], categories: 8, persons: 6000,
        plants: [
            .init(fromPartner: 0, fromCategory: 5, viaPartner: 1, viaCategory: 6, toCategory: 7),
            .init(fromPartner: 0, fromCategory: 5, viaPartner: 1, viaCategory: 0),
        ], seed: seed)
    var columns = consortium.columns
    let catalog = consortium.catalog
    let counts = AffinityCounter.count(&columns, catalog: catalog, bounds: ContributionBounds(itemsPerPartner: 3, partnersPerPerson: 3), workers: 2)
    var generator = SeededGenerator(seed: 1)
    return ReleaseBuilder.build(
        counts: counts, catalog: catalog, settings: PrivacySettings(k: 10, differentialPrivacy: false),
        signals: consortium.signals.count, generator: &generator
    ).table
}

@Suite("Surprise ranking")
struct SurpriseRankerTests {
    let settings = RecommendationSettings()

    @Test("try instead surfaces the bridged item near the top; the popularity baseline does not list it", arguments: [7, 11, 23] as [UInt64])
    func insteadFindsTheBridge(seed: UInt64) throws {
        let table = plantedRelease(seed: seed)
        let ranker = SurpriseRanker(table: table, settings: settings)
        let list = try #require(try ranker.recommendations(partner: "acme", category: "c05", kind: .instead, limit: 3).get().first)
        let rank = try #require(list.suggestions.firstIndex { $0.item == "acme:c07" }, "acme:c07 is suggested")
        #expect(rank <= 1, "acme:c07 is first or second")
        #expect(!list.baseline.items.contains("acme:c07"), "acme's best sellers do not include it")
        let suggestion = list.suggestions[rank]
        #expect(suggestion.bridges?.first?.item == "globex:c06", "the evidence names the bridge")
        #expect(suggestion.bridges!.allSatisfy { $0.liftFrom >= settings.minimumLift && $0.liftTo >= settings.minimumLift })
        // Weak direct association in acme's own data: below k, or a lift at most the maximum.
        #expect(suggestion.lift == nil || suggestion.lift! <= settings.maximumDirectLift)
        #expect(list.unexpectedness! > 0)
        #expect(list.meanNovelty! > list.baseline.meanNovelty!)
        // The direct association really is weak in the release's own pairs.
        let x = table.catalog.items.firstIndex { $0.partner == 0 && $0.category == "c05" }!
        let z = table.catalog.items.firstIndex { $0.partner == 0 && $0.category == "c07" }!
        let direct = table.ownPairs.first { Int($0.x) == min(x, z) && Int($0.y) == max(x, z) }
        #expect(direct == nil || direct!.lift < 1.1)
    }

    @Test("cross suggestions beat the popularity baseline on unexpectedness and novelty, never below the lift minimum", arguments: [7, 11, 23] as [UInt64])
    func crossBeatsBaseline(seed: UInt64) throws {
        let ranker = SurpriseRanker(table: plantedRelease(seed: seed), settings: settings)
        let list = try #require(try ranker.recommendations(partner: "acme", category: "c05", kind: .cross, limit: 3).get().first)
        #expect(!list.suggestions.isEmpty)
        #expect(list.suggestions.allSatisfy { $0.lift! >= settings.minimumLift })
        #expect(list.suggestions.first?.item == "globex:c06", "the unexpected planted item leads")
        #expect(list.baseline.items.contains("globex:c00"), "the baseline lists the best seller")
        #expect(list.unexpectedness! > 0, "the baseline's own unexpectedness is 0 by definition")
        #expect(list.meanNovelty! > list.baseline.meanNovelty!)
        #expect(list.baseline.meanLift! < list.suggestions.compactMap(\.lift).reduce(0, +) / Double(list.suggestions.count))
        // Ranks are 1, 2, 3... and scores fall.
        #expect(list.suggestions.map(\.rank) == Array(1...list.suggestions.count))
        #expect(zip(list.suggestions, list.suggestions.dropFirst()).allSatisfy { $0.score >= $1.score })
        // Counts are bucketed to tens.
        #expect(list.suggestions.allSatisfy { $0.count! % 10 == 0 })
    }

    @Test("on a small catalogue the baseline keeps its own size, so unexpectedness still tells lists apart")
    func smallCatalogueBaseline() throws {
        // Three brands of five items: every item has 10 candidates, no more than the list's limit of 10.
        let consortium = SyntheticConsortium(
            partners: ["acme", "globex", "initech"], categories: 5, persons: 6000,
            plants: [.init(fromPartner: 0, fromCategory: 4, viaPartner: 1, viaCategory: 4)], strength: 0.3, seed: 5)
        var columns = consortium.columns
        let counts = AffinityCounter.count(
            &columns, catalog: consortium.catalog, bounds: ContributionBounds(itemsPerPartner: 3, partnersPerPerson: 3), workers: 2)
        var generator = SeededGenerator(seed: 1)
        let table = ReleaseBuilder.build(
            counts: counts, catalog: consortium.catalog, settings: PrivacySettings(k: 10, differentialPrivacy: false),
            signals: consortium.signals.count, generator: &generator
        ).table

        // A baseline as long as the list holds every candidate: every list reads 0%, whatever it suggests.
        let legacy = SurpriseRanker(table: table, settings: RecommendationSettings(baselineSize: 0))
        let flat = try legacy.recommendations(partner: "acme", category: nil, kind: .cross, limit: 10).get()
        #expect(flat.contains { !$0.suggestions.isEmpty })
        #expect(flat.allSatisfy { $0.unexpectedness == nil || $0.unexpectedness == 0 })

        let ranker = SurpriseRanker(table: table, settings: RecommendationSettings())
        let lists = try ranker.recommendations(partner: "acme", category: nil, kind: .cross, limit: 10).get()
        for list in lists where !list.suggestions.isEmpty {
            #expect(list.baseline.items.count <= RecommendationSettings.defaultBaselineSize)
            let outside = list.suggestions.filter { !list.baseline.items.contains($0.item) }
            #expect(list.unexpectedness == Double(outside.count) / Double(list.suggestions.count))
            #expect(list.suggestions.allSatisfy { $0.inBaseline == list.baseline.items.contains($0.item) })
        }
        #expect(lists.contains { ($0.unexpectedness ?? 0) > 0 }, "a baseline of 3 of 10 candidates leaves some suggestion outside it")
        let planted = try #require(lists.first { $0.category == "c04" }?.suggestions.first { $0.item == "globex:c04" })
        #expect(planted.lift! >= 1.5, "the planted affinity is suggested")
    }

    @Test("a partner sees only its own side; unknown categories and pre-version-2 releases are refused")
    func visibilityAndFailures() throws {
        let table = plantedRelease()
        let ranker = SurpriseRanker(table: table, settings: settings)
        let lists = try ranker.recommendations(partner: "globex", category: nil, kind: .cross, limit: 50).get()
        #expect(lists.count == 8)
        for list in lists {
            #expect(list.suggestions.allSatisfy { $0.partner != "globex" })
        }
        let instead = try ranker.recommendations(partner: "globex", category: nil, kind: .instead, limit: 50).get()
        #expect(instead.allSatisfy { $0.suggestions.allSatisfy { $0.partner == "globex" && $0.bridges!.allSatisfy { !$0.item.hasPrefix("globex:") } } })
        #expect(ranker.recommendations(partner: "acme", category: "nope", kind: .cross, limit: 3) == .failure(.categoryNotFound))
        #expect(ranker.recommendations(partner: "nobody", category: nil, kind: .cross, limit: 3) == .failure(.categoryNotFound))
        let old = SurpriseRanker(table: ReleasedTable(catalog: table.catalog, pairs: table.pairs), settings: settings)
        #expect(old.recommendations(partner: "acme", category: "c05", kind: .instead, limit: 3) == .failure(.noOwnCounts))
    }

    @Test("own pairs are counted from the partner's own signals only, at k, and survive encoding")
    func ownPairs() throws {
        let table = plantedRelease()
        #expect(!table.ownPairs.isEmpty)
        for pair in table.ownPairs {
            #expect(table.catalog.items[Int(pair.x)].partner == table.catalog.items[Int(pair.y)].partner)
            #expect(pair.both >= 10 && pair.xWithin >= 10 && pair.yWithin >= 10 && pair.overlap >= 10)
            #expect(pair.xWithin == table.ownItemPersons[Int(pair.x)])
        }
        #expect(try ReleasedTable(encoded: table.encoded()) == table)
        // A version 1 blob (magic, catalog, cross pairs: no own counts or pairs) still reads, with none.
        let version2 = table.encoded()
        let ownCounts = (table.catalog.items.count + table.catalog.partners.count) * 8
        let catalogEnd = version2.count - (8 + table.ownPairs.count * 40) - (8 + table.pairs.count * 40) - ownCounts
        let version1 = Array("CHREL001".utf8) + version2[8..<catalogEnd] + version2[(catalogEnd + ownCounts)..<(version2.count - 8 - table.ownPairs.count * 40)]
        let old = try ReleasedTable(encoded: Array(version1))
        #expect(old.pairs == table.pairs && old.ownPairs.isEmpty && old.ownPartnerPersons.allSatisfy { $0 == 0 })
        #expect(throws: ReleaseDecodingError.self) { try ReleasedTable(encoded: Array(version2.prefix(20))) }
    }
}
