//! Which story an entry belongs to: copies of one event from different outlets.
//!
//! A new entry is compared with the stored entries that share a fingerprint with it
//! ([`similarity::Fingerprints`]) and were published within the story window. Two entries are one
//! story when they come from different sources, their texts overlap enough (containment, helped by
//! title similarity) and the numbers they state do not contradict each other. One source never
//! publishes one story twice under two identities, so entries of the same source are never merged
//! here — that is what keeps a source's template reports (two weather warnings, two council
//! meetings) apart — and a story that already carries the new entry's source is not joined.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use chrono::{DateTime, Utc};

use super::similarity::{
    numbers, numbers_conflict, stem_overlap, title_stems, Fingerprints, Shingles,
};
use super::{EntryId, StoryId};
use crate::normalize::Entry;

/// Tunables of story detection; the defaults are what the labelled set in
/// `tests/fixtures/clusters/` was measured with (BENCHMARKS.md).
#[derive(Debug, Clone)]
pub struct StoryRules {
    /// Copies are published within this much of each other.
    pub window: chrono::Duration,
    /// Text containment plus half the title similarity must reach this.
    pub min_score: f64,
    /// And the texts must overlap at least this much on their own.
    pub min_containment: f64,
    /// A fingerprint shared by more entries than this in the window is boilerplate, not evidence.
    pub max_fingerprint_entries: usize,
    /// At most this many candidates (those sharing the most fingerprints) are compared in full.
    pub max_candidates: usize,
}

impl Default for StoryRules {
    fn default() -> Self {
        StoryRules {
            window: chrono::Duration::days(7),
            min_score: 0.3,
            min_containment: 0.1,
            max_fingerprint_entries: 50,
            max_candidates: 20,
        }
    }
}

/// A stored entry that shares fingerprints with the one being placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: EntryId,
    pub source_id: String,
    /// The day it is indexed under ([`day`]), which its stored features are found by.
    pub day: u32,
    pub shared: usize,
}

/// An entry waiting to be placed in a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: EntryId,
    /// The day its features are stored under, when the store noted it with the entry: they
    /// are then read from their row, and the entry (several times their size, and JSON) is
    /// not read at all. `None` for a mark that does not say (written before it did).
    pub day: Option<u32>,
}

/// What story detection needs from the store; the store implements it, so this stage keeps the
/// rules and the store only the data.
pub trait StoryIndex {
    type Error;

    /// Entries indexed under any of `fingerprints`, published on days `from..=to` (days since the
    /// epoch), skipping fingerprints shared by more than `max_entries` entries; with how many
    /// fingerprints each shares.
    fn candidates(
        &self,
        fingerprints: &[u64],
        from: u32,
        to: u32,
        max_entries: usize,
    ) -> Result<Vec<Candidate>, Self::Error>;

    /// A stored entry and its story.
    fn entry_and_story(&self, id: &EntryId) -> Result<Option<(Entry, StoryId)>, Self::Error>;

    /// A stored entry's features, by its id and the day it is indexed under; `None` when
    /// neither they nor the entry are stored. (Features written just ahead of an entry whose
    /// transaction then failed may be found without it: [`StoryIndex::entry_and_story`] then
    /// finds no story, and the candidate joins nothing.)
    fn features(&self, id: &EntryId, day: u32) -> Result<Option<Arc<StoryFeatures>>, Self::Error>;

    /// The sources of a story's entries.
    fn story_sources(&self, story: &StoryId) -> Result<Vec<String>, Self::Error>;

    /// Entries stored since they were last placed in a story.
    fn pending(&self) -> Result<Vec<Pending>, Self::Error>;

    /// Puts an entry's story and `stories` together (the oldest id survives) and marks the entry
    /// placed; with no stories, only marks it placed.
    fn join(&self, entry: &EntryId, stories: &[StoryId]) -> Result<(), Self::Error>;
}

/// Places every pending entry in its story; returns how many were placed.
///
/// Which stored entries tell the same story as a pending one depends on the entries alone, so
/// it is found for a batch of pending entries at once (`crate::parallel::BATCH`), on all cores
/// when they are many. Which stories those belong to is asked entry by entry, in order, since
/// each placement may merge stories that the next one finds.
pub fn place_pending<I>(index: &I, rules: &StoryRules) -> Result<usize, I::Error>
where
    I: StoryIndex + Sync,
    I::Error: Send,
{
    let pending = index.pending()?;
    for batch in pending.chunks(crate::parallel::BATCH) {
        let found = crate::parallel::map_in_order(batch.iter().collect(), |pending| {
            let Pending { id, day } = pending;
            // A day that is no longer the entry's (it was updated before it was placed) finds
            // no row, and the features come from the entry.
            let features = match day {
                Some(day) => index.features(id, *day)?,
                None => index
                    .entry_and_story(id)?
                    .map(|(entry, _)| StoryFeatures::of(&entry)),
            };
            match features {
                Some(features) => Ok(Some((alike(&features, id, index, rules)?, features))),
                None => Ok(None),
            }
        });
        for (pending, found) in batch.iter().zip(found) {
            let stories = match found? {
                Some((alike, features)) => stories_of(&alike, &features.source_id, index)?,
                None => Vec::new(),
            };
            index.join(&pending.id, &stories)?;
        }
    }
    Ok(pending.len())
}

