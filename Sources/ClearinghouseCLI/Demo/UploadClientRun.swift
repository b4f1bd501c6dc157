import Foundation

/// One run of the reference partner upload client, `scripts/clearinghouse-upload`, as a child
/// process: the demo uploads the way a partner does, through the same client and HTTP API.
struct UploadClientRun {
    /// What the client's `--format json` summary says the daemon stored.
    struct Outcome {
        let rowsRead: Int
        let consentsStored: Int
        let signalsStored: Int
        let signalsDropped: Int
        let seconds: Double
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Finds the client: `explicit` when given, else `CLEARINGHOUSE_UPLOAD_CLIENT`, else
    /// `scripts/clearinghouse-upload` in a folder above this executable (a build inside the
    /// clone) or in the current folder.
    static func locate(explicit: String?) throws -> String {
        let files = FileManager.default
        if let explicit {
            guard files.isExecutableFile(atPath: explicit) else {
                throw Failure(description: "--upload-client \(explicit) is not an executable file")
            }
            return explicit
        }
        if let fromEnvironment = ProcessInfo.processInfo.environment["CLEARINGHOUSE_UPLOAD_CLIENT"] {
            guard files.isExecutableFile(atPath: fromEnvironment) else {
                throw Failure(description: "CLEARINGHOUSE_UPLOAD_CLIENT=\(fromEnvironment) is not an executable file")
            }
            return fromEnvironment
        }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [String] = []
        while folder.path != "/" {
            candidates.append(folder.appendingPathComponent("scripts/clearinghouse-upload").path)
            folder.deleteLastPathComponent()
        }
        candidates.append(files.currentDirectoryPath + "/scripts/clearinghouse-upload")
        if let found = candidates.first(where: { files.isExecutableFile(atPath: $0) }) { return found }
        throw Failure(
            description: "the demo uploads with the partner upload client, scripts/clearinghouse-upload, and found it neither "
                + "above this binary nor in the current folder; pass --upload-client PATH (it needs python3)")
    }

    let client: String
    /// Named although the client recognises these headers, so its output is the progress alone.
    let columns = [
        "--col-identifier", "email", "--col-category", "category", "--col-weight", "quantity", "--col-observed-at", "purchased_at",
        "--col-granted-at", "consent_at", "--col-proof", "consent_ref",
    ]
    let url: String
    let saltFile: String
    let apiKey: String

    /// Uploads `csv` and returns the summary. The client's progress (stderr) goes to ours.
    func upload(_ csv: String, stateFolder: String) async throws -> Outcome {
        let summaryPath = stateFolder + ".summary.json"
        _ = FileManager.default.createFile(atPath: summaryPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: client)
        process.arguments = [
            csv, "--url", url, "--salt-file", saltFile, "--identifier-type", "email", "--state-dir", stateFolder,
            "--format", "json",
        ] + columns
        // The key travels in the environment, as docs/partners.md recommends, never in argv.
        process.environment = ProcessInfo.processInfo.environment.merging(["CLEARINGHOUSE_API_KEY": apiKey]) { $1 }
        let summary = try FileHandle(forWritingTo: URL(fileURLWithPath: summaryPath))
        process.standardOutput = summary
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: Failure(description: "cannot run \(client): \(error)"))
            }
        }
        try summary.close()
        guard status == 0 else {
            if status == 127 {
                throw Failure(description: "\(client) could not start: it needs python3 on PATH (apt-get install python3)")
            }
            throw Failure(description: "the upload client exited with status \(status) for \(csv) (its message is above)")
        }
        guard let data = FileManager.default.contents(atPath: summaryPath),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let kinds = json["kinds"] as? [String: [String: Any]]
        else { throw Failure(description: "the upload client's summary in \(summaryPath) is not the JSON it documents") }
        func count(_ kind: String, _ field: String) -> Int { kinds[kind]?[field] as? Int ?? 0 }
        return Outcome(
            rowsRead: json["rows_read"] as? Int ?? 0, consentsStored: count("consents", "accepted"),
            signalsStored: count("signals", "accepted"), signalsDropped: count("signals", "dropped_no_consent"),
            seconds: json["seconds"] as? Double ?? 0)
    }
}
