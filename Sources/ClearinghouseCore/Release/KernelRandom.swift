#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernel's cryptographic random bytes, fetched 4 KiB at a time.
///
/// The same source as `SystemRandomNumberGenerator` (the kernel's CSPRNG: /dev/urandom, the
/// pool of getrandom(2), on Linux; arc4random on Darwin), which makes one system call per 8
/// bytes: a release draws a few dozen uniform
/// integers per noised cell and hundreds of thousands of cells, so the calls would cost more
/// than the counting. The buffer lives in one release's builder and is never reused by
/// another; its words are used once each.
public struct KernelRandom: RandomNumberGenerator, Sendable {
    private var buffer = [UInt64](repeating: 0, count: 512)
    private var position = 512

    public init() {}

    public mutating func next() -> UInt64 {
        if position == buffer.count { refill() }
        defer { position += 1 }
        return buffer[position]
    }

    private mutating func refill() {
        buffer.withUnsafeMutableBytes { bytes in
            #if canImport(Glibc)
            // /dev/urandom is getrandom(2)'s pool (Swift's Glibc module does not export
            // getrandom); it never blocks once the kernel has seeded it at boot.
            let file = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            var filled = 0
            if file >= 0 {
                defer { close(file) }
                while filled < bytes.count {
                    let got = read(file, bytes.baseAddress! + filled, bytes.count - filled)
                    if got > 0 {
                        filled += got
                    } else if got == 0 || errno != EINTR {
                        break
                    }
                }
            }
            if filled < bytes.count {
                // No descriptor to spare (a flood of connections) or a failed read: the same
                // kernel source through the standard generator, 8 bytes per call.
                var system = SystemRandomNumberGenerator()
                let words = bytes.bindMemory(to: UInt64.self)
                for index in (filled / 8)..<words.count { words[index] = system.next() }
            }
            #else
            arc4random_buf(bytes.baseAddress!, bytes.count)
            #endif
        }
        position = 0
    }
}
