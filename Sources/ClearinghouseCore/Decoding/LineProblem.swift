/// What was wrong with one field of one line, and what to do about it.
///
/// Messages describe values by kind and length only: they never quote a token, and quote
/// nothing from a line but short field names, so an error body or log line cannot carry
/// row-level data.
public struct LineProblem: Error, Sendable, Equatable {
    public var field: String?
    public var problem: String
    public var fix: String

    public init(field: String?, problem: String, fix: String) {
        self.field = field
        self.problem = problem
        self.fix = fix
    }

    /// The problem located at a line of the body.
    public func at(line: Int) -> LineError {
        LineError(line: line, field: field, problem: problem, fix: fix)
    }
}

/// A ``LineProblem`` with its 1-based line number in the (decompressed) body.
/// For CSV the header is line 1.
public struct LineError: Error, Sendable, Equatable, Codable {
    public var line: Int
    public var field: String?
    public var problem: String
    public var fix: String

    public init(line: Int, field: String?, problem: String, fix: String) {
        self.line = line
        self.field = field
        self.problem = problem
        self.fix = fix
    }
}
