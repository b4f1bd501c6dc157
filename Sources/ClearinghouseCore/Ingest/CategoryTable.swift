/// The distinct categories named in one signal batch, numbered in order of first use.
///
/// Signals in the spool refer to categories by number, so a category's text is stored once per
/// batch; the storage layer maps each number to its database id once. The table is bounded
/// (``IngestLimits/maxCategoriesPerBatch``) so a batch of unique junk categories cannot grow it.
struct CategoryTable {
    private(set) var names: [String] = []
    private var numbers: [String: UInt32] = [:]
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// The number of the category whose (validated) text is `bytes`.
    mutating func intern(_ bytes: UnsafeRawBufferPointer) throws(LineProblem) -> UInt32 {
        let name = String(decoding: bytes, as: UTF8.self)
        if let number = numbers[name] { return number }
        guard names.count < limit else {
            throw LineProblem(
                field: LineField.category.name,
                problem: "the batch names more than \(limit) distinct categories",
                fix: "check that the category column holds categories, or split the batch")
        }
        let number = UInt32(names.count)
        names.append(name)
        numbers[name] = number
        return number
    }
}
