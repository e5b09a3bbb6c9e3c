//! Per-entry ingest cost (store, place in a story, index topics) against a store that already
//! holds N entries: `cargo bench --bench clustering -- 1000000` measures at 10,000, 100,000 and
//! 1,000,000 stored entries on one growing store, a row each.
//!
//! The stored entries are synthetic Russian-like news texts (a Zipf-distributed vocabulary of
//! generated words), 20 sources, 2,000 entries a day, so the story window (±7 days) always holds
//! about 28,000 entries whatever N is: what grows with N is the store, not the window. Each
//! measured round ingests 200 new entries, a fifth of them edited copies of recent stories from
//! another source; the median round is reported per entry.
//!
//! Beside each row past the first, a fresh store of 10,000 entries is measured in the same
//! minutes, its rounds alternated with the big store's, and the ratio of the two medians is the
//! growth figure. Rows taken minutes apart on this kind of machine (a VM on shared cores) moved
//! by a third from run to run on their own, the 10,000 row as much as the million, so their
//! ratio swung between 0.96× and 1.79× with the same code.

use std::hint::black_box;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use vestnik::cluster::identity_keys;
use vestnik::cluster::story::{place_pending, StoryIndex, StoryRules};
use vestnik::config::Config;
use vestnik::normalize::Entry;
use vestnik::store::Store;
use vestnik::topics::Topics;

const PER_DAY: u64 = 2_000;
const SOURCES: u64 = 20;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Vocabulary(Vec<String>);

impl Vocabulary {
    fn new(size: usize, rng: &mut Rng) -> Vocabulary {
        const SYLLABLES: &[&str] = &[
            "ра", "ло", "ми", "на", "ко", "сте", "ви", "де", "по", "лу", "ти", "ска", "вер", "ной",
            "ств", "ени", "ого", "ать",
        ];
        let words = (0..size)
            .map(|_| {
                let n = 2 + rng.below(3);
                (0..n)
                    .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
                    .collect()
            })
            .collect();
        Vocabulary(words)
    }

    /// A word, Zipf-like: low ranks are far more common.
    fn word(&self, rng: &mut Rng) -> &str {
        let uniform = (rng.below(1_000_000) + 1) as f64 / 1_000_000.0;
        let rank = ((self.0.len() as f64).powf(uniform) as usize).saturating_sub(1);
        &self.0[rank.min(self.0.len() - 1)]
    }

    fn text(&self, rng: &mut Rng, words: usize) -> String {
        let mut text = String::new();
        for i in 0..words {
            text.push_str(self.word(rng));
            text.push(if i % 15 == 14 { '.' } else { ' ' });
        }
        text
    }
}

/// Entry number `n`: its text drawn from a generator seeded by `n`, so that a copy of it can
/// be made again later. (Drawn from one shared generator, as before 2026-11-28, a "copy" made
/// with a fixed seed of 0 was one word 120 times: xorshift stays at 0, so every copy matched
/// every other and none the entry it was meant to copy.)
fn synthetic(n: u64, vocabulary: &Vocabulary) -> Entry {
    let mut rng = Rng(n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut entry = Entry::from_text(
        &format!("source{}", n % SOURCES),
        &vocabulary.text(&mut rng, 10),
        &vocabulary.text(&mut rng, 120),
    );
    entry.canonical_url = Some(format!("https://source{}.ru/news/{n}", n % SOURCES));
    entry.published = published(n);
    entry.first_seen = entry.published;
    entry
}

/// When entry number `n` is published: [`PER_DAY`] a day from 2020-01-01.
fn published(n: u64) -> chrono::DateTime<Utc> {
    let start = Utc
        .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date");
    start + Duration::seconds((n * 86_400 / PER_DAY) as i64)
}

/// Time spent in each step of ingest, in seconds.
#[derive(Default)]
struct Steps {
    store: f64,
    stories: f64,
    topics: f64,
}

fn ingest(store: &Store, topics: &Topics, entry: Entry, rules: &StoryRules, steps: &mut Steps) {
    let started = Instant::now();
    let keys = identity_keys(&entry);
    black_box(store.upsert(entry, &keys).expect("upsert"));
    let stored = Instant::now();
    place_pending(store, rules).expect("stories");
    let placed = Instant::now();
    topics.index_pending(store).expect("topics");
    steps.store += (stored - started).as_secs_f64();
    steps.stories += (placed - stored).as_secs_f64();
    steps.topics += placed.elapsed().as_secs_f64();
}

fn main() {
    let stored: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Store::open(dir.path()).expect("a store");
    let config = Config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/feeds.toml"
    )))
    .expect("the shipped config");
    let topics = Topics::compile(&config).expect("the shipped topics");
    let rules = StoryRules::default();
    let mut rng = Rng(0x5EED);
    let vocabulary = Vocabulary::new(20_000, &mut rng);

    let load_started = Instant::now();
    // Measured at 10,000, 100,000 and 1,000,000 on the way (those below N) and at N, on one
    // growing store: each row compares with the rows above it under the same conditions.
    let checkpoints: Vec<u64> = [REFERENCE, 100_000, 1_000_000]
        .into_iter()
        .filter(|c| *c < stored)
        .chain(std::iter::once(stored))
        .collect();
    println!("stored entries | ingest per entry: median of {ROUNDS} rounds of 200 (min–max) | store / stories / topics | loaded in | on disk | a fresh {REFERENCE}-entry store, rounds alternated: median (min–max) | ratio");
    let mut n = 0;
    for checkpoint in checkpoints {
        load(
            &store,
            &topics,
            &vocabulary,
            &mut n,
            checkpoint,
            load_started,
        );
        let stored_now = n;
        let mut big = Measured::new(&store, n);
        // The reference is as many entries as the first row, loaded afresh each time (a couple
        // of seconds), so that it is never bigger than that row was.
        let reference_dir = tempfile::tempdir().expect("a temp dir");
        let reference_store = Store::open(reference_dir.path()).expect("a store");
        let mut reference = (stored_now > REFERENCE).then(|| {
            let mut next = 0;
            load(
                &reference_store,
                &topics,
                &vocabulary,
                &mut next,
                REFERENCE,
                Instant::now(),
            );
            Measured::new(&reference_store, next)
        });
        for _ in 0..ROUNDS {
            big.round(&topics, &rules, &vocabulary, &mut rng);
            if let Some(reference) = &mut reference {
                reference.round(&topics, &rules, &vocabulary, &mut rng);
            }
        }
        let (rounds, steps, next) = big.finish();
        n = next;
        let total = steps.store + steps.stories + steps.topics;
        let alongside = match reference {
            Some(reference) => {
                let (reference_rounds, _, _) = reference.finish();
                format!(
                    "{:.0} µs ({:.0}–{:.0}) | **{:.2}×**",
                    reference_rounds[ROUNDS / 2],
                    reference_rounds[0],
                    reference_rounds[ROUNDS - 1],
                    rounds[ROUNDS / 2] / reference_rounds[ROUNDS / 2]
                )
            }
            None => "(this row) | 1.00×".to_string(),
        };
        println!(
            "{stored_now} | {:.0} µs ({:.0}–{:.0}) | {:.0} % / {:.0} % / {:.0} % | {:.0?} | {:.0} MiB | {alongside}",
            rounds[ROUNDS / 2],
            rounds[0],
            rounds[ROUNDS - 1],
            100.0 * steps.store / total,
            100.0 * steps.stories / total,
            100.0 * steps.topics / total,
            load_started.elapsed(),
            walk(dir.path()) as f64 / 1_048_576.0
        );
    }
}

