import Crypto
import Testing

@testable import ClearinghouseCore

@Suite("Person keys, pepper file and API keys")
struct IdentityTests {
    let pepper = SymmetricKey(data: Array(1...32) as [UInt8])

    @Test("the person key is HMAC-SHA256(pepper, kid || token), matching an independent implementation")
    func knownVector() {
        // Computed with Python's hmac module: hmac.new(bytes(range(1,33)), b"k1" + b"\xaa" * 32, sha256).
        let key = PersonKeyDeriver(pepper: pepper).personKey(kid: "k1", token: [UInt8](repeating: 0xAA, count: 32))
        #expect(Hex.encode(key.bytes) == "56ab65e821544b146cb9f5812e7336e05bb94e4c55feb8859e1ce6da92326fd6")
    }

    @Test("tokens under different kids or peppers never share a key; the same person under one kid does")
    func separation() {
        let deriver = PersonKeyDeriver(pepper: pepper)
        let token = [UInt8](repeating: 7, count: 32)
        #expect(deriver.personKey(kid: "k1", token: token) == deriver.personKey(kid: "k1", token: token))
        #expect(deriver.personKey(kid: "k1", token: token) != deriver.personKey(kid: "k2", token: token))
        let other = PersonKeyDeriver(pepper: SymmetricKey(size: .bits256))
        #expect(deriver.personKey(kid: "k1", token: token) != other.personKey(kid: "k1", token: token))
        #expect(deriver.fingerprint != other.fingerprint)
        #expect("\(deriver.personKey(kid: "k1", token: token))" == "PersonKey(redacted)")
    }

    @Test("API keys: generated keys parse and match only their own digest")
    func apiKeys() throws {
        let key = APIKey.generate()
        let parsed = try #require(APIKey.parse(Substring(key.text)))
        #expect(parsed.keyID == key.keyID && parsed.secret == key.secret)
        #expect(parsed.matches(storedDigest: key.secretDigest))
        #expect(!APIKey.generate().matches(storedDigest: key.secretDigest))
        #expect(!parsed.matches(storedDigest: nil))
        for malformed in ["", "chk_", "Bearer x", "chk_zzzzzzzzzzzz_" + key.secret, "chk_\(key.keyID)_short", String(key.text.dropLast()) + "!"] {
            #expect(APIKey.parse(Substring(malformed)) == nil)
        }
    }

    @Test("the pepper file is created 0600 with 32 bytes, reloaded, and refused when too open or the wrong size")
    func pepperFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/pepper.key"
        let created = try PepperFile.loadOrCreate(at: path)
        #expect(created.created)
        #expect(try TemporaryDirectory.mode(of: path) == 0o600)
        let again = try PepperFile.loadOrCreate(at: path)
        #expect(!again.created)
        #expect(again.key == created.key)
        try TemporaryDirectory.chmod(path, 0o644)
        #expect(throws: PepperFile.Failure.tooOpen(path: path, mode: 0o644)) { try PepperFile.load(at: path) }
        try TemporaryDirectory.chmod(path, 0o600)
        try TemporaryDirectory.write([1, 2, 3], to: path)
        #expect(throws: PepperFile.Failure.wrongLength(path: path, length: 3)) { try PepperFile.load(at: path) }
    }
}
