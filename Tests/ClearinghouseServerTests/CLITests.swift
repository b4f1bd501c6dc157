import ClearinghouseCore
import Foundation
import Testing

/// The operator's commands, run as the real binary against a data directory.
@Suite("Admin CLI")
struct CLITests {
    func json(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    @Test("--version prints the build's version, the one /healthz answers")
    func version() async throws {
        let printed = try await DaemonProcess.admin(["--version"])
        #expect(printed.status == 0)
        #expect(printed.output.trimmingCharacters(in: .whitespacesAndNewlines) == ClearinghouseVersion.current)
    }

    @Test("budget shows the period of a release: what it spent, what is left, the releases that still fit")
    func budget() async throws {
        let directory = NSTemporaryDirectory() + "clearinghouse-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let released = try await DaemonProcess.admin(["release", "now", "--data-dir", directory, "--format", "json"])
        #expect(released.status == 0, "\(released.errors)")
        let record = try #require(json(released.output) as? [String: Any])
        let createdAt = try #require(record["created_at"] as? String)
        // --at the release's own time: the same period whatever the wall clock does meanwhile.
        let shown = try await DaemonProcess.admin(["budget", "--data-dir", directory, "--at", createdAt, "--format", "json"])
        let status = try #require(json(shown.output) as? [String: Any])
        let defaults = PrivacyBudget()
        let rho = PrivacySettings().plan.rho
        #expect(status["period"] as? String == PrivacyBudget.Period.month.key(at: RFC3339.parseMilliseconds(createdAt)!))
        #expect((status["releases"] as? [[String: Any]])?.map { $0["release"] as? Int } == [record["id"] as? Int])
        #expect(abs((status["epsilon_spent"] as? Double ?? 0) - 1) < 1e-9)
        #expect(status["releases_left"] as? Int == Int((defaults.rhoLimit * (1 + 1e-12) - rho) / rho))
        let text = try await DaemonProcess.admin(["budget", "--data-dir", directory, "--at", createdAt])
        #expect(text.output.contains("epsilon spent 1.000 of 6.5") && text.output.contains("that still fit this period"))
        let bad = try await DaemonProcess.admin(["budget", "--data-dir", directory, "--at", "yesterday"])
        #expect(bad.status != 0 && bad.errors.contains("--at must be an RFC 3339 time"))
    }

    @Test("partner add prints the key once; list, rotate-key, disable and stats work on the same database")
    func partnerLifecycle() async throws {
        let directory = NSTemporaryDirectory() + "clearinghouse-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let added = try await DaemonProcess.admin(["partner", "add", "acme", "--name", "Acme Sports", "--data-dir", directory])
        #expect(added.status == 0)
        let key = try #require(added.output.split(separator: "\n").last.map(String.init))
        #expect(key.hasPrefix("chk_"))

        let listed = try await DaemonProcess.admin(["partner", "list", "--data-dir", directory, "--format", "json"])
        let partners = try #require(json(listed.output) as? [[String: Any]])
        #expect(partners.count == 1 && partners[0]["id"] as? String == "acme" && partners[0]["status"] as? String == "active")
        #expect(!listed.output.contains(String(key.suffix(43))), "the secret is never shown again")
        let keyID = partners[0]["key_id"] as? String
        #expect(key.hasPrefix("chk_\(keyID ?? "?")_"))

        let duplicate = try await DaemonProcess.admin(["partner", "add", "acme", "--name", "Again", "--data-dir", directory])
        #expect(duplicate.status != 0 && duplicate.errors.contains("already exists"))
        let badID = try await DaemonProcess.admin(["partner", "add", "Acme!", "--name", "X", "--data-dir", directory])
        #expect(badID.status != 0 && badID.errors.contains("must be"))

        let rotated = try await DaemonProcess.admin(["partner", "rotate-key", "acme", "--data-dir", directory, "--format", "json"])
        let newKey = try #require((json(rotated.output) as? [String: Any])?["api_key"] as? String)
        #expect(newKey != key)
        let relisted = try await DaemonProcess.admin(["partner", "list", "--data-dir", directory, "--format", "json"])
        #expect(((json(relisted.output) as? [[String: Any]])?.first?["key_id"] as? String) != keyID)

        let disabled = try await DaemonProcess.admin(["partner", "disable", "acme", "--data-dir", directory])
        #expect(disabled.status == 0)
        let missing = try await DaemonProcess.admin(["partner", "disable", "nobody", "--data-dir", directory])
        #expect(missing.status != 0 && missing.errors.contains("no partner 'nobody'"))

        let stats = try await DaemonProcess.admin(["stats", "--data-dir", directory, "--format", "json"])
        let counts = try #require(json(stats.output) as? [String: Any])
        #expect((counts["partners"] as? NSNumber)?.intValue == 1)
        #expect(((counts["per_partner"] as? [[String: Any]])?.first?["status"] as? String) == "disabled")
        let text = try await DaemonProcess.admin(["stats", "--data-dir", directory])
        #expect(text.output.contains("partners 1") && text.output.contains("disabled"))
    }
}