/// The size every bigger store is compared with.
const REFERENCE: u64 = 10_000;

/// Stores synthetic entries numbered from `*n` up to `to`, as a poll stores its batch.
fn load(
    store: &Store,
    topics: &Topics,
    vocabulary: &Vocabulary,
    n: &mut u64,
    to: u64,
    started: Instant,
) {
    // Loaded a thousand entries to a transaction, as a poll stores its batch: a million
    // one-entry transactions would take hours here.
    while *n < to {
        let batch: Vec<_> = (*n..(*n + 1_000).min(to))
            .map(|i| {
                let entry = synthetic(i, vocabulary);
                let keys = identity_keys(&entry);
                (entry, keys)
            })
            .collect();
        let before = *n;
        *n += batch.len() as u64;
        for outcome in store.upsert_all(batch).expect("upsert") {
            // Loading places nothing: every stored entry is its own story, as far as this goes.
            store.join(outcome.id(), &[]).expect("placed");
        }
        // Stored entries are indexed under their topics, as ingest would have done.
        topics.index_pending(store).expect("topics");
        if before / 100_000 != *n / 100_000 {
            eprintln!("loaded {n} entries in {:.0?}", started.elapsed());
        }
    }
}

/// Rounds of 200 new entries measured at each size. With seven, the million's rounds spread from
/// 1.35 to 2.53 ms in one run and its ratio to the 10,000 row moved from 1.37× to 1.92× between
/// two runs; the median of 21 moves less.
const ROUNDS: usize = 21;

/// Rounds of 200 new entries into one store, a fifth of them edited copies of recent stories
/// from other sources, numbered on from the store's last entry.
struct Measured<'s> {
    store: &'s Store,
    /// The number the next entry gets.
    next: u64,
    /// Per-entry microseconds of each round.
    rounds: Vec<f64>,
    steps: Steps,
}

impl<'s> Measured<'s> {
    fn new(store: &'s Store, next: u64) -> Measured<'s> {
        Measured {
            store,
            next,
            rounds: Vec::new(),
            steps: Steps::default(),
        }
    }

    fn round(
        &mut self,
        topics: &Topics,
        rules: &StoryRules,
        vocabulary: &Vocabulary,
        rng: &mut Rng,
    ) {
        let next = &mut self.next;
        let entries: Vec<Entry> = (0..200)
            .map(|i| {
                let number = *next;
                *next += 1;
                if i % 5 == 0 {
                    // An edited copy of one of the last thousand entries, from another source.
                    let mut copy = synthetic(number - 1 - rng.below(1_000.min(number)), vocabulary);
                    copy.source_id = format!("copier{}", rng.below(5));
                    copy.canonical_url = Some(format!("https://copier.ru/{number}"));
                    copy.published = published(number);
                    copy.text = format!("Как сообщает пресс-служба, {}", copy.text);
                    copy
                } else {
                    synthetic(number, vocabulary)
                }
            })
            .collect();
        let started = Instant::now();
        for entry in entries {
            ingest(self.store, topics, entry, rules, &mut self.steps);
        }
        self.rounds
            .push(started.elapsed().as_secs_f64() * 1e6 / 200.0);
    }

    /// The rounds' per-entry microseconds, sorted, the time per step, and the number the next
    /// entry would have.
    fn finish(mut self) -> (Vec<f64>, Steps, u64) {
        self.rounds.sort_by(f64::total_cmp);
        (self.rounds, self.steps, self.next)
    }
}

fn walk(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
