//! The memory allocator: jemalloc, set up for a daemon that runs for months.
//!
//! Why not glibc's malloc: a poll allocates and frees megabytes of parse and normalize buffers
//! between long-lived allocations (sled's pages, the caches). glibc spent about a quarter of a
//! poll's CPU time in malloc and free, and gave pages back to the kernel only from the top of a
//! heap, so it needed a `malloc_trim` after every few ingest jobs to keep its peak down.
//! jemalloc, measured on `bench/polling.sh` at 3,000 sources and `bench/run.sh memory`
//! (BENCHMARKS.md): 31–35 s → 17–22 s per all-new poll, and a daemon peak of 184 MiB against
//! glibc's 186.
//!
//! Declared in the library, so that tests, benchmarks and examples run on the allocator the
//! daemon runs on. The `jemalloc` feature (on by default) can be turned off for builds that
//! must see the system allocator, such as the fuzz targets under AddressSanitizer.

/// The global allocator of every binary that links Vestnik.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts (before `main`); `_RJEM_MALLOC_CONF` in the
/// environment still overrides them.
///
/// - `narenas:2`: arenas are shared by threads; its default, four per core, keeps freed memory
///   in each of eight arenas for the daemon's dozen threads.
/// - `background_thread:true`: a jemalloc thread returns unused pages to the kernel, instead
///   of the threads that allocate.
/// - `dirty_decay_ms:1000,muzzy_decay_ms:0`: freed pages go back within a second (the
///   default is ten), and at once rather than through a second, lazily freed state.
#[cfg(feature = "jemalloc")]
pub const SETTINGS: &str = "narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";

/// [`SETTINGS`] as jemalloc looks for them: a C string named `malloc_conf` (with the prefix
/// tikv-jemalloc-sys gives its symbols). A reference to a byte array is a plain pointer.
#[cfg(feature = "jemalloc")]
#[export_name = "_rjem_malloc_conf"]
#[used]
static MALLOC_CONF: &[u8; SETTINGS.len() + 1] = &{
    let mut c_string = [0u8; SETTINGS.len() + 1];
    let bytes = SETTINGS.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        c_string[i] = bytes[i];
        i += 1;
    }
    c_string
};

#[cfg(all(test, feature = "jemalloc"))]
mod tests {
    #[test]
    fn jemalloc_runs_with_our_settings() {
        // Fails when the settings symbol is not picked up (a wrong prefix or name), which
        // would leave jemalloc on its defaults without a word.
        assert_eq!(tikv_jemalloc_ctl::opt::narenas::read().unwrap(), 2);
        assert!(tikv_jemalloc_ctl::opt::background_thread::read().unwrap());
    }
}
