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
    @inlinable
    public static func decode(_ hex: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard hex.count == output.count * 2 else { return false }
        var index = 0
        while index < output.count {
            guard let high = nibble(hex[2 * index]), let low = nibble(hex[2 * index + 1]) else { return false }
            output[index] = high << 4 | low
            index += 1
        }
        return true
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
