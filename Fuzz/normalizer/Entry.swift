import ClearinghouseFuzzHarness

/// libFuzzer's callback for the `normalizer` target (see `FuzzHarness`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzHarness.fuzzOne(.normalizer, data, count)
}