/// The text a story is recognised by: the entry's text, with its title when the text is short.
pub fn story_text(entry: &Entry) -> String {
    if entry.text.split_whitespace().count() < 40 {
        format!("{}\n\n{}", entry.title, entry.text)
    } else {
        entry.text.clone()
    }
}

/// The day an entry is indexed under, in days since the epoch.
pub fn day(published: DateTime<Utc>) -> u32 {
    (published.timestamp().max(0) / 86_400) as u32
}

/// What story detection compares, computed once per entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryFeatures {
    source_id: String,
    published: DateTime<Utc>,
    shingles: Shingles,
    /// What the entry is indexed under in the store and looked up by: kept with the shingles,
    /// which they are chosen from, so that storing and placing an entry shingle it once.
    fingerprints: Fingerprints,
    numbers: Vec<String>,
    title: Vec<String>,
}

/// How many entries' features are remembered: shingling a text costs far more than hashing it,
/// and a new entry's features are needed twice, when its store writes are planned (its
/// fingerprint rows and stored features) and when it is placed. Candidates' features are read
/// from the store; this cache serves them only for entries stored before features were. One
/// cache for the process, so that features computed while a big poll's store writes are planned
/// on several threads are found again when its entries are placed; the bound is on memory (at 20,000 per thread, when any
/// thread of tokio's blocking pool could ingest, the daemon's peak RSS on 1,000 sources × 100
/// items was 844 MiB).
const FEATURES_CACHE_LIMIT: usize = 4_000;

impl StoryFeatures {
    /// An entry's features, computed once for a given source, title, text and date.
    pub fn of(entry: &Entry) -> Arc<StoryFeatures> {
        static CACHE: OnceLock<Mutex<HashMap<u64, Arc<StoryFeatures>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Mutex::default);
        let key = {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            for part in [
                entry.source_id.as_str(),
                entry.title.as_str(),
                entry.text.as_str(),
            ] {
                hasher.update(part.as_bytes());
                hasher.update(&[0]);
            }
            hasher.update(&entry.published.timestamp().to_le_bytes());
            hasher.digest()
        };
        // A poisoned lock only means another thread panicked while it held a plain map.
        if let Some(found) = cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Arc::clone(found);
        }
        // Computed without the lock: other threads' lookups go on meanwhile.
        let computed = Arc::new(StoryFeatures::compute(entry));
        let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= FEATURES_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&computed));
        computed
    }

    fn compute(entry: &Entry) -> StoryFeatures {
        let text = story_text(entry);
        let (shingles, fingerprints) = Shingles::with_fingerprints(&text);
        StoryFeatures {
            source_id: entry.source_id.clone(),
            published: entry.published,
            shingles,
            fingerprints,
            numbers: numbers(&format!("{}\n{text}", entry.title)),
            title: title_stems(&entry.title),
        }
    }

    /// The features as [`StoryFeatures::decode`] reads them back: what the store keeps beside
    /// each entry, so that comparing a new entry with its candidates reads a row laid out by
    /// day instead of decompressing, decoding and shingling each candidate's text again.
    pub fn encode(&self) -> Vec<u8> {
        let strings = |list: &[String]| list.iter().map(|s| 4 + s.len()).sum::<usize>();
        let mut bytes = Vec::with_capacity(
            1 + 12
                + 4
                + self.source_id.len()
                + 4
                + 4 * self.shingles.len()
                + 4
                + 8 * self.fingerprints.0.len()
                + 4
                + strings(&self.numbers)
                + 4
                + strings(&self.title),
        );
        bytes.push(FEATURES_FORMAT);
        bytes.extend_from_slice(&self.published.timestamp().to_le_bytes());
        bytes.extend_from_slice(&self.published.timestamp_subsec_nanos().to_le_bytes());
        put_str(&mut bytes, &self.source_id);
        put_len(&mut bytes, self.shingles.len());
        for hash in self.shingles.hashes() {
            bytes.extend_from_slice(&hash.to_le_bytes());
        }
        put_len(&mut bytes, self.fingerprints.0.len());
        for fingerprint in &self.fingerprints.0 {
            bytes.extend_from_slice(&fingerprint.to_le_bytes());
        }
        for list in [&self.numbers, &self.title] {
            put_len(&mut bytes, list.len());
            for s in list {
                put_str(&mut bytes, s);
            }
        }
        bytes
    }

    /// Features that [`StoryFeatures::encode`] wrote; `None` for anything else (another format,
    /// a cut or damaged row), which the store then computes again from the entry.
    pub fn decode(bytes: &[u8]) -> Option<StoryFeatures> {
        let mut reader = Reader(bytes);
        if reader.take(1)? != [FEATURES_FORMAT] {
            return None;
        }
        let seconds = i64::from_le_bytes(reader.take(8)?.try_into().ok()?);
        let nanos = u32::from_le_bytes(reader.take(4)?.try_into().ok()?);
        let published = DateTime::<Utc>::from_timestamp(seconds, nanos)?;
        let source_id = reader.string()?;
        let count = reader.len(4)?;
        let hashes = (0..count)
            .map(|_| Some(u32::from_le_bytes(reader.take(4)?.try_into().ok()?)))
            .collect::<Option<Vec<u32>>>()?;
        let shingles = Shingles::from_hashes(hashes)?;
        let count = reader.len(8)?;
        let fingerprints = (0..count)
            .map(|_| Some(u64::from_le_bytes(reader.take(8)?.try_into().ok()?)))
            .collect::<Option<Vec<u64>>>()?;
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            let count = reader.len(4)?;
            *list = (0..count).map(|_| reader.string()).collect::<Option<_>>()?;
        }
        let [numbers, title] = lists;
        reader.0.is_empty().then_some(StoryFeatures {
            source_id,
            published,
            shingles,
            fingerprints: Fingerprints(fingerprints),
            numbers,
            title,
        })
    }

    /// The entry's fingerprints ([`Fingerprints::of`] its [`story_text`]).
    pub fn fingerprints(&self) -> &[u64] {
        &self.fingerprints.0
    }

    /// Whether two entries of different sources tell the same story.
    pub fn same_story(&self, other: &StoryFeatures, rules: &StoryRules) -> bool {
        if self.source_id == other.source_id
            || (self.published - other.published).abs() > rules.window
        {
            return false;
        }
        if numbers_conflict(&self.numbers, &other.numbers) {
            return false;
        }
        let containment = self.shingles.containment(&other.shingles);
        let score = containment + 0.5 * stem_overlap(&self.title, &other.title);
        containment >= rules.min_containment && score >= rules.min_score
    }
}

