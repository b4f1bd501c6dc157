/// `withUnsafeBytes` for code that throws a typed error.
///
/// The standard library's `withUnsafeBytes` is `rethrows` with an untyped error, which loses
/// the concrete error type of the decoders' `throws(LineProblem)`; this carries it through.
func withBytes<Output, Failure: Error>(
    of bytes: [UInt8],
    _ body: (UnsafeRawBufferPointer) throws(Failure) -> Output
) throws(Failure) -> Output {
    let outcome: Result<Output, Failure> = bytes.withUnsafeBytes { raw in
        do throws(Failure) {
            return .success(try body(raw))
        } catch {
            return .failure(error)
        }
    }
    return try outcome.get()
}
