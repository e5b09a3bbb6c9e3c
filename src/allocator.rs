//! Tuning glibc's malloc for a daemon that runs for months: its defaults suit short programs.
//!
//! Both calls do nothing on other allocators and platforms.

/// glibc gives each thread that allocates under contention an arena of its own (up to eight per
/// core) and keeps what is freed in it for that arena's reuse. The daemon's threads — tokio's,
/// the ingest threads, sled's I/O threads — each held freed memory that way: with two arenas
/// the peak RSS on 300 sources × 100 items fell from 142 to 123 MiB (BENCHMARKS.md). Setting
/// `MALLOC_ARENA_MAX` in the environment still overrides this. Call it first thing in `main`,
/// before any other thread exists.
pub fn cap_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tuning parameter of the allocator; an unknown or refused
        // setting returns 0 and changes nothing.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Hands the whole free pages inside malloc's heaps back to the kernel.
///
/// glibc returns memory on its own only from the top of a heap. The ingest threads live as long
/// as the daemon and interleave long-lived allocations (sled's pages, the caches) with a poll's
/// megabytes of short-lived parse and normalize buffers, so freed pages pile up below live
/// ones: trimming after every few ingest jobs took the peak RSS of `bench/polling.sh` (10,000
/// sources × 20 items) from 337 to 186 MiB, for under a millisecond and a half per trim.
pub fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only gives free pages back; it takes the arenas' locks itself.
    unsafe {
        libc::malloc_trim(0);
    }
}
