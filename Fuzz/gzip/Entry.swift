import ClearinghouseFuzzHarness

/// libFuzzer's callback for the `gzip` target (see `FuzzHarness`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzHarness.fuzzOne(.gzip, data, count)
}
