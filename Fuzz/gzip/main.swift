import CLibFuzzer
import Foundation

// SwiftPM links an executable target's own `main`; it hands over to libFuzzer's driver with
// the command line's options (-max_total_time, the corpus folders).
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) })
