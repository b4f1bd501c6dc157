import ClearinghouseFuzzHarness

/// libFuzzer's callback for the `csv` target (see `FuzzHarness`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzHarness.fuzzOne(.csv, data, count)
}