/// The first byte of encoded features; changed when what they hold or how they are computed
/// changes, so that rows written before are computed again rather than misread.
const FEATURES_FORMAT: u8 = 1;

fn put_len(bytes: &mut Vec<u8>, len: usize) {
    bytes.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_str(bytes: &mut Vec<u8>, s: &str) {
    put_len(bytes, s.len());
    bytes.extend_from_slice(s.as_bytes());
}

/// Reads encoded features front to back; every read is `None` past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(taken)
    }

    /// A count of items at least `item_bytes` long each; `None` when the rest cannot hold
    /// them, so that a damaged count never reserves memory it names.
    fn len(&mut self, item_bytes: usize) -> Option<usize> {
        let len = usize::try_from(u32::from_le_bytes(self.take(4)?.try_into().ok()?)).ok()?;
        (len.checked_mul(item_bytes)? <= self.0.len()).then_some(len)
    }

    fn string(&mut self) -> Option<String> {
        let len = self.len(1)?;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

/// Whether two entries of different sources tell the same story.
pub fn same_story(a: &Entry, b: &Entry, rules: &StoryRules) -> bool {
    StoryFeatures::of(a).same_story(&StoryFeatures::of(b), rules)
}

/// The stories a new entry joins: none (it starts its own), or one or more (which then merge).
pub fn stories_to_join<I: StoryIndex>(
    entry: &Entry,
    id: &EntryId,
    index: &I,
    rules: &StoryRules,
) -> Result<Vec<StoryId>, I::Error> {
    let features = StoryFeatures::of(entry);
    stories_of(
        &alike(&features, id, index, rules)?,
        &entry.source_id,
        index,
    )
}

/// The stored entries of other sources that tell the same story as the entry `id` with these
/// `features`, those sharing the most fingerprints first.
fn alike<I: StoryIndex>(
    features: &StoryFeatures,
    id: &EntryId,
    index: &I,
    rules: &StoryRules,
) -> Result<Vec<EntryId>, I::Error> {
    let today = day(features.published);
    let span = rules.window.num_days().max(0) as u32;
    let mut candidates = index.candidates(
        features.fingerprints(),
        today.saturating_sub(span),
        today.saturating_add(span),
        rules.max_fingerprint_entries,
    )?;
    candidates.retain(|c| c.id != *id && c.source_id != features.source_id);
    candidates.sort_by(|a, b| b.shared.cmp(&a.shared).then_with(|| a.id.cmp(&b.id)));
    candidates.truncate(rules.max_candidates);
    let mut alike = Vec::new();
    for candidate in candidates {
        let Some(other) = index.features(&candidate.id, candidate.day)? else {
            continue;
        };
        if features.same_story(&other, rules) {
            alike.push(candidate.id);
        }
    }
    Ok(alike)
}

/// The stories of the `alike` entries that an entry of `source_id` joins: each once, and none
/// its source already told.
fn stories_of<I: StoryIndex>(
    alike: &[EntryId],
    source_id: &str,
    index: &I,
) -> Result<Vec<StoryId>, I::Error> {
    let mut stories: Vec<StoryId> = Vec::new();
    for id in alike {
        let Some((_, story)) = index.entry_and_story(id)? else {
            continue;
        };
        if stories.contains(&story) {
            continue;
        }
        // The new entry's outlet already told this story: this is another event of its own.
        let sources = index.story_sources(&story)?;
        if sources.iter().any(|s| s == source_id) {
            continue;
        }
        stories.push(story);
    }
    Ok(stories)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(source: &str, title: &str, text: &str) -> Entry {
        Entry::from_text(source, title, text)
    }

    const RELEASE: &str = "Губернатор Ленинградской области Александр Дрозденко подписал закон о бюджете на 2027 год. \
        Доходы составят 245 миллиардов рублей, расходы — 262 миллиарда.\n\nБольше всего средств направят на здравоохранение, \
        образование и ремонт дорог. Дефицит покроют за счёт бюджетных кредитов.";

    #[test]
    fn copies_from_other_outlets_are_one_story() {
        let rules = StoryRules::default();
        let original = entry("lenobl", "Дрозденко подписал закон о бюджете", RELEASE);
        let copy = entry(
            "news47",
            "Бюджет Ленобласти на 2027 год подписан",
            &format!("{RELEASE}\n\nПодписывайтесь на наш Telegram."),
        );
        let lead = entry("vremya", "Областной бюджет подписан", "Губернатор Ленинградской области Александр Дрозденко подписал закон о бюджете на 2027 год.");
        assert!(same_story(&original, &copy, &rules));
        assert!(same_story(&original, &lead, &rules));
    }

    #[test]
    fn one_source_never_merges_with_itself() {
        let rules = StoryRules::default();
        assert!(!same_story(
            &entry("lenobl", "a", RELEASE),
            &entry("lenobl", "b", RELEASE),
            &rules
        ));
    }

    #[test]
    fn template_reports_with_other_numbers_stay_apart() {
        let rules = StoryRules::default();
        let a = entry("mchs", "МЧС предупреждает", "21 ноября в Ленинградской области ожидается сильный ветер с порывами до 20 м/с. МЧС просит граждан быть осторожными.");
        let b = entry("news47", "МЧС предупреждает", "26 ноября в Ленинградской области ожидается сильный ветер с порывами до 25 м/с. МЧС просит граждан быть осторожными.");
        assert!(!same_story(&a, &b, &rules));
    }

    #[test]
    fn features_read_back_as_they_were_written() {
        let mut original = entry("lenobl", "Дрозденко подписал закон о бюджете", RELEASE);
        original.published += chrono::Duration::nanoseconds(123_456_789);
        let features = StoryFeatures::compute(&original);
        let bytes = features.encode();
        assert_eq!(StoryFeatures::decode(&bytes), Some(features.clone()));
        assert!(!features.fingerprints().is_empty() && !features.numbers.is_empty());

        // A cut row, a row with more after it, another format: computed again, never misread.
        for cut in 0..bytes.len() {
            assert_eq!(StoryFeatures::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        assert_eq!(
            StoryFeatures::decode(&[bytes.as_slice(), &[0]].concat()),
            None
        );
        let mut other_format = bytes.clone();
        other_format[0] = FEATURES_FORMAT + 1;
        assert_eq!(StoryFeatures::decode(&other_format), None);
        // A count naming more than the row holds reserves nothing and reads nothing.
        let mut huge_count = bytes.clone();
        let shingle_count = 1 + 12 + 4 + "lenobl".len();
        huge_count[shingle_count..shingle_count + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(StoryFeatures::decode(&huge_count), None);
    }

    #[test]
    fn copies_far_apart_in_time_are_other_stories() {
        let rules = StoryRules::default();
        let a = entry("lenobl", "Бюджет", RELEASE);
        let mut b = entry("news47", "Бюджет", RELEASE);
        b.published = a.published + chrono::Duration::days(9);
        assert!(!same_story(&a, &b, &rules));
    }
}
