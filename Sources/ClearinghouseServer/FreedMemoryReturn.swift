#if canImport(Glibc)
import CMalloc
#endif

/// Makes glibc give freed memory back to the system promptly, so the daemon's resident memory
/// follows what it uses, not the most it ever used per thread.
///
/// Each upload allocates a few megabytes of buffers (its spool, its consent lookup) and frees
/// them when it answers, on whichever threads served it. By default glibc raises its mmap
/// threshold to the largest block freed and keeps freed blocks in per-thread arenas, so after a
/// few batches the arenas held 170 MiB that was free but still resident (measured with
/// `malloc_stats()` after 3 M signals: 260 MiB taken from the system, 89 MiB in use). With fixed
/// thresholds, blocks of 1 MiB and more are mapped and unmapped directly, and an arena gives its
/// free top back beyond 4 MiB. Measured at 1 M signals (`scripts/bench ingest`): peak RSS 146-157
/// MiB and 384-406 k signals/s; 256 KiB / 1 MiB kept 150 MiB but cost page faults (327-384 k/s),
/// 4 MiB / 8 MiB ran 416-429 k/s at 182-194 MiB.
public enum FreedMemoryReturn {
    public static func configure() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 1024 * 1024)
        _ = mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024)
        #endif
    }
}
