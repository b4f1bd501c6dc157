import Foundation
import Synchronization

/// A child process's exit status, awaited with a deadline instead of `waitUntilExit()`, which
/// would block a thread of the test pool. Create it before `run()`: it sets the
/// `terminationHandler`.
final class ProcessExit: Sendable {
    private let status = Mutex<Int32?>(nil)

    init(_ process: Process) {
        process.terminationHandler = { ended in self.status.withLock { $0 = ended.terminationStatus } }
    }

    @discardableResult
    func wait(within limit: Duration = .seconds(60)) async throws -> Int32 {
        try await Poll.value("the child process to exit", within: limit, every: .milliseconds(10)) { status.withLock { $0 } }
    }
}
