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

    @Test("the per-token HMAC from precomputed pad states equals swift-crypto's HMAC for peppers and kids of every length")
    func precomputedPadsMatchHMAC() {
        var generator = SeededGenerator(seed: 19)
        // Peppers shorter than, equal to and longer than SHA-256's 64-byte block (a longer one is hashed first).
        for pepperLength in [1, 16, 32, 63, 64, 65, 100] {
            let pepper = SymmetricKey(data: (0..<pepperLength).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let deriver = PersonKeyDeriver(pepper: pepper)
            for kidLength in [1, 2, 31, 32, 33, 64] {
                let kid = String((0..<kidLength).map { _ in "abcXYZ019._-".randomElement(using: &generator)! })
                let token = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
                var reference = HMAC<SHA256>(key: pepper)
                reference.update(data: Array(kid.utf8) + token)
                #expect(deriver.personKey(kid: kid, token: token).bytes == Array(reference.finalize()), "pepper \(pepperLength) B, kid \(kidLength) B")
            }
        }
    }

    @Test("hex decoding eight digits at a time agrees with the digit-by-digit rule on every byte value")
    func hexDecodingAgreesWithNibbles() {
        var generator = SeededGenerator(seed: 23)
        let alphabet = Array("0123456789abcdefABCDEF".utf8)
        for round in 0..<4_000 {
            // Mostly valid digits, with one arbitrary byte (any of the 256) at a random place half the time.
            let length = [2, 8, 14, 16, 30, 64, 66][round % 7]
            var digits = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            if round % 2 == 1 { digits[Int.random(in: 0..<length, using: &generator)] = UInt8(round / 2 % 256) }
            let expected: [UInt8]? = stride(from: 0, to: length, by: 2).reduce(into: [UInt8]()) { out, at in
                out.append((Hex.nibble(digits[at]) ?? 0) << 4 | (Hex.nibble(digits[at + 1]) ?? 0))
            }
            let valid = digits.allSatisfy { Hex.nibble($0) != nil }
            var output = [UInt8](repeating: 0, count: length / 2)
            let decoded = digits.withUnsafeBytes { hex in output.withUnsafeMutableBytes { Hex.decode(hex, into: $0) } }
            #expect(decoded == valid, "round \(round): \(String(decoding: digits, as: UTF8.self))")
            if valid { #expect(output == expected, "round \(round)") }
        }
        var odd = [UInt8](repeating: 0, count: 2)
        #expect(!Array("abc".utf8).withUnsafeBytes { hex in odd.withUnsafeMutableBytes { Hex.decode(hex, into: $0) } })
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
