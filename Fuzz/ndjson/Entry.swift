import ClearinghouseFuzzHarness

/// libFuzzer's callback for the `ndjson` target (see `FuzzHarness`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzHarness.fuzzOne(.ndjson, data, count)
}
