/// What a release reads from the database at the moment it counts the copy, in one read with
/// the ledger mark: the current catalog, the maps from a stored category to its item and
/// partner, and the consents that have expired (their signals are stored but not counted).
public struct ReleaseView: Sendable {
    public let catalog: ReleaseCatalog
    public let itemOfCategory: [Int32]
    public let partnerOfCategory: [Int64]
    /// (partner id << 32 | person id) of every consent with `expires_at <= now`.
    public let expired: Set<UInt64>
    /// The ledger's latest sequence in that read.
    public let mark: Int64

    public init(map: CategoryMap, expired: Set<UInt64>, mark: Int64) {
        catalog = map.catalog
        itemOfCategory = map.itemOfCategory
        partnerOfCategory = map.partnerOfCategory
        self.expired = expired
        self.mark = mark
    }

    /// The item a signal counts for, or -1 when it does not count (unknown category, a partner
    /// not in the catalog, expired consent): the same rule as the database scan.
    @inlinable
    public func item(category index: Int, person: Int64) -> Int32 {
        guard index >= 0, index < itemOfCategory.count else { return -1 }
        let item = itemOfCategory[index]
        guard item >= 0 else { return -1 }
        if !expired.isEmpty, expired.contains(UInt64(partnerOfCategory[index]) << 32 | UInt64(person)) { return -1 }
        return item
    }
}

extension ColumnarSignals {
    /// Counts the copy for `view` with `threads` workers, each with its own accumulator, on
    /// disjoint persons; blocks until done (the caller runs it off the request threads).
    func count(_ view: ReleaseView, bounds: ContributionBounds, threads: Int) -> ExactCounts {
        let work = workItems(parts: threads * 4)
        let workers = max(1, min(threads, work.count, AffinityAccumulator.limit(for: view.catalog)))
        let accumulators = (0..<workers).map { _ in AffinityAccumulator(catalog: view.catalog, bounds: bounds) }
        feed(view, work, into: accumulators)
        return ExactCounts(
            catalog: view.catalog, counts: AffinityAccumulator.merged(accumulators),
            signals: accumulators.reduce(0) { $0 + $1.signals })
    }

    /// Feeds every person to `sinks` like ``count(_:bounds:threads:)`` feeds its accumulators,
    /// with `parts` person ranges; returns once every thread has ended. What
    /// `release.engine = memory` counts on SQLite: a copy read for one release, then dropped.
    public func feed<Sink: PersonSignalSink & Sendable>(_ view: ReleaseView, parts: Int, into sinks: [Sink]) async {
        let work = workItems(parts: max(1, parts))
        let columns = self
        await CountingThreads.offPool { columns.feed(view, work, into: sinks) }
    }

    /// The work a count is split into: base ranges of about equal signals, then (one item) the
    /// persons only patches hold, few.
    private struct WorkItems: Sendable {
        let ranges: [Range<Int>]
        let onlyAdded: [Int64]
        var count: Int { ranges.count + (onlyAdded.isEmpty ? 0 : 1) }
    }

    private func workItems(parts: Int) -> WorkItems {
        WorkItems(ranges: baseRanges(parts), onlyAdded: personsOnlyAdded())
    }

    /// One counting thread per sink, each taking the next work item as it finishes one, so a
    /// sink sees disjoint persons and every person reaches exactly one sink; blocks until done.
    private func feed<Sink: PersonSignalSink & Sendable>(_ view: ReleaseView, _ work: WorkItems, into sinks: [Sink]) {
        let next = WorkCounter()
        CountingThreads.run(sinks.count) { worker in
            var feed = PersonFeed()
            let sink = sinks[worker]
            while let item = next.take(below: work.count) {
                if item < work.ranges.count {
                    for index in work.ranges[item] { feedBase(index, view, &feed, sink) }
                } else {
                    for person in work.onlyAdded { feedAdded(person, view, &feed, sink) }
                }
            }
            feed.deallocate()
        }
    }

    @inline(__always)
    private func feedBase(_ index: Int, _ view: ReleaseView, _ feed: inout PersonFeed, _ sink: some PersonSignalSink) {
        let person = Int64(personID[index])
        let lower = Int(start[index]), upper = Int(start[index + 1])
        feed.clear()
        if !addedLatest.isEmpty, addedLatest[person] != nil {
            // Base and patches merged in the base's order (category, then weight) so equal
            // items' weights are summed in the order a fresh build would sum them.
            var merged = added(of: person)
            for entry in lower..<upper where category[entry] >= 0 { merged.append((category[entry], weight[entry])) }
            merged.sort { $0.category != $1.category ? $0.category < $1.category : $0.weight < $1.weight }
            for (category, weight) in merged { feed.push(view.item(category: Int(category), person: person), weight) }
        } else {
            category.withUnsafeBufferPointer { category in
                weight.withUnsafeBufferPointer { weight in
                    for entry in lower..<upper where category[entry] >= 0 {
                        feed.push(view.item(category: Int(category[entry]), person: person), weight[entry])
                    }
                }
            }
        }
        feed.flush(into: sink)
    }

    private func feedAdded(_ person: Int64, _ view: ReleaseView, _ feed: inout PersonFeed, _ sink: some PersonSignalSink) {
        feed.clear()
        let sorted = added(of: person).sorted { $0.category != $1.category ? $0.category < $1.category : $0.weight < $1.weight }
        for signal in sorted { feed.push(view.item(category: Int(signal.category), person: person), signal.weight) }
        feed.flush(into: sink)
    }
}

/// One person's counted items and weights, in buffers reused across persons (grown when a
/// person has more): what both the columnar count and the database scan hand the sink.
public struct PersonFeed {
    // Inlinable (with these fields usable from inline code): the database scan in another
    // module calls push for every row.
    @usableFromInline var capacity = 256
    @usableFromInline var items = UnsafeMutablePointer<Int32>.allocate(capacity: 256)
    @usableFromInline var weights = UnsafeMutablePointer<Double>.allocate(capacity: 256)
    @usableFromInline var count = 0

    public init() {}

    @inlinable
    public mutating func clear() { count = 0 }

    /// Adds one signal; an item of -1 (not counted) is skipped.
    @inlinable
    public mutating func push(_ item: Int32, _ weight: Double) {
        guard item >= 0 else { return }
        if count == capacity {
            let larger = capacity * 2
            let newItems = UnsafeMutablePointer<Int32>.allocate(capacity: larger)
            let newWeights = UnsafeMutablePointer<Double>.allocate(capacity: larger)
            newItems.update(from: items, count: count)
            newWeights.update(from: weights, count: count)
            items.deallocate()
            weights.deallocate()
            (items, weights, capacity) = (newItems, newWeights, larger)
        }
        items[count] = item
        weights[count] = weight
        count += 1
    }

    /// Hands the person to the sink, if it has any counted signal.
    @inlinable
    public func flush(into sink: some PersonSignalSink) {
        guard count > 0 else { return }
        sink.addPerson(items: UnsafeBufferPointer(start: items, count: count), weights: UnsafeBufferPointer(start: weights, count: count))
    }

    public func deallocate() {
        items.deallocate()
        weights.deallocate()
    }
}
