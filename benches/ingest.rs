//! The whole ingest pipeline on one big feed against a raw quick-xml scan of the same bytes, in
//! the same run: `cargo bench --bench ingest -- FEED [RUNS]` (FEED from `bench/gen.py`; RUNS
//! defaults to 5). Not part of CI; `bench/run.sh` runs it.
//!
//! Vestnik's side is what a poll does: an HTTP GET over loopback, charset decision, repair and
//! parse, normalize (chrome, text, sanitized HTML, canonical URL, dates, language), identity,
//! sled transactions of 32 entries in slices of 500, stories, topics (the shipped `feeds.toml`
//! topics) and the flush, into a fresh store each run; the poll report's stage times say where
//! the time went. The baseline reads every XML event of the same bytes with quick-xml and
//! touches each text, which is the least any feed reader must do; its runs come between the
//! pipeline's.
//!
//! A third side shows what the named crates alone cost on the same bytes: feed-rs's parse, then
//! ammonia's default clean of each item's HTML, then one sled insert of each cleaned item and a
//! flush. Any pipeline built on them does at least this, so its ratio to the scan is a floor
//! under the goal's ratio.
//!
//! A fourth side shows what holding Vestnik's rows in sled costs: every row the store holds
//! after the first run (entries, identity keys, time rows, fingerprint index, story features,
//! stories, topics), written again into a fresh sled database by plain inserts, tree by tree in
//! key order (sled's easiest case: no reads, no transactions, no crash-safety ordering), and
//! flushed. Added to the named crates' floor, it is what any pipeline keeping these rows in sled
//! costs at least; only fewer or smaller rows would cost less.

use std::time::{Duration, Instant};

/// Raw scans after each pipeline run: a scan takes a hundredth of a run, and its median moved
/// by a third between runs when all of them came after the pipeline's.
const SCANS_PER_RUN: usize = 8;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn raw_scan(bytes: &[u8]) -> usize {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut text_bytes = 0;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Text(t)) => text_bytes += t.len(),
            Ok(quick_xml::events::Event::CData(t)) => text_bytes += t.len(),
            Ok(_) => {}
            Err(e) => panic!("quick-xml: {e}"),
        }
        buf.clear();
    }
    text_bytes
}

/// A new sled database at `dir`, with the cache the store uses.
fn fresh_sled(dir: &std::path::Path) -> sled::Db {
    sled::Config::new()
        .path(dir)
        .cache_capacity(vestnik::store::CACHE_BYTES)
        .open()
        .expect("sled opens")
}

/// The named crates' least work (see the module comment): the time to parse alone, and to parse,
/// sanitize and store.
fn named_floor(bytes: &[u8], dir: &std::path::Path) -> (Duration, Duration) {
    let started = Instant::now();
    let feed = feed_rs::parser::parse(bytes).expect("feed-rs parses the bench feed");
    let parsed = started.elapsed();
    let db = fresh_sled(dir);
    for (n, item) in feed.entries.iter().enumerate() {
        let html = item
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref())
            .or(item.summary.as_ref().map(|s| s.content.as_str()))
            .unwrap_or("");
        let clean = ammonia::clean(html);
        db.insert((n as u64).to_be_bytes(), clean.as_bytes())
            .expect("sled insert");
    }
    db.flush().expect("sled flush");
    (parsed, started.elapsed())
}

/// Every row of every tree of the sled database at `path`, tree by tree in key order; the
/// database may still be closing (its lock held for a moment after the last handle is dropped).
fn rows_of(path: &std::path::Path) -> Vec<(String, Vec<(sled::IVec, sled::IVec)>)> {
    let started = Instant::now();
    let db = loop {
        match sled::Config::new().path(path).open() {
            Ok(db) => break db,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot reopen the store: {e}"),
        }
    };
    db.tree_names()
        .into_iter()
        .map(|name| {
            let tree = db.open_tree(&name).expect("a tree");
            let rows = tree.iter().map(|row| row.expect("a row")).collect();
            (String::from_utf8_lossy(&name).into_owned(), rows)
        })
        .collect()
}

