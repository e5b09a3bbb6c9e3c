//! The sled store: entries, the keys that identify them, a time index and per-source state.
//!
//! Writes that belong together (an entry, its keys and its index row) happen in one sled
//! transaction, so a crash never leaves an entry without its index or a key pointing nowhere.
//! A new entry's fingerprint rows and story features are the exception: they are written just
//! before, outside sled's global transaction lock, and a row whose entry never arrived only
//! costs a lookup until retention sweeps it (`upsert.rs`).
//! Callers flush before they report a poll done or advance a source's validators: a poll that is
//! lost in a crash is simply fetched again, and ingesting it again changes nothing.

mod recurring;

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use crate::cluster::{EntryId, StoryId};
use crate::normalize::Entry;
use crate::schedule::SourceState;

mod retention;
mod stories;
mod upsert;

pub use stories::{StoryMember, StoryRecord};

/// Bumped when the layout of the trees or of their values changes incompatibly. Version 2
/// put the week first in the fingerprint index and the story id in the time rows (entries by
/// time and by topic); version 3 chose fewer fingerprints per entry (a wider winnowing
/// window); version 4 laid the fingerprint index out in 32-day buckets instead of weeks;
/// version 5 writes entries compressed ([`encode_entry`]); version 6 keeps each entry's story
/// features beside it (`story_features`), which an older Vestnik would leave stale when it
/// changed an entry. Versions 1 to 3 are migrated on open; version 4's plain entries are read
/// as they are and compressed when next written; entries stored before version 6 have their
/// features computed when asked for, as before.
pub const SCHEMA_VERSION: u32 = 6;

/// An entry as stored: its stable id and its story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEntry {
    pub id: EntryId,
    pub story_id: StoryId,
    #[serde(flatten)]
    pub entry: Entry,
}

/// An entry as a time index lists it: enough to page through a feed, one row per entry, without
/// reading the entries (the time rows carry the entry's story id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub entry: EntryId,
    pub story: StoryId,
}

/// What storing an entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upsert {
    Inserted(EntryId),
    Updated(EntryId),
    Unchanged(EntryId),
}

impl Upsert {
    pub fn id(&self) -> &EntryId {
        match self {
            Upsert::Inserted(id) | Upsert::Updated(id) | Upsert::Unchanged(id) => id,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store holds a value it cannot read ({what}): {source}")]
    Corrupt {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the store at {path} has schema version {found}; this Vestnik reads version {expected}"
    )]
    Schema {
        path: String,
        found: u32,
        expected: u32,
    },
    #[error("store holds a compressed entry it cannot expand: {0}")]
    CorruptCompressed(String),
    #[error("the store's flush task failed: {0}")]
    Task(String),
    #[error("the store at {path} is in use by another process (its lock was still held after {waited:?}); stop that one first")]
    Locked {
        path: String,
        waited: std::time::Duration,
    },
}

/// A transaction's own error as it is, sled's as a store error: what every transaction's
/// caller wants.
impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> StoreError {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

pub struct Store {
    db: sled::Db,
    entries: sled::Tree,
    keys: sled::Tree,
    /// Time key (published, entry id) → the entry's story id.
    by_time: sled::Tree,
    sources: sled::Tree,
    /// Entries whose topics must be evaluated (again): written with the entry, in one
    /// transaction, so a crash between storing and indexing only delays the indexing.
    pending_topics: sled::Tree,
    /// Topic id, NUL, time key → the entry's story id: each topic's entries, newest last.
    topic_rows: sled::Tree,
    /// Entry id → the topics it was indexed under and at which time key.
    entry_topics: sled::Tree,
    meta: sled::Tree,
    /// Fingerprint, day, entry id → source id: where copies of a text are looked for.
    fingerprints: sled::Tree,
    /// Day, entry id → the entry's encoded [`StoryFeatures`](crate::cluster::story::StoryFeatures):
    /// what comparing a candidate needs, laid out by time like the fingerprint rows, so that the
    /// candidates of a new entry (all within the story window) are read from the few newest
    /// pages instead of from anywhere in the entries.
    story_features: sled::Tree,
    /// Story id → its members.
    stories: sled::Tree,
    /// Entries not yet placed in a story (written with the entry, like `pending_topics`).
    pending_stories: sled::Tree,
    /// Each source's recent publication times, beside its state (see [`SourceState`]).
    publications: sled::Tree,
    /// Counts changes to what feeds show, so published feeds know when to render again.
    generation: AtomicU64,
    /// How many entries are stored: the time index's rows, counted once at open and then
    /// moved by each committed write by the rows it added or removed (see [`RowCount`]).
    entry_rows: AtomicUsize,
    /// Flushes asked for, and (under the lock) the last request the last flush covered: polls
    /// flushing at once share one flush (group commit).
    flush_requests: AtomicU64,
    flushed_upto: tokio::sync::Mutex<u64>,
}

/// Time index rows a transaction added and removed, as sled's inserts and removals inside it
/// reported (a row replaced in place counts as neither). Returned by the transaction's closure,
/// which sled may run more than once, and counted only once it committed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct RowCount {
    added: usize,
    removed: usize,
}

impl RowCount {
    fn inserted(&mut self, previous: &Option<sled::IVec>) {
        if previous.is_none() {
            self.added += 1;
        }
    }

