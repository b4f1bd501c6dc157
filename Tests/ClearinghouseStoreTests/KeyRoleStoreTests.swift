import ClearinghouseCore
import Crypto
import Foundation
import Testing

/// Read keys and portal sessions on every backend: a read key authenticates with its role,
/// rotation spares it, revocation ends it and its sessions, sessions expire and die with a
/// disabled partner, and the ledger records each key change.
@Suite("Store contract: key roles and portal sessions")
struct KeyRoleStoreTests {
    @Test("read keys: added with a role and label, listed, spared by rotation, revoked one by one", arguments: StoreBackend.available)
    func readKeys(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let acme = PartnerID("acme")!
            let upload = APIKey.generate()
            try await store.addPartner(id: acme, name: "Acme", key: upload, at: Batches.now)
            #expect(try await store.credential(keyID: upload.keyID)?.partner.role == .upload)
            let read = APIKey.generate()
            try await store.addKey(partner: acme, key: read, role: .read, label: "Marketing", at: Batches.now + 1)
            let credential = try #require(try await store.credential(keyID: read.keyID))
            #expect(credential.usable && credential.partner.role == .read && credential.partner.id == "acme")
            #expect(credential.secretDigest == read.secretDigest)

            var keys = try await store.keys(partner: acme)
            #expect(keys.map(\.keyID) == [read.keyID, upload.keyID])
            #expect(keys.map(\.role) == [.read, .upload] && keys.map(\.label) == ["Marketing", nil])
            #expect(keys.allSatisfy { $0.revokedAt == nil })
            // The operator's partner list names the live upload key, not the read key.
            #expect(try await store.partners().map(\.keyID) == [upload.keyID])

            let rotated = APIKey.generate()
            try await store.rotateKey(partner: acme, key: rotated, at: Batches.now + 2)
            #expect(try await store.credential(keyID: upload.keyID)?.usable == false)
            #expect(try await store.credential(keyID: read.keyID)?.usable == true, "rotation replaces upload keys only")

            try await store.revokeKey(partner: acme, keyID: read.keyID, at: Batches.now + 3)
            #expect(try await store.credential(keyID: read.keyID)?.usable == false)
            #expect(try await store.credential(keyID: rotated.keyID)?.usable == true)
            keys = try await store.keys(partner: acme)
            #expect(keys.first { $0.keyID == read.keyID }?.revokedAt == RFC3339.format(milliseconds: Batches.now + 3))
            await #expect(throws: StoreError.keyNotFound(partner: "acme", keyID: read.keyID)) {
                try await store.revokeKey(partner: acme, keyID: read.keyID, at: Batches.now + 4)
            }
            // Another partner cannot revoke acme's key, nor list keys of a partner that is not there.
            try await store.addPartner(id: PartnerID("globex")!, name: "Globex", key: APIKey.generate(), at: Batches.now)
            await #expect(throws: StoreError.keyNotFound(partner: "globex", keyID: rotated.keyID)) {
                try await store.revokeKey(partner: PartnerID("globex")!, keyID: rotated.keyID, at: Batches.now + 4)
            }
            await #expect(throws: StoreError.partnerNotFound("nobody")) { _ = try await store.keys(partner: PartnerID("nobody")!) }

            let actions = try await store.ledgerEntries(LedgerFilter(partner: "acme")).map(\.action)
            #expect(actions == [.partnerAdded, .partnerKeyAdded, .partnerKeyRotated, .partnerKeyRevoked])
            let added = try #require(try await store.ledgerEntries(LedgerFilter(action: .partnerKeyAdded)).first)
            #expect(added.details.contains("\"role\":\"read\"") && added.details.contains(read.keyID))
            #expect(!added.details.contains(read.secret), "the ledger never holds a secret")
        }
    }

    @Test("portal sessions: found by digest until they expire, ended by sign-out, revocation and disabling", arguments: StoreBackend.available)
    func sessions(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let acme = PartnerID("acme")!
            try await store.addPartner(id: acme, name: "Acme", key: APIKey.generate(), at: Batches.now)
            let read = APIKey.generate()
            try await store.addKey(partner: acme, key: read, role: .read, label: nil, at: Batches.now)
            func digest(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Array(text.utf8))) }

            let start = Batches.now + 10
            try await store.createPortalSession(NewPortalSession(digest: digest("one"), keyID: read.keyID, createdAt: start, expiresAt: start + 60_000))
            let found = try #require(try await store.portalSession(digest: digest("one"), at: start + 1))
            #expect(found.partner.id == "acme" && found.partner.role == .read && found.keyID == read.keyID && found.expiresAt == start + 60_000)
            #expect(try await store.portalSession(digest: digest("other"), at: start + 1) == nil)
            #expect(try await store.portalSession(digest: digest("one"), at: start + 60_000) == nil, "expired at expires_at")

            try await store.endPortalSession(digest: digest("one"))
            #expect(try await store.portalSession(digest: digest("one"), at: start + 1) == nil)
            try await store.endPortalSession(digest: digest("one"))  // ending twice is harmless

            try await store.createPortalSession(NewPortalSession(digest: digest("two"), keyID: read.keyID, createdAt: start, expiresAt: start + 60_000))
            try await store.revokeKey(partner: acme, keyID: read.keyID, at: start + 2)
            #expect(try await store.portalSession(digest: digest("two"), at: start + 3) == nil, "revoking the key ends its sessions")

            let second = APIKey.generate()
            try await store.addKey(partner: acme, key: second, role: .read, label: nil, at: start)
            try await store.createPortalSession(NewPortalSession(digest: digest("three"), keyID: second.keyID, createdAt: start, expiresAt: start + 60_000))
            // A new sign-in sweeps the expired sessions away.
            try await store.createPortalSession(
                NewPortalSession(digest: digest("four"), keyID: second.keyID, createdAt: start + 70_000, expiresAt: start + 130_000))
            #expect(try await store.portalSession(digest: digest("four"), at: start + 70_001) != nil)
            #expect(try await store.portalSession(digest: digest("three"), at: start + 1) == nil, "the expired row is gone")
            try await store.disablePartner(acme, at: start + 70_002)
            #expect(try await store.portalSession(digest: digest("four"), at: start + 70_003) == nil, "a disabled partner's sessions end")
            await #expect(throws: StoreError.partnerDisabled("acme")) {
                try await store.addKey(partner: acme, key: APIKey.generate(), role: .read, label: nil, at: start + 70_004)
            }
        }
    }
}