/// Writes `rows` into a fresh database at `dir` with plain inserts and flushes it: the time, and
/// the part of it the fingerprint index took.
fn replay(
    rows: &[(String, Vec<(sled::IVec, sled::IVec)>)],
    dir: &std::path::Path,
) -> (Duration, Duration) {
    let started = Instant::now();
    let db = fresh_sled(dir);
    let mut fingerprints = Duration::ZERO;
    for (name, rows) in rows {
        let tree_started = Instant::now();
        let tree = db.open_tree(name).expect("a tree");
        for (key, value) in rows {
            tree.insert(key, value).expect("sled insert");
        }
        if name == "story_fingerprints" {
            fingerprints = tree_started.elapsed();
        }
    }
    db.flush().expect("sled flush");
    (started.elapsed(), fingerprints)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(path) = args.first() else {
        eprintln!("usage: cargo bench --bench ingest -- FEED [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let bytes = std::fs::read(path).expect("the feed file");
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds.toml"))
        .expect("feeds.toml");
    let topics = shipped
        .find("[[topic]]")
        .map(|at| &shipped[at..])
        .unwrap_or("");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let body = bytes.clone();
    let upstream = runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/big.rss",
            axum::routing::get(move || {
                let body = body.clone();
                async move { ([("content-type", "application/rss+xml")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });

    let mut vestnik = Vec::new();
    let mut stages = Vec::new();
    let mut stored = 0;
    let mut scan = Vec::new();
    let mut floor_parse = Vec::new();
    let mut floor = Vec::new();
    let mut text = 0;
    let mut rows = Vec::new();
    let mut replays = Vec::new();
    let mut replays_fingerprints = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_path = dir.path().join("feeds.toml");
        std::fs::write(
            &config_path,
            format!(
                "[settings]\ndata_dir = \"data\"\nretention = \"36500d\"\nmax_body_size = 104857600\n\n[[source]]\nid = \"big\"\nurl = \"http://{upstream}/big.rss\"\n\n{topics}"
            ),
        )
        .expect("config");
        let config = vestnik::config::Config::load(&config_path).expect("config loads");
        let store = vestnik::daemon::open_store(&config).expect("store");
        let compiled = vestnik::daemon::compile_topics(&config).expect("topics");
        let started = Instant::now();
        let reports = runtime
            .block_on(vestnik::daemon::poll_once(
                &config,
                &store,
                &compiled,
                &config.sources,
                |_| {},
            ))
            .expect("poll");
        vestnik.push(started.elapsed());
        assert!(reports[0].error.is_none(), "{:?}", reports[0]);
        stored = reports[0].inserted;
        stages.push(reports[0].stages);
        if rows.is_empty() {
            drop(store);
            rows = rows_of(&config.settings.data_dir);
        }
        // Scans between the pipeline's runs, so that both sides see the same machine.
        for _ in 0..SCANS_PER_RUN {
            let started = Instant::now();
            text = std::hint::black_box(raw_scan(std::hint::black_box(&bytes)));
            scan.push(started.elapsed());
        }
        let floor_dir = tempfile::tempdir().expect("temp dir");
        let (parsed, whole) = named_floor(&bytes, floor_dir.path());
        floor_parse.push(parsed);
        floor.push(whole);
        let replay_dir = tempfile::tempdir().expect("temp dir");
        let (replayed, fingerprints) = replay(&rows, replay_dir.path());
        replays.push(replayed);
        replays_fingerprints.push(fingerprints);
    }

    let scans = scan.len();
    let (v, s) = (median(vestnik), median(scan));
    println!(
        "feed: {path}, {:.1} MB, {stored} entries stored, {:.1} MB of text seen by the scan",
        bytes.len() as f64 / 1e6,
        text as f64 / 1e6
    );
    println!(
        "vestnik whole pipeline: median {:.3} s of {runs} runs ({:.0} items/s, {:.1} MB/s)",
        v.as_secs_f64(),
        stored as f64 / v.as_secs_f64(),
        bytes.len() as f64 / 1e6 / v.as_secs_f64()
    );
    let stage = |of: fn(&vestnik::ingest::StageTimes) -> u64| {
        median(
            stages
                .iter()
                .map(|s| Duration::from_micros(of(s)))
                .collect(),
        )
        .as_secs_f64()
    };
    println!(
        "  stages (medians): parse {:.3} s, normalize {:.3} s, store {:.3} s, stories {:.3} s, topics {:.3} s, flush {:.3} s",
        stage(|s| s.parse_us),
        stage(|s| s.normalize_us),
        stage(|s| s.store_us),
        stage(|s| s.stories_us),
        stage(|s| s.topics_us),
        stage(|s| s.flush_us),
    );
    println!(
        "quick-xml raw scan:     median {:.4} s of {} runs ({:.0} MB/s)",
        s.as_secs_f64(),
        scans,
        bytes.len() as f64 / 1e6 / s.as_secs_f64()
    );
    println!(
        "ratio: {:.1}x (goal: within 15x)",
        v.as_secs_f64() / s.as_secs_f64()
    );
    let (fp, f) = (median(floor_parse), median(floor));
    println!(
        "named crates alone: feed-rs parse {:.3} s ({:.1}x the scan); with ammonia::clean of each item and one sled insert each, flushed: {:.3} s ({:.1}x)",
        fp.as_secs_f64(),
        fp.as_secs_f64() / s.as_secs_f64(),
        f.as_secs_f64(),
        f.as_secs_f64() / s.as_secs_f64()
    );
    let count: usize = rows.iter().map(|(_, r)| r.len()).sum();
    let bytes_held: usize = rows
        .iter()
        .flat_map(|(_, r)| r.iter().map(|(k, v)| k.len() + v.len()))
        .sum();
    let per_tree: Vec<String> = rows
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(name, r)| format!("{name} {}", r.len()))
        .collect();
    let (r, rf) = (median(replays), median(replays_fingerprints));
    println!(
        "the store's rows alone: {count} rows, {:.1} MB ({}); written by plain sled inserts in key order, flushed: {:.3} s ({:.1}x the scan; the fingerprint index {:.3} s of it); added to the named crates' floor: {:.1}x",
        bytes_held as f64 / 1e6,
        per_tree.join(", "),
        r.as_secs_f64(),
        r.as_secs_f64() / s.as_secs_f64(),
        rf.as_secs_f64(),
        (f + r).as_secs_f64() / s.as_secs_f64()
    );
}