    fn removed(&mut self, previous: &Option<sled::IVec>) {
        if previous.is_some() {
            self.removed += 1;
        }
    }
}

/// How long opening the store waits for its lock. sled lets go of the lock only when its
/// background threads have ended, a moment after the last handle is dropped: a store opened
/// again in one process, or a daemon restarted while the old one is still exiting, would
/// otherwise fail for no lasting reason.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether sled failed to open because another handle holds the store's file lock (sled 0.34
/// says so only in its message).
fn is_lock_held(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::WouldBlock
        || error.to_string().starts_with("could not acquire lock")
}

const SCHEMA_KEY: &[u8] = b"schema_version";

/// Entries stored in one sled transaction. A transaction keeps its thread pinned in sled's
/// epoch-based memory reclamation, and every B-tree page written meanwhile leaves its old copy
/// behind until then (an entry writes about 60 rows). Measured with `benches/clustering.rs`
/// loading 20,000 entries: peak RSS 291 MiB with 1,000 entries a transaction, 118 MiB with
/// 200, 90 MiB with 20. 32 makes a typical poll (20 to 30 items) one transaction, and each
/// costs two synced log writes under sled's global lock.
const ENTRIES_PER_TRANSACTION: usize = 32;
const TOPIC_VERSIONS_KEY: &[u8] = b"topic_versions";

/// sled's page cache, counted in on-disk bytes; sled's own memory is several times it with
/// many small rows (spacejam/sled#986, #1309). 32 MiB made a 5,000-item first poll a quarter
/// faster (its ~30 MB of rows fit, and sled no longer read its own pages back from disk), but
/// only by making small stores faster: per new entry, a million-entry store was no faster, so
/// growth from 10,000 entries to a million went from 1.22× to 1.57× against issue 5's 1.5×
/// (BENCHMARKS.md, issue 8, *Eighth measurement*); the daemon's peak memory was no lower
/// either. So 16 MiB.
pub const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// The topics an entry was indexed under, and the time key of its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EntryTopics {
    time_key: Vec<u8>,
    topics: Vec<String>,
}

