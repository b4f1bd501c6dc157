/// Hexadecimal decoding and encoding for tokens and digests.
///
/// Tokens arrive as 64 hexadecimal characters; decoding them straight from the request bytes
/// (no intermediate `String`) keeps the ingest path free of allocations.
public enum Hex {
    /// The value of one ASCII hexadecimal digit, or `nil` for any other byte.
    @inlinable
    public static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    /// Decodes `hex` (an even number of hexadecimal digits) into `output`, which must have
    /// exactly half as many bytes. Returns `false` if a byte is not a hexadecimal digit.
    ///
    /// Every token of every uploaded line passes here, so eight digits are decoded at a time in
    /// one 64-bit word (``decodeEight(_:)``) and a shorter tail digit by digit. `output` holds
    /// garbage when it returns `false`.
    @inlinable
    public static func decode(_ hex: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard hex.count == output.count * 2 else { return false }
        guard let source = hex.baseAddress, let target = output.baseAddress else { return true }
        var valid = true
        var done = 0
        while done + 4 <= output.count {
            let word = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* done, as: UInt64.self))
            let (bytes, wordValid) = decodeEight(word)
            valid = valid && wordValid
            target.storeBytes(of: bytes.littleEndian, toByteOffset: done, as: UInt32.self)
            done += 4
        }
        while done < output.count {
            guard let high = nibble(source.load(fromByteOffset: 2 &* done, as: UInt8.self)),
                let low = nibble(source.load(fromByteOffset: 2 &* done &+ 1, as: UInt8.self))
            else { return false }
            target.storeBytes(of: high << 4 | low, toByteOffset: done, as: UInt8.self)
            done += 1
        }
        return valid
    }

    /// Eight ASCII digits (little-endian: the first digit in the lowest byte) to four bytes, and
    /// whether all eight were hexadecimal digits, with word arithmetic only (no branch a digit).
    ///
    /// Validity: a byte below 0x80 is in `lo...hi` when adding `0x80 - lo` sets its top bit and
    /// adding `0x7f - hi` does not (no carry crosses bytes below 0x80). Value: the low nibble, plus
    /// 9 when bit 6 is set ('A'-'F' and 'a'-'f' are 0x41-0x46 and 0x61-0x66, digits 0x30-0x39).
    @inlinable @inline(__always)
    static func decodeEight(_ word: UInt64) -> (UInt32, Bool) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let top = ones &* 0x80
        let lower = word | (ones &* 0x20)
        let isDigit = (word &+ ones &* 0x50) & ~(word &+ ones &* 0x46)
        let isLetter = (lower &+ ones &* 0x1f) & ~(lower &+ ones &* 0x19)
        let valid = word & top == 0 && (isDigit | isLetter) & top == top
        let values = (word & (ones &* 0x0f)) &+ ((word >> 6) & ones) &* 9
        var packed = ((values << 4) | (values >> 8)) & 0x00ff_00ff_00ff_00ff
        packed = (packed | (packed >> 8)) & 0x0000_ffff_0000_ffff
        packed = (packed | (packed >> 16)) & 0xffff_ffff
        return (UInt32(truncatingIfNeeded: packed), valid)
    }

    /// Decodes a hexadecimal string, or returns `nil` if it is not one.
    public static func decode(_ string: String) -> [UInt8]? {
        var utf8 = Array(string.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: utf8.count / 2)
        let ok = utf8.withUnsafeMutableBytes { hex in
            bytes.withUnsafeMutableBytes { decode(UnsafeRawBufferPointer(hex), into: $0) }
        }
        return ok ? bytes : nil
    }

    /// Lower-case hexadecimal rendering of `bytes`.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
