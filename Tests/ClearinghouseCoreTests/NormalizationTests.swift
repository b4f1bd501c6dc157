import Foundation
import Testing

@testable import ClearinghouseCore

/// The shared vectors of `spec/token-vectors.json`, which the upload client is tested against too.
struct TokenVectors: Decodable {
    struct Vector: Decodable, CustomTestStringConvertible {
        let profile: String
        let input: String
        let normalized: String?
        let token: String?
        let error: String?
        var testDescription: String { "\(profile) \(input.debugDescription)" }
    }

    let salt_hex: String
    let kid: String
    let vectors: [Vector]

    static func load() throws -> TokenVectors {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("spec/token-vectors.json"))
        return try JSONDecoder().decode(TokenVectors.self, from: data)
    }
}

@Suite("Normalization profiles and the consortium salt")
struct NormalizationTests {
    @Test("every shared test vector normalizes, hashes or fails exactly as the specification says")
    func sharedVectors() throws {
        let document = try TokenVectors.load()
        let salt = try ConsortiumSalt(kid: document.kid, bytes: try #require(Hex.decode(document.salt_hex)), createdAt: "")
        #expect(document.vectors.count >= 40)
        for vector in document.vectors {
            let profile = try #require(NormalizationProfile(rawValue: vector.profile))
            switch profile.normalize(vector.input) {
            case .success(let normalized):
                #expect(vector.error == nil, "\(vector.testDescription) should fail with \(vector.error ?? "")")
                #expect(normalized == vector.normalized, "\(vector.testDescription)")
                #expect(salt.token(normalized: normalized) == vector.token, "\(vector.testDescription)")
            case .failure(let failure):
                #expect(failure.code == vector.error, "\(vector.testDescription): \(failure)")
                #expect(!failure.message.contains(vector.input) || vector.input.isEmpty, "a refusal never repeats the identifier")
            }
        }
        // Both profiles and both outcomes are exercised.
        for profile in NormalizationProfile.allCases {
            #expect(document.vectors.contains { $0.profile == profile.rawValue && $0.token != nil })
            #expect(document.vectors.contains { $0.profile == profile.rawValue && $0.error != nil })
        }
    }

    @Test("spellings of one person at two partners give one token; different people give different tokens")
    func spellingsMatch() throws {
        let salt = try ConsortiumSalt(kid: "k1", bytes: Array(repeating: 9, count: 32), createdAt: "")
        let acme = try salt.token(for: " Jane.Doe+shoes@GoogleMail.com", profile: .emailV1).get()
        let globex = try salt.token(for: "janedoe@gmail.com", profile: .emailV1).get()
        #expect(acme == globex)
        #expect(try salt.token(for: "john@gmail.com", profile: .emailV1).get() != acme)
        #expect(try salt.token(for: "+44 (0)20 7946 0958", profile: .phoneE164V1).get()
            == salt.token(for: "0044-20-7946-0958", profile: .phoneE164V1).get())
        let other = try ConsortiumSalt(kid: "k1", bytes: Array(repeating: 8, count: 32), createdAt: "")
        #expect(try other.token(for: "janedoe@gmail.com", profile: .emailV1).get() != acme)
    }

    @Test("salt new writes 32 random bytes with its kid, mode 0600, and never overwrites")
    func saltFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/consortium.salt"
        let made = try ConsortiumSalt.create(kid: "2026-q4", at: path)
        #expect(try TemporaryDirectory.mode(of: path) == 0o600)
        let loaded = try ConsortiumSalt.load(at: path)
        #expect(loaded.kid == "2026-q4")
        #expect(loaded.token(normalized: "a@b.co") == made.token(normalized: "a@b.co"))
        #expect(throws: ConsortiumSalt.Failure.exists(path: path)) { try ConsortiumSalt.create(kid: "2026-q4", at: path) }
        #expect(try ConsortiumSalt.load(at: path).token(normalized: "a@b.co") == made.token(normalized: "a@b.co"))

        let second = try ConsortiumSalt.create(kid: "2026-q4", at: directory.path + "/other.salt")
        #expect(second.token(normalized: "a@b.co") != made.token(normalized: "a@b.co"))

        try TemporaryDirectory.chmod(path, 0o644)
        #expect(throws: ConsortiumSalt.Failure.tooOpen(path: path, mode: 0o644)) { try ConsortiumSalt.load(at: path) }
        #expect(throws: ConsortiumSalt.Failure.badKid) { try ConsortiumSalt.create(kid: "no spaces", at: directory.path + "/x") }
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/x"))
    }

    @Test("pinned profiles accept the consortium's profile, refuse another version, an unknown one, and a missing one when required")
    func pinnedProfiles() throws {
        let pinned = try PinnedProfiles.parse("email-v1, phone-e164-v1", required: false).get()
        #expect(pinned.problem(withDeclared: nil) == nil)
        #expect(pinned.problem(withDeclared: "email-v1") == nil)
        #expect(pinned.problem(withDeclared: "phone-e164-v1") == nil)
        #expect(pinned.problem(withDeclared: "email-v2")?.code == "unknown_token_profile")
        #expect(pinned.problem(withDeclared: "")?.code == "unknown_token_profile")
        #expect(pinned.problem(withDeclared: "email-v1 x")?.code == "unknown_token_profile")
        let emailOnly = try PinnedProfiles.parse("email-v1", required: true).get()
        #expect(emailOnly.problem(withDeclared: nil)?.code == "token_profile_required")
        #expect(emailOnly.problem(withDeclared: "phone-e164-v1")?.code == "token_profile_mismatch")
        #expect(PinnedProfiles.parse("email-v1,email-v1", required: false).failure?.code == "two_profiles_for_one_type")
        #expect(PinnedProfiles.parse("sha256-email", required: false).failure?.code == "unknown_profile")
        #expect(PinnedProfiles.parse("", required: false).failure?.code == "no_profile")
        #expect(pinned.listValue == "email-v1,phone-e164-v1")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