fn topic_row(topic: &str, time_key: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(topic.len() + 1 + time_key.len());
    row.extend_from_slice(topic.as_bytes());
    row.push(0);
    row.extend_from_slice(time_key);
    row
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_waiting(path, LOCK_WAIT)
    }

    /// [`Store::open`], waiting up to `wait` for another holder of the store's lock.
    fn open_waiting(path: &Path, wait: std::time::Duration) -> Result<Store, StoreError> {
        let started = std::time::Instant::now();
        let db = loop {
            // sled caches up to 1 GiB by default; what feeds read is the newest entries, and
            // the OS caches the file anyway, so a small cache keeps the daemon's memory flat.
            let opened = sled::Config::new()
                .path(path)
                .cache_capacity(CACHE_BYTES)
                .open();
            match opened {
                Err(sled::Error::Io(e)) if is_lock_held(&e) => {
                    if started.elapsed() >= wait {
                        return Err(StoreError::Locked {
                            path: path.display().to_string(),
                            waited: wait,
                        });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                opened => break opened?,
            }
        };
        let meta = db.open_tree("meta")?;
        let found = meta.get(SCHEMA_KEY)?.map(|found| {
            found
                .as_ref()
                .try_into()
                .map(u32::from_be_bytes)
                .unwrap_or(0)
        });
        if found.is_some_and(|found| !(1..=SCHEMA_VERSION).contains(&found)) {
            return Err(StoreError::Schema {
                path: path.display().to_string(),
                found: found.unwrap_or(0),
                expected: SCHEMA_VERSION,
            });
        }
        let store = Store {
            entries: db.open_tree("entries")?,
            keys: db.open_tree("entry_keys")?,
            by_time: db.open_tree("entries_by_time")?,
            sources: db.open_tree("source_state")?,
            pending_topics: db.open_tree("topics_pending")?,
            topic_rows: db.open_tree("topic_entries")?,
            entry_topics: db.open_tree("entry_topics")?,
            fingerprints: db.open_tree("story_fingerprints")?,
            story_features: db.open_tree("story_features")?,
            stories: db.open_tree("stories")?,
            pending_stories: db.open_tree("stories_pending")?,
            meta,
            publications: db.open_tree("source_publications")?,
            db,
            generation: AtomicU64::new(1),
            entry_rows: AtomicUsize::new(0),
            flush_requests: AtomicU64::new(0),
            flushed_upto: tokio::sync::Mutex::new(0),
        };
        match found {
            Some(1) => {
                tracing::info!(path = %path.display(), "migrating the store from schema version 1: rebuilding the fingerprint index, writing story ids into the time rows");
                store.migrate_from_1()?;
            }
            Some(version @ (2 | 3)) => {
                tracing::info!(path = %path.display(), version, "migrating the store from an older schema: rebuilding the fingerprint index");
                store.rebuild_fingerprints()?;
            }
            _ => {}
        }
        if found != Some(SCHEMA_VERSION) {
            // Written after the migration: a crash during it migrates again on the next start.
            store
                .meta
                .insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            store.db.flush()?;
        }
        store
            .entry_rows
            .store(store.by_time.len(), Ordering::SeqCst);
        Ok(store)
    }

    /// Waits until everything written so far is on disk (as far as sled can promise).
    ///
    /// Callers that arrive while a flush runs wait for the next one, which covers them all: a
    /// thousand polls finishing together cost a few flushes, not a thousand.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let ticket = self.flush_requests.fetch_add(1, Ordering::SeqCst) + 1;
        let mut flushed_upto = self.flushed_upto.lock().await;
        if *flushed_upto >= ticket {
            return Ok(());
        }
        // Every request counted so far was made after its writes: this flush covers them.
        let covers = self.flush_requests.load(Ordering::SeqCst);
        // sled 0.34.7's flush_async deadlocks when called concurrently (spacejam/sled#1308,
        // fixed only on its unreleased main): flush synchronously on tokio's blocking pool.
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        *flushed_upto = covers;
        Ok(())
    }

    pub fn entry(&self, id: &EntryId) -> Result<Option<StoredEntry>, StoreError> {
        self.entries
            .get(id.0.as_bytes())?
            .map(|bytes| decode_entry(&bytes))
            .transpose()
    }

    /// Entries newest first (by published time), as listed: no entry is read.
    pub fn newest_listed(&self) -> impl Iterator<Item = Result<Listed, StoreError>> + '_ {
        self.by_time.iter().rev().map(|row| Self::listed(row, 8))
    }

    /// A topic's entries, newest first (by published time), as listed: no entry is read.
    pub fn topic_newest_listed(
        &self,
        topic: &str,
    ) -> impl Iterator<Item = Result<Listed, StoreError>> + '_ {
        let prefix = topic_row(topic, &[]);
        let skip = prefix.len() + 8;
        self.topic_rows
            .scan_prefix(prefix)
            .rev()
            .map(move |row| Self::listed(row, skip))
    }

    /// A time row (entry id from byte `skip` of the key, story id as the value) as listed.
    fn listed(
        row: sled::Result<(sled::IVec, sled::IVec)>,
        skip: usize,
    ) -> Result<Listed, StoreError> {
        let (key, story) = row?;
        Ok(Listed {
            entry: EntryId(
                String::from_utf8_lossy(key.get(skip..).unwrap_or_default()).into_owned(),
            ),
            story: EntryId(String::from_utf8_lossy(&story).into_owned()),
        })
    }

    /// Entries newest first (by published time).
    pub fn newest(&self) -> impl Iterator<Item = Result<StoredEntry, StoreError>> + '_ {
        self.newest_listed()
            .filter_map(|listed| self.listed_entry(listed))
    }

    /// A topic's entries, newest first (by published time).
    pub fn topic_newest(
        &self,
        topic: &str,
    ) -> impl Iterator<Item = Result<StoredEntry, StoreError>> + '_ {
        self.topic_newest_listed(topic)
            .filter_map(|listed| self.listed_entry(listed))
    }

    /// The entry a row lists; none when it is gone (a row without its entry cannot come from a
    /// transaction, so it is skipped rather than failed on).
    fn listed_entry(
        &self,
        listed: Result<Listed, StoreError>,
    ) -> Option<Result<StoredEntry, StoreError>> {
        listed
            .and_then(|listed| self.entry(&listed.entry))
            .transpose()
    }

    /// How many entries are stored, without reading the store: `/healthz`, `/metrics` and the
    /// dashboard ask often, and sled's `len` walks a whole tree (0.1–0.4 s a call on 100,000
    /// entries while the daemon served, pulling the index through sled's cache).
    pub fn entry_count(&self) -> usize {
        self.entry_rows.load(Ordering::SeqCst)
    }

    /// Moves the entry count by what a committed transaction did to the time index.
    fn count_rows(&self, change: RowCount) {
        if change.added >= change.removed {
            self.entry_rows
                .fetch_add(change.added - change.removed, Ordering::SeqCst);
        } else {
            self.entry_rows
                .fetch_sub(change.removed - change.added, Ordering::SeqCst);
        }
    }

    pub fn source_state(&self, source_id: &str) -> Result<Option<SourceState>, StoreError> {
        let Some(bytes) = self.sources.get(source_id.as_bytes())? else {
            return Ok(None);
        };
        let mut state: SourceState = decode(&bytes, "source state")?;
        if let Some(bytes) = self.publications.get(source_id.as_bytes())? {
            state.publications = decode(&bytes, "source publications")?;
        }
        Ok(Some(state))
    }

    pub fn put_source_state(&self, source_id: &str, state: &SourceState) -> Result<(), StoreError> {
        let state_bytes = to_json(state, "source state")?;
        let publication_bytes = to_json(&state.publications, "source publications")?;
        self.sources.insert(source_id.as_bytes(), state_bytes)?;
        self.publications
            .insert(source_id.as_bytes(), publication_bytes)?;
        Ok(())
    }

    /// Entries stored or changed since their topics were last evaluated.
    pub fn pending_topic_entries(&self) -> Result<Vec<EntryId>, StoreError> {
        self.pending_topics
            .iter()
            .keys()
            .map(|key| Ok(EntryId(String::from_utf8_lossy(&key?).into_owned())))
            .collect()
    }

    pub fn forget_pending_topics(&self, id: &EntryId) -> Result<(), StoreError> {
        self.pending_topics.remove(id.0.as_bytes())?;
        Ok(())
    }

    /// Records the topics an entry belongs to, replacing what was recorded before.
    pub fn set_entry_topics(
        &self,
        stored: &StoredEntry,
        topics: &[String],
    ) -> Result<(), StoreError> {
        self.set_topics(&[(stored, topics.to_vec())])
    }

    /// [`Store::set_entry_topics`] for many entries, [`ENTRIES_PER_TRANSACTION`] to a
    /// transaction. Every sled transaction writes and syncs the log twice (sled 0.34 seals its
    /// I/O buffer before and after the batch), so one per entry cost two synchronous writes
    /// per entry; and an entry in no topic that was never in one needs no transaction at all,
    /// only its pending mark removed.
    pub fn set_topics(&self, indexed: &[(&StoredEntry, Vec<String>)]) -> Result<(), StoreError> {
        let mut records = Vec::with_capacity(indexed.len());
        for (stored, topics) in indexed {
            let id = stored.id.0.as_bytes();
            if topics.is_empty() && !self.entry_topics.contains_key(id)? {
                self.pending_topics.remove(id)?;
            } else {
                let record = EntryTopics {
                    time_key: time_key(stored.entry.published, &stored.id),
                    topics: topics.clone(),
                };
                records.push((*stored, record));
            }
        }
        let trees = (
            &self.topic_rows,
            &self.entry_topics,
            &self.pending_topics,
            &self.by_time,
        );
        for chunk in records.chunks(ENTRIES_PER_TRANSACTION) {
            let changed = trees
                .transaction(|trees| {
                    let mut changed = false;
                    for (stored, record) in chunk {
                        changed |= record_topics(trees, stored, record)?;
                    }
                    Ok(changed)
                })
                .map_err(StoreError::from)?;
            if changed {
                self.generation.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    /// The topics an entry was last indexed under (empty when never indexed or in none).
    pub fn entry_topics(&self, id: &EntryId) -> Result<Vec<String>, StoreError> {
        match self.entry_topics.get(id.0.as_bytes())? {
            Some(bytes) => Ok(decode::<EntryTopics>(&bytes, "entry topics")?.topics),
            None => Ok(Vec::new()),
        }
    }

    /// Every stored entry's id.
    pub fn all_entry_ids(&self) -> impl Iterator<Item = Result<EntryId, StoreError>> + '_ {
        self.entries
            .iter()
            .keys()
            .map(|key| Ok(EntryId(String::from_utf8_lossy(&key?).into_owned())))
    }

    /// The topic definitions (id, fingerprint) the topic index was built for.
    pub fn topic_versions(&self) -> Result<Vec<(String, String)>, StoreError> {
        match self.meta.get(TOPIC_VERSIONS_KEY)? {
            Some(bytes) => decode(&bytes, "topic versions"),
            None => Ok(Vec::new()),
        }
    }

    /// Records the topic definitions the index now reflects; rows of topics no longer defined
    /// are dropped.
    pub fn set_topic_versions(&self, versions: &[(String, String)]) -> Result<(), StoreError> {
        for (old, _) in self.topic_versions()? {
            if !versions.iter().any(|(id, _)| *id == old) {
                for key in self.topic_rows.scan_prefix(topic_row(&old, &[])).keys() {
                    self.topic_rows.remove(key?)?;
                }
            }
        }
        let bytes = serde_json::to_vec(versions).map_err(|source| StoreError::Corrupt {
            what: "topic versions".into(),
            source,
        })?;
        self.meta.insert(TOPIC_VERSIONS_KEY, bytes)?;
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// The store's size on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Checks the invariants that the transactions in [`Store::upsert`] keep, and returns every
    /// breach found (empty when the store is whole): each entry decodes, has exactly one time
    /// row and is named by the keys that point to it; each time row and key points to an entry;
    /// an entry's stored story features, when it has them, are its own.
    /// Used after a hard kill, by the crash test.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for row in self.entries.iter() {
            let (key, value) = row?;
            let id = String::from_utf8_lossy(&key).into_owned();
            match decode_entry(&value) {
                Ok(stored) => {
                    if stored.id.0 != id {
                        problems.push(format!("entry {id} says its id is {}", stored.id.0));
                    }
                    let row = time_key(stored.entry.published, &stored.id);
                    match self.by_time.get(&row)? {
                        None => problems.push(format!("entry {id} has no time row")),
                        Some(story) if *story != *stored.story_id.0.as_bytes() => {
                            problems.push(format!(
                                "entry {id} is in story {} but its time row says {}",
                                stored.story_id.0,
                                String::from_utf8_lossy(&story)
                            ))
                        }
                        Some(_) => {}
                    }
                    if let Some(problem) = self.features_problem(&stored)? {
                        problems.push(format!("entry {id}: {problem}"));
                    }
                }
                Err(e) => problems.push(format!("entry {id}: {e}")),
            }
            ids.insert(id);
        }
        let mut timed = std::collections::HashMap::<String, usize>::new();
        for row in self.by_time.iter().keys() {
            let key = row?;
            let id = String::from_utf8_lossy(key.get(8..).unwrap_or_default()).into_owned();
            if !ids.contains(&id) {
                problems.push(format!("a time row points to missing entry {id}"));
            }
            *timed.entry(id).or_default() += 1;
        }
        for (id, rows) in timed {
            if rows > 1 {
                problems.push(format!("entry {id} has {rows} time rows"));
            }
        }
        for row in self.keys.iter() {
            let (key, id) = row?;
            let id = String::from_utf8_lossy(&id).into_owned();
            if !ids.contains(&id) {
                problems.push(format!(
                    "key {} points to missing entry {id}",
                    String::from_utf8_lossy(&key)
                ));
            }
        }
        Ok(problems)
    }

    /// Changes whenever an entry is added or changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// An updated entry keeps its id, story and first-seen time; a date that was only the time we
/// first saw it (the source gave none) does not move forward with every poll.
fn merge(old: &StoredEntry, mut new: Entry) -> StoredEntry {
    if new.published == new.first_seen {
        new.published = old.entry.published;
    }
    new.first_seen = old.entry.first_seen;
    StoredEntry {
        id: old.id.clone(),
        story_id: old.story_id.clone(),
        entry: new,
    }
}

/// Time index key: big-endian milliseconds (sign bit flipped so order is numeric) + entry id.
fn time_key(published: DateTime<Utc>, id: &EntryId) -> Vec<u8> {
    let millis = (published.timestamp_millis() as u64) ^ (1 << 63);
    let mut key = Vec::with_capacity(8 + id.0.len());
    key.extend_from_slice(&millis.to_be_bytes());
    key.extend_from_slice(id.0.as_bytes());
    key
}

fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Corrupt {
        what: what.to_string(),
        source,
    })
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        what: what.to_string(),
        source,
    })
}

