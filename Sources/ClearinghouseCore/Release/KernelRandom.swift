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
public struct KernelRandom: RandomNumberGenerator {
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
            guard file >= 0 else { fatalError("cannot open /dev/urandom (errno \(errno)); the kernel's random source is needed for noise") }
            defer { close(file) }
            var filled = 0
            while filled < bytes.count {
                let got = read(file, bytes.baseAddress! + filled, bytes.count - filled)
                if got > 0 {
                    filled += got
                } else if got < 0 && errno != EINTR || got == 0 {
                    // No safe fallback exists for noise: stop rather than draw weak numbers.
                    fatalError("reading /dev/urandom failed (errno \(errno)); the kernel's random source is needed for noise")
                }
            }
            #else
            arc4random_buf(bytes.baseAddress!, bytes.count)
            #endif
        }
        position = 0
    }
}
