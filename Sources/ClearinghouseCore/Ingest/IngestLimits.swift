/// The bounds one write batch must stay within.
///
/// Each bound protects the daemon (memory, disk, the single SQLite writer) from a client that
/// sends too much, by mistake or not; every one is a setting in `config/clearinghouse.json`.
public struct IngestLimits: Sendable, Equatable {
    /// Largest request body as sent (compressed, if gzip), in bytes.
    public var maxBodyBytes: Int
    /// Largest body after gzip inflation, in bytes (stops gzip bombs).
    public var maxDecodedBytes: Int
    /// Longest line, in bytes.
    public var maxLineBytes: Int
    /// Most lines in one batch.
    public var maxLinesPerBatch: Int
    /// Most line errors listed in a rejection (the batch stops being read after these).
    public var maxErrorsReported: Int
    /// Most distinct categories in one signal batch.
    public var maxCategoriesPerBatch: Int
    /// Decoded records kept in memory before the batch spills to a temporary file.
    public var spoolMemoryBytes: Int
    /// How far in the future a timestamp may lie (clock skew), in milliseconds.
    public var futureToleranceMilliseconds: Int64

    public init(
        maxBodyBytes: Int = 256 * 1024 * 1024,
        maxDecodedBytes: Int = 1024 * 1024 * 1024,
        maxLineBytes: Int = 8 * 1024,
        maxLinesPerBatch: Int = 5_000_000,
        maxErrorsReported: Int = 20,
        maxCategoriesPerBatch: Int = 10_000,
        spoolMemoryBytes: Int = 16 * 1024 * 1024,
        futureToleranceMilliseconds: Int64 = 5 * 60 * 1000
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxDecodedBytes = maxDecodedBytes
        self.maxLineBytes = maxLineBytes
        self.maxLinesPerBatch = maxLinesPerBatch
        self.maxErrorsReported = maxErrorsReported
        self.maxCategoriesPerBatch = maxCategoriesPerBatch
        self.spoolMemoryBytes = spoolMemoryBytes
        self.futureToleranceMilliseconds = futureToleranceMilliseconds
    }
}