/// The first byte of an entry written compressed; an entry written plain is a JSON object and
/// begins with `{`.
const COMPRESSED_ENTRY: u8 = 1;

/// An entry as the store writes it: its JSON, LZ4-compressed behind [`COMPRESSED_ENTRY`].
///
/// Why compressed: sled keeps far more pages in memory than its cache capacity says (it
/// counts a page only once 64 accesses to its shard have queued up, so about 16,000 pages
/// stay whatever the capacity: `bench/sled-cache` shows it), and the entries' pages are the
/// biggest. Story placement reads candidates from all over the store, so those pages are
/// what made the daemon's memory grow with the store. Compressed, the memory bench's 100,000
/// entries take 46 % of their JSON (97 against 209 MB).
fn encode_entry(stored: &StoredEntry) -> Result<Vec<u8>, StoreError> {
    let json = to_json(stored, "entry")?;
    let compressed = lz4_flex::block::compress_prepend_size(&json);
    let mut bytes = Vec::with_capacity(1 + compressed.len());
    bytes.push(COMPRESSED_ENTRY);
    bytes.extend_from_slice(&compressed);
    Ok(bytes)
}

/// A stored entry from what [`encode_entry`] wrote, or from plain JSON (schema version 4 and
/// earlier).
///
/// The JSON is read in two passes: one for the entry, one that only picks out the ids. serde's
/// `flatten` (how [`StoredEntry`] is written) buffers every field of the entry before building
/// it, and decoding that way took half as long again (12.2 against 8.4 µs for a 5 KB entry);
/// entries are read back several times per poll.
fn decode_entry(bytes: &[u8]) -> Result<StoredEntry, StoreError> {
    #[derive(Deserialize)]
    struct Ids {
        id: EntryId,
        story_id: StoryId,
    }
    let expanded;
    let json = match bytes.split_first() {
        Some((&COMPRESSED_ENTRY, compressed)) => {
            expanded = expand(compressed)?;
            expanded.as_slice()
        }
        _ => bytes,
    };
    let Ids { id, story_id } = decode(json, "entry")?;
    Ok(StoredEntry {
        id,
        story_id,
        entry: decode(json, "entry")?,
    })
}

