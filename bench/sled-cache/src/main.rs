//! How much memory sled 0.34 keeps for a store, against its cache capacity: it writes VALUES
//! values of BYTES bytes (flushing every 32, as a poll does), reading a random older one after
//! each write, then opens the store again and reads random values twice over. The live heap
//! (jemalloc's `stats.allocated`) is printed as it goes.
//!
//!   cargo run --release -- VALUES BYTES CACHE_BYTES DIR
//!
//! It showed that the capacity does not bound sled's memory here: sled's LRU hears of an access
//! only when 64 have queued up in one of its 256 shards, so about 16,000 pages stay in memory.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn heap() -> String {
    let _ = tikv_jemalloc_ctl::epoch::advance();
    let mib = |bytes: Result<usize, _>| bytes.map_or(0, |b: usize| b >> 20);
    format!(
        "allocated {} MiB, resident {} MiB",
        mib(tikv_jemalloc_ctl::stats::allocated::read()),
        mib(tikv_jemalloc_ctl::stats::resident::read())
    )
}

/// The key of value `k`: spread over the key space, as entry ids (hashes) are.
fn key(k: u64) -> String {
    format!("{:016x}", k.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// xorshift: the same reads every run.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [values, bytes, cache, dir] = args.as_slice() else {
        return Err("usage: sled-cache VALUES BYTES CACHE_BYTES DIR".into());
    };
    let (values, bytes, cache): (u64, usize, u64) =
        (values.parse()?, bytes.parse()?, cache.parse()?);
    let dir = std::path::Path::new(dir);
    let _ = std::fs::remove_dir_all(dir);
    let mut random = Random(0x2545_F491_4F6C_DD1D);
    {
        let db = sled::Config::new().path(dir).cache_capacity(cache).open()?;
        let tree = db.open_tree("entries")?;
        let value = vec![b'x'; bytes];
        for k in 0..values {
            tree.insert(key(k), value.as_slice())?;
            if k % 32 == 31 {
                db.flush()?;
            }
            if k > 0 {
                tree.get(key(random.below(k)))?;
            }
            if k % 20_000 == 0 {
                println!("written {k}: {}", heap());
            }
        }
        db.flush()?;
        println!("written all {values}: {}", heap());
    }
    let db = sled::Config::new().path(dir).cache_capacity(cache).open()?;
    let tree = db.open_tree("entries")?;
    println!("opened again: {}", heap());
    for k in 0..2 * values {
        tree.get(key(random.below(values)))?;
        if k % 40_000 == 39_999 {
            println!("read {}: {}", k + 1, heap());
        }
    }
    Ok(())
}