/// LZ4 with its size in front, as `compress_prepend_size` wrote it. A size LZ4 could not have
/// produced (it expands at most 255 times) is refused before anything is allocated for it, so
/// a damaged value cannot ask for gigabytes.
fn expand(compressed: &[u8]) -> Result<Vec<u8>, StoreError> {
    let size = compressed
        .first_chunk::<4>()
        .map(|size| u32::from_le_bytes(*size) as usize)
        .ok_or_else(|| StoreError::CorruptCompressed("shorter than its size".into()))?;
    if size > compressed.len().saturating_mul(255) {
        return Err(StoreError::CorruptCompressed(format!(
            "{size} bytes claimed from {}",
            compressed.len()
        )));
    }
    lz4_flex::block::decompress_size_prepended(compressed)
        .map_err(|e| StoreError::CorruptCompressed(e.to_string()))
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn read_entry(entries: &TransactionalTree, id: &EntryId) -> TxResult<Option<StoredEntry>> {
    match entries.get(id.0.as_bytes())? {
        Some(bytes) => decode_entry(&bytes)
            .map(Some)
            .map_err(ConflictableTransactionError::Abort),
        None => Ok(None),
    }
}

/// Replaces an entry's topic rows and record by `record`, and clears its pending mark; whether
/// anything changed.
fn record_topics(
    (rows, records, pending, by_time): &(
        TransactionalTree,
        TransactionalTree,
        TransactionalTree,
        TransactionalTree,
    ),
    stored: &StoredEntry,
    record: &EntryTopics,
) -> TxResult<bool> {
    let old: Option<EntryTopics> = match records.get(stored.id.0.as_bytes())? {
        Some(bytes) => {
            Some(decode(&bytes, "entry topics").map_err(ConflictableTransactionError::Abort)?)
        }
        None => None,
    };
    pending.remove(stored.id.0.as_bytes())?;
    if old.as_ref() == Some(record) {
        return Ok(false);
    }
    if let Some(old) = &old {
        for topic in &old.topics {
            rows.remove(topic_row(topic, &old.time_key))?;
        }
    }
    // The story as stored now, from the entry's time row: `stored` may have been read before a
    // merge moved it.
    let story = by_time
        .get(&record.time_key)?
        .unwrap_or_else(|| stored.story_id.0.as_bytes().into());
    for topic in &record.topics {
        rows.insert(topic_row(topic, &record.time_key), story.clone())?;
    }
    records.insert(
        stored.id.0.as_bytes(),
        to_json(record, "entry topics").map_err(ConflictableTransactionError::Abort)?,
    )?;
    Ok(true)
}

fn write_entry(entries: &TransactionalTree, stored: &StoredEntry) -> TxResult<()> {
    let bytes = encode_entry(stored).map_err(ConflictableTransactionError::Abort)?;
    entries.insert(stored.id.0.as_bytes(), bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::identity_keys;
    use chrono::Duration;

    fn entry(link: &str, guid: &str, title: &str, hours_ago: i64) -> Entry {
        let now = Utc::now();
        Entry {
            source_id: "s".into(),
            guid: Some(guid.into()),
            link: Some(link.into()),
            canonical_url: Some(link.into()),
            title: title.into(),
            text: "текст".into(),
            content_html: "<p>текст</p>".into(),
            published: now - Duration::hours(hours_ago),
            updated: None,
            first_seen: now,
            authors: vec![],
            categories: vec![],
            enclosures: vec![],
            language: Some("ru".into()),
        }
    }

    fn upsert(store: &Store, e: Entry) -> Upsert {
        let keys = identity_keys(&e);
        store.upsert(e, &keys).unwrap()
    }

    #[test]
    fn a_store_in_use_is_waited_for_then_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let held = Store::open(dir.path()).unwrap();
        let wait = std::time::Duration::from_millis(200);
        let error = match Store::open_waiting(dir.path(), wait) {
            Err(error) => error,
            Ok(_) => panic!("a second handle opened a locked store"),
        };
        assert!(matches!(error, StoreError::Locked { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&dir.path().display().to_string()) && message.contains("in use"),
            "{message}"
        );
        // Let go while another open waits: it gets the store.
        let path = dir.path().to_path_buf();
        let waiting = std::thread::spawn(move || Store::open_waiting(&path, LOCK_WAIT).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
        assert!(waiting.join().unwrap(), "the store opens once it is let go");
    }

    /// The count kept in memory is what walking the time index says, after every kind of
    /// write, and after the store is opened again.
    #[test]
    fn the_entry_count_follows_every_write_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let counted = |store: &Store| {
            assert_eq!(store.entry_count(), store.by_time.len());
            store.entry_count()
        };
        assert_eq!(counted(&store), 0);
        let a = upsert(&store, entry("https://a.ru/1", "g1", "Первая", 2));
        let b = upsert(&store, entry("https://a.ru/2", "g2", "Вторая", 3));
        upsert(&store, entry("https://a.ru/3", "g3", "Старая", 24 * 400));
        assert_eq!(counted(&store), 3);
        // An update that moves the entry in time replaces its time row.
        let later = upsert(
            &store,
            entry("https://a.ru/1", "g1", "Первая, исправлено", 1),
        );
        assert_eq!(later, Upsert::Updated(a.id().clone()));
        assert_eq!(counted(&store), 3);
        store.join_stories(b.id(), &[a.id().clone()]).unwrap();
        assert_eq!(counted(&store), 3);
        assert_eq!(
            store
                .remove_stories_before(Utc::now() - Duration::days(365))
                .unwrap(),
            1
        );
        assert_eq!(counted(&store), 2);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(counted(&store), 2);
    }

    #[test]
    fn the_same_entry_is_stored_once_and_updated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let first = upsert(&store, entry("https://a.ru/1", "g1", "Первая", 2));
        assert!(matches!(first, Upsert::Inserted(_)));
        let generation = store.generation();
        let mut again = entry("https://a.ru/1", "g1", "Первая", 2);
        again.published = store.entry(first.id()).unwrap().unwrap().entry.published;
        again.first_seen = Utc::now() + Duration::minutes(5);
        assert_eq!(upsert(&store, again), Upsert::Unchanged(first.id().clone()));
        assert_eq!(store.generation(), generation);
        // Same guid, new link and title: the same entry, changed.
        let moved = upsert(
            &store,
            entry("https://a.ru/1-new", "g1", "Первая (обновлено)", 2),
        );
        assert_eq!(moved, Upsert::Updated(first.id().clone()));
        assert_eq!(store.entry_count(), 1);
        let newest: Vec<_> = store.newest().map(Result::unwrap).collect();
        assert_eq!(newest.len(), 1);
        assert_eq!(newest[0].entry.title, "Первая (обновлено)");
    }

    #[test]
    fn topics_are_recorded_together_and_an_entry_in_none_needs_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ids: Vec<EntryId> = (0..40)
            .map(|i| {
                let link = format!("https://a.ru/{i}");
                upsert(&store, entry(&link, &link, "Новость", i))
                    .id()
                    .clone()
            })
            .collect();
        assert_eq!(store.pending_topic_entries().unwrap().len(), 40);
        let stored: Vec<StoredEntry> = ids
            .iter()
            .map(|id| store.entry(id).unwrap().unwrap())
            .collect();
        // Every third entry is in `ngo`; more entries than one transaction holds.
        let topics = |i: usize| {
            if i.is_multiple_of(3) {
                vec!["ngo".to_string()]
            } else {
                vec![]
            }
        };
        let indexed: Vec<(&StoredEntry, Vec<String>)> = stored
            .iter()
            .enumerate()
            .map(|(i, s)| (s, topics(i)))
            .collect();
        let generation = store.generation();
        store.set_topics(&indexed).unwrap();
        assert!(store.generation() > generation);
        assert!(store.pending_topic_entries().unwrap().is_empty());
        assert_eq!(store.topic_newest_listed("ngo").count(), 14);
        assert_eq!(store.entry_topics(&ids[3]).unwrap(), ["ngo"]);
        assert!(store.entry_topics(&ids[1]).unwrap().is_empty());
        assert_eq!(
            store.entry_topics.len(),
            14,
            "no record for entries in no topic"
        );
        // Leaving a topic removes the row and keeps a record that says so.
        store.set_entry_topics(&stored[3], &[]).unwrap();
        assert_eq!(store.topic_newest_listed("ngo").count(), 13);
        assert!(store.entry_topics(&ids[3]).unwrap().is_empty());
        assert_eq!(store.entry_topics.len(), 14);
        // Recording the same again changes nothing a feed shows.
        let generation = store.generation();
        store.set_topics(&indexed[4..]).unwrap();
        assert_eq!(store.generation(), generation);
        assert_eq!(store.topic_newest_listed("ngo").count(), 13);
    }

    #[test]
    fn newest_first_and_reopen_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            upsert(&store, entry("https://a.ru/old", "1", "Старая", 10));
            upsert(&store, entry("https://a.ru/new", "2", "Новая", 1));
            upsert(&store, entry("https://a.ru/mid", "3", "Средняя", 5));
            store
                .put_source_state(
                    "s",
                    &SourceState {
                        etag: Some("\"x\"".into()),
                        ..Default::default()
                    },
                )
                .unwrap();
            store.db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let titles: Vec<String> = store.newest().map(|e| e.unwrap().entry.title).collect();
        assert_eq!(titles, ["Новая", "Средняя", "Старая"]);
        assert_eq!(
            store.source_state("s").unwrap().unwrap().etag.as_deref(),
            Some("\"x\"")
        );
    }

    #[test]
    fn a_store_of_another_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert(SCHEMA_KEY, &99u32.to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    #[test]
    fn entries_are_written_compressed_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut e = entry("https://a.ru/1", "g1", "Заголовок", 1);
        e.text = "Некоммерческие организации района получили гранты. ".repeat(40);
        e.content_html = format!("<p>{}</p>", e.text);
        let id = upsert(&store, e.clone()).id().clone();
        let raw = store.entries.get(id.0.as_bytes()).unwrap().unwrap();
        let stored = store.entry(&id).unwrap().unwrap();
        assert_eq!(raw[0], COMPRESSED_ENTRY);
        assert!(
            raw.len() * 3 < to_json(&stored, "entry").unwrap().len(),
            "{} bytes stored",
            raw.len()
        );
        assert_eq!(stored.entry, e);
    }

    #[test]
    fn a_plain_entry_from_schema_4_is_read_and_compressed_when_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let (id, plain) = {
            let store = Store::open(dir.path()).unwrap();
            let id = upsert(&store, entry("https://a.ru/1", "g1", "Старый заголовок", 2))
                .id()
                .clone();
            let stored = store.entry(&id).unwrap().unwrap();
            // As version 4 wrote it: the JSON itself.
            let plain = to_json(&stored, "entry").unwrap();
            store
                .entries
                .insert(id.0.as_bytes(), plain.as_slice())
                .unwrap();
            store.meta.insert(SCHEMA_KEY, &4u32.to_be_bytes()).unwrap();
            store.db.flush().unwrap();
            (id, stored)
        };
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.meta.get(SCHEMA_KEY).unwrap().unwrap().as_ref(),
            SCHEMA_VERSION.to_be_bytes()
        );
        assert_eq!(store.entry(&id).unwrap().unwrap(), plain);
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());
        let mut edited = plain.entry.clone();
        edited.title = "Новый заголовок".into();
        assert_eq!(upsert(&store, edited), Upsert::Updated(id.clone()));
        assert_eq!(
            store.entries.get(id.0.as_bytes()).unwrap().unwrap()[0],
            COMPRESSED_ENTRY
        );
        assert_eq!(
            store.entry(&id).unwrap().unwrap().entry.title,
            "Новый заголовок"
        );
    }

    #[test]
    fn a_damaged_compressed_entry_is_an_error_and_asks_for_no_memory() {
        let json = br#"{"id":"x"}"#;
        let mut good = vec![COMPRESSED_ENTRY];
        good.extend(lz4_flex::block::compress_prepend_size(json));
        assert_eq!(expand(&good[1..]).unwrap(), json);
        // Claims 4 GiB from a few bytes.
        let mut huge = good.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        // The size is right but the data ends early.
        let cut = &good[..good.len() - 3];
        for damaged in [&huge[..], cut, &[COMPRESSED_ENTRY, 7][..]] {
            match decode_entry(damaged) {
                Err(StoreError::CorruptCompressed(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    }
}
