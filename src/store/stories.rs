//! Stories in the store: fingerprint rows for finding copies, story records, merging, and the
//! [`StoryIndex`] the cluster stage asks.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::{
    decode, decode_entry, read_entry, time_key, to_json, topic_row, write_entry, EntryTopics,
    RowCount, Store, StoreError, StoredEntry, TxResult,
};
use crate::cluster::story::{day, Candidate, Pending, StoryFeatures, StoryIndex};
use crate::cluster::{EntryId, StoryId};
use crate::normalize::Entry;

/// One entry of a story, with its source so that story rules need not load it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoryMember {
    pub id: EntryId,
    pub source_id: String,
}

/// A story: its entries, and when it began (which of two merging stories is older).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryRecord {
    pub members: Vec<StoryMember>,
    pub created: DateTime<Utc>,
}

impl StoryRecord {
    pub fn single(stored: &StoredEntry) -> StoryRecord {
        StoryRecord {
            members: vec![StoryMember {
                id: stored.id.clone(),
                source_id: stored.entry.source_id.clone(),
            }],
            created: stored.entry.published,
        }
    }
}

/// The fingerprint index rows of an entry: bucket ([`BUCKET_DAYS`]), fingerprint, day, entry id.
///
/// The bucket comes first so that rows are laid out by time: a new entry's rows and the rows a
/// lookup reads (the story window, ±7 days) sit in the newest few buckets of the tree, pages that
/// stay cached however many older entries the store holds. Keyed by fingerprint first, every
/// row went to a random page of a tree that grows with the store, and at a million entries
/// nearly each of an entry's ~50 rows read a page back from disk.
pub(super) fn fingerprint_rows(entry: &Entry, id: &EntryId) -> Vec<Vec<u8>> {
    let day = day(entry.published);
    StoryFeatures::of(entry)
        .fingerprints()
        .iter()
        .map(|&fingerprint| fingerprint_key(fingerprint, day, id))
        .collect()
}

/// Days per bucket of the fingerprint index: a ±7-day window (15 days) spans one bucket for 18
/// of every 32 days and two for the rest, so a fingerprint takes 1.44 range scans on average.
/// With weeks it was three, and the scans were a tenth of a poll's CPU time: each scan's first
/// step copies a B-tree page.
const BUCKET_DAYS: u32 = 32;
/// Where the entry id begins in a fingerprint row.
const ID_OFFSET: usize = 16;

pub(super) fn fingerprint_key(fingerprint: u64, day: u32, id: &EntryId) -> Vec<u8> {
    let mut key = row_prefix(day / BUCKET_DAYS, fingerprint, day);
    key.extend_from_slice(id.0.as_bytes());
    key
}

/// A row's key up to its entry id. The bucket is given, not derived from `day`, so that the
/// end of a range (a day past the bucket's last) stays inside the bucket.
fn row_prefix(bucket: u32, fingerprint: u64, day: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(ID_OFFSET + 16);
    key.extend_from_slice(&bucket.to_be_bytes());
    key.extend_from_slice(&fingerprint.to_be_bytes());
    key.extend_from_slice(&day.to_be_bytes());
    key
}

/// The key of an entry's stored features: the day it is indexed under, then its id.
pub(super) fn features_key(day: u32, id: &EntryId) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + id.0.len());
    key.extend_from_slice(&day.to_be_bytes());
    key.extend_from_slice(id.0.as_bytes());
    key
}

/// What an entry's pending-story mark holds: the day its features are stored under, so that
/// placing it needs only them (`cluster::story::Pending`).
pub(super) fn pending_mark(entry: &Entry) -> [u8; 4] {
    day(entry.published).to_be_bytes()
}

/// The day a pending-story mark holds; `None` for a mark written empty, before marks held one.
fn pending_day(mark: &[u8]) -> Option<u32> {
    mark.try_into().ok().map(u32::from_be_bytes)
}

/// Where `entry`'s stored features are: under the day it is published on.
pub(super) fn entry_features_key(entry: &Entry, id: &EntryId) -> Vec<u8> {
    features_key(day(entry.published), id)
}

/// The key of `entry`'s stored features and what they hold.
pub(super) fn features_row(entry: &Entry, id: &EntryId) -> (Vec<u8>, Vec<u8>) {
    (
        entry_features_key(entry, id),
        StoryFeatures::of(entry).encode(),
    )
}

pub(super) fn write_record(
    records: &TransactionalTree,
    id: &StoryId,
    record: &StoryRecord,
) -> TxResult<()> {
    let bytes = to_json(record, "story").map_err(ConflictableTransactionError::Abort)?;
    records.insert(id.0.as_bytes(), bytes)?;
    Ok(())
}

fn read_record(records: &TransactionalTree, id: &StoryId) -> TxResult<Option<StoryRecord>> {
    match records.get(id.0.as_bytes())? {
        Some(bytes) => decode(&bytes, "story")
            .map(Some)
            .map_err(ConflictableTransactionError::Abort),
        None => Ok(None),
    }
}

impl Store {
    /// The migration from schema version 1: the fingerprint index is rebuilt (version 1's rows
    /// began with the fingerprint), and each entry's story id goes into its time row and topic
    /// rows (version 1's held nothing).
    pub(super) fn migrate_from_1(&self) -> Result<(), StoreError> {
        self.rebuild_fingerprints()?;
        for row in self.entries.iter() {
            let (_, bytes) = row?;
            let stored = decode_entry(&bytes)?;
            let story = stored.story_id.0.as_bytes();
            self.by_time
                .insert(time_key(stored.entry.published, &stored.id), story)?;
            if let Some(bytes) = self.entry_topics.get(stored.id.0.as_bytes())? {
                let indexed: EntryTopics = decode(&bytes, "entry topics")?;
                for topic in &indexed.topics {
                    self.topic_rows
                        .insert(topic_row(topic, &indexed.time_key), story)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the fingerprint index again from the entries, in the current layout and with the
    /// current choice of fingerprints (the migration from schema versions 1 and 2).
    ///
    /// Many entries to a batch: sled writes and syncs its log twice for every batch, which at a
    /// batch an entry would make the migration of a million entries take hours.
    pub(super) fn rebuild_fingerprints(&self) -> Result<(), StoreError> {
        const ENTRIES_PER_BATCH: usize = 500;
        self.fingerprints.clear()?;
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for row in self.entries.iter() {
            let (_, bytes) = row?;
            let stored = decode_entry(&bytes)?;
            for key in fingerprint_rows(&stored.entry, &stored.id) {
                batch.insert(key, stored.entry.source_id.as_bytes());
            }
            in_batch += 1;
            if in_batch == ENTRIES_PER_BATCH {
                self.fingerprints.apply_batch(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        self.fingerprints.apply_batch(batch)?;
        Ok(())
    }

    /// Removes the fingerprint rows of every bucket that ended before `day` (days since the
    /// epoch), and the stored features of entries published before such a bucket's end;
    /// returns how many rows. Retention removes an entry's rows with the entry; this sweeps the
    /// rows an upsert wrote ahead of a transaction that then failed or never ran (a crash),
    /// which no entry names. An entry kept that old can no longer be a candidate, so its
    /// features are not needed either.
    pub(super) fn remove_fingerprints_before(&self, day: u32) -> Result<usize, StoreError> {
        let bucket = day / BUCKET_DAYS;
        let mut removed = 0;
        for (tree, end) in [
            (&self.fingerprints, bucket.to_be_bytes()),
            (&self.story_features, (bucket * BUCKET_DAYS).to_be_bytes()),
        ] {
            for row in tree.range(..end.as_slice()) {
                let (key, _) = row?;
                tree.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// What is wrong with a stored entry's stored features, if they are there: rows that do
    /// not decode, or that are not the entry's own ([`Store::verify`]).
    pub(super) fn features_problem(
        &self,
        stored: &super::StoredEntry,
    ) -> Result<Option<String>, StoreError> {
        let key = entry_features_key(&stored.entry, &stored.id);
        let Some(bytes) = self.story_features.get(key)? else {
            return Ok(None);
        };
        Ok(match StoryFeatures::decode(&bytes) {
            None => Some("its story features do not decode".into()),
            Some(found) if found != *StoryFeatures::of(&stored.entry) => {
                Some("its stored story features are not its own".into())
            }
            Some(_) => None,
        })
    }

    pub fn story(&self, id: &StoryId) -> Result<Option<StoryRecord>, StoreError> {
        self.stories
            .get(id.0.as_bytes())?
            .map(|bytes| decode(&bytes, "story"))
            .transpose()
    }

    /// Entries not yet placed in a story.
    pub fn pending_story_entries(&self) -> Result<Vec<EntryId>, StoreError> {
        Ok(StoryIndex::pending(self)?
            .into_iter()
            .map(|pending| pending.id)
            .collect())
    }

    pub fn forget_pending_story(&self, id: &EntryId) -> Result<(), StoreError> {
        self.pending_stories.remove(id.0.as_bytes())?;
        Ok(())
    }

    /// Moves an entry's story and `others` into the oldest of them (whose id survives), and
    /// marks the entry placed. Every member's `story_id` is rewritten in the same transaction.
    pub fn join_stories(
        &self,
        entry_id: &EntryId,
        others: &[StoryId],
    ) -> Result<StoryId, StoreError> {
        let trees = (
            &self.entries,
            &self.stories,
            &self.pending_stories,
            &self.by_time,
            &self.topic_rows,
            &self.entry_topics,
        );
        let (survivor, rows) = trees
            .transaction(
                |(entries, records, pending, by_time, topic_rows, entry_topics)| {
                    let mut rows = RowCount::default();
                    pending.remove(entry_id.0.as_bytes())?;
                    let Some(entry) = read_entry(entries, entry_id)? else {
                        return Ok((None, rows));
                    };
                    let mut involved: Vec<(StoryId, StoryRecord)> = Vec::new();
                    for id in std::iter::once(&entry.story_id).chain(others) {
                        if involved.iter().any(|(known, _)| known == id) {
                            continue;
                        }
                        if let Some(record) = read_record(records, id)? {
                            involved.push((id.clone(), record));
                        }
                    }
                    involved.sort_by(|(a_id, a), (b_id, b)| {
                        a.created.cmp(&b.created).then_with(|| a_id.cmp(b_id))
                    });
                    let Some((survivor_id, mut survivor)) = involved.first().cloned() else {
                        return Ok((None, rows));
                    };
                    for (id, record) in involved.iter().skip(1) {
                        for member in &record.members {
                            if let Some(mut stored) = read_entry(entries, &member.id)? {
                                stored.story_id = survivor_id.clone();
                                write_entry(entries, &stored)?;
                                // The time rows name the story too (feeds list stories from them).
                                let story = survivor_id.0.as_bytes();
                                rows.inserted(
                                    &by_time.insert(
                                        time_key(stored.entry.published, &stored.id),
                                        story,
                                    )?,
                                );
                                if let Some(bytes) = entry_topics.get(stored.id.0.as_bytes())? {
                                    let indexed: EntryTopics = decode(&bytes, "entry topics")
                                        .map_err(ConflictableTransactionError::Abort)?;
                                    for topic in &indexed.topics {
                                        topic_rows
                                            .insert(topic_row(topic, &indexed.time_key), story)?;
                                    }
                                }
                            }
                            if !survivor.members.contains(member) {
                                survivor.members.push(member.clone());
                            }
                        }
                        records.remove(id.0.as_bytes())?;
                    }
                    survivor.created = involved
                        .iter()
                        .map(|(_, r)| r.created)
                        .min()
                        .unwrap_or(survivor.created);
                    write_record(records, &survivor_id, &survivor)?;
                    Ok((Some(survivor_id), rows))
                },
            )
            .map_err(StoreError::from)?;
        // Each member's time row is there already; a row that was missing is counted now.
        self.count_rows(rows);
        let survivor = survivor.unwrap_or_else(|| entry_id.clone());
        if !others.is_empty() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(survivor)
    }
}

impl StoryIndex for Store {
    type Error = StoreError;

    fn candidates(
        &self,
        fingerprints: &[u64],
        from: u32,
        to: u32,
        max_entries: usize,
    ) -> Result<Vec<Candidate>, StoreError> {
        let mut found: Vec<Candidate> = Vec::new();
        for &fingerprint in fingerprints {
            let mut rows = Vec::new();
            'buckets: for bucket in from / BUCKET_DAYS..=to / BUCKET_DAYS {
                let first_day = from.max(bucket * BUCKET_DAYS);
                let last_day = to.min((bucket * BUCKET_DAYS).saturating_add(BUCKET_DAYS - 1));
                let start = row_prefix(bucket, fingerprint, first_day);
                let end = row_prefix(bucket, fingerprint, last_day.saturating_add(1));
                for row in self.fingerprints.range(start..end) {
                    let (key, source) = row?;
                    let day = key
                        .get(ID_OFFSET - 4..ID_OFFSET)
                        .and_then(|bytes| bytes.try_into().ok())
                        .map_or(first_day, u32::from_be_bytes);
                    rows.push((
                        EntryId(
                            String::from_utf8_lossy(key.get(ID_OFFSET..).unwrap_or_default())
                                .into_owned(),
                        ),
                        String::from_utf8_lossy(&source).into_owned(),
                        day,
                    ));
                    if rows.len() > max_entries {
                        break 'buckets;
                    }
                }
            }
            if rows.len() > max_entries {
                continue;
            }
            for (id, source_id, day) in rows {
                match found.iter_mut().find(|c| c.id == id) {
                    Some(candidate) => candidate.shared += 1,
                    None => found.push(Candidate {
                        id,
                        source_id,
                        day,
                        shared: 1,
                    }),
                }
            }
        }
        Ok(found)
    }

    fn entry_and_story(&self, id: &EntryId) -> Result<Option<(Entry, StoryId)>, StoreError> {
        Ok(self
            .entry(id)?
            .map(|stored| (stored.entry, stored.story_id)))
    }

    fn features(&self, id: &EntryId, day: u32) -> Result<Option<Arc<StoryFeatures>>, StoreError> {
        if let Some(bytes) = self.story_features.get(features_key(day, id))? {
            if let Some(features) = StoryFeatures::decode(&bytes) {
                return Ok(Some(Arc::new(features)));
            }
        }
        // Stored before features were kept, or a row that cannot be read: from the entry.
        Ok(self
            .entry(id)?
            .map(|stored| StoryFeatures::of(&stored.entry)))
    }

    fn pending(&self) -> Result<Vec<Pending>, StoreError> {
        self.pending_stories
            .iter()
            .map(|row| {
                let (key, value) = row?;
                Ok(Pending {
                    id: EntryId(String::from_utf8_lossy(&key).into_owned()),
                    day: pending_day(&value),
                })
            })
            .collect()
    }

    fn join(&self, entry: &EntryId, stories: &[StoryId]) -> Result<(), StoreError> {
        if stories.is_empty() {
            // Most entries join nothing and stay in their own story: no transaction then,
            // since each writes and syncs sled's log twice.
            return self.forget_pending_story(entry);
        }
        self.join_stories(entry, stories).map(|_| ())
    }

    fn story_sources(&self, story: &StoryId) -> Result<Vec<String>, StoreError> {
        Ok(self
            .story(story)?
            .map(|record| record.members.into_iter().map(|m| m.source_id).collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::identity_keys;
    use crate::cluster::similarity::Fingerprints;
    use crate::cluster::story::story_text;
    use crate::store::{Listed, SCHEMA_KEY, SCHEMA_VERSION};

    fn add(store: &Store, source: &str, link: &str, hours_ago: i64) -> EntryId {
        let mut entry = Entry::from_text(source, "Заголовок", "Текст");
        entry.canonical_url = Some(link.to_string());
        entry.published = Utc::now() - chrono::Duration::hours(hours_ago);
        let keys = identity_keys(&entry);
        store.upsert(entry, &keys).unwrap().id().clone()
    }

    #[test]
    fn merging_stories_keeps_the_older_id_and_moves_every_member() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let older = add(&store, "lenobl", "https://a.ru/1", 30);
        let newer = add(&store, "news47", "https://b.ru/1", 20);
        let newer_copy = add(&store, "mr7", "https://c.ru/1", 19);
        // Indexed under a topic before any merge: its topic row must follow the merges.
        let copy = store.entry(&newer_copy).unwrap().unwrap();
        store.set_entry_topics(&copy, &["nko".into()]).unwrap();
        store
            .join_stories(&newer_copy, std::slice::from_ref(&newer))
            .unwrap();
        assert_eq!(store.entry(&newer_copy).unwrap().unwrap().story_id, newer);
        let generation = store.generation();

        // An entry that matches both stories brings them together under the older id.
        let bridge = add(&store, "vremya", "https://d.ru/1", 10);
        let survivor = store
            .join_stories(&bridge, &[newer.clone(), older.clone()])
            .unwrap();
        assert_eq!(survivor, older);
        for id in [&older, &newer, &newer_copy, &bridge] {
            assert_eq!(store.entry(id).unwrap().unwrap().story_id, older, "{id}");
        }
        let record = store.story(&older).unwrap().unwrap();
        assert_eq!(record.members.len(), 4);
        assert!(store.story(&newer).unwrap().is_none());
        assert!(store.story(&bridge).unwrap().is_none());
        assert!(store.generation() > generation);
        // Feeds list stories from the time rows: they name the surviving story too.
        let listed: Vec<Listed> = store.newest_listed().map(Result::unwrap).collect();
        assert_eq!(listed.len(), 4);
        assert!(listed.iter().all(|l| l.story == older), "{listed:?}");
        let in_topic: Vec<Listed> = store
            .topic_newest_listed("nko")
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            in_topic,
            [Listed {
                entry: newer_copy.clone(),
                story: older.clone()
            }]
        );
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());
        assert!(store
            .pending_story_entries()
            .unwrap()
            .iter()
            .all(|id| *id != bridge));
    }

    /// A big batch is compared on all cores, but the stories are asked for in turn: an entry
    /// that resembles an entry placed earlier in the same batch joins the story that one
    /// joined, not the one it had when the batch was compared.
    ///
    /// Resemblance is mutual, so the earlier entry would usually have pulled the later one in
    /// itself; it does not when the later one is not among its `max_candidates` (20) closest,
    /// which is what this sets up.
    #[test]
    fn a_big_batch_joins_the_stories_its_earlier_entries_joined() {
        use crate::cluster::story::{place_pending, StoryRules};
        let harvest = "Аграрии района завершили уборку зерновых на площади двенадцати тысяч \
            гектаров, средняя урожайность составила тридцать четыре центнера с гектара, что \
            заметно выше прошлогодней. Лучшие показатели у хозяйства «Рассвет», где намолотили \
            сорок один центнер. Глава района поблагодарил механизаторов и пообещал премии \
            отличившимся бригадам уже в этом месяце. На зернотоках продолжается сушка и \
            подработка урожая, элеватор принимает до восьмисот тонн в сутки. Часть зерна \
            отправят в областной фонд, остальное продадут на бирже, когда цены поднимутся. \
            Под урожай следующего года уже посеяно девять тысяч гектаров озимой пшеницы и ржи, \
            всходы дружные, влаги в почве достаточно.";
        let bridge = "Новый мост через реку Оредеж откроют для движения в декабре: подрядчик \
            закончил укладку асфальта и монтаж перил, осталось нанести разметку и установить \
            освещение. Стоимость работ превысила триста миллионов рублей, их оплатили из \
            областного бюджета. Старый деревянный переход разберут весной, когда спадёт вода.";
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rules = StoryRules::default();
        let add = |source: &str, link: &str, title: &str, text: &str, hours_ago: i64| {
            let mut entry = Entry::from_text(source, title, text);
            entry.canonical_url = Some(link.to_string());
            entry.published = Utc::now() - chrono::Duration::hours(hours_ago);
            let keys = identity_keys(&entry);
            store.upsert(entry, &keys).unwrap().id().clone()
        };
        // The harvest story, told by more outlets than a placement compares, before the batch.
        let story = add(
            "rayon",
            "https://rayon.ru/1",
            "Уборка завершена",
            harvest,
            30,
        );
        for n in 0..rules.max_candidates {
            let link = format!("https://s{n}.ru/1");
            add(&format!("s{n}"), &link, "Уборка", harvest, 29);
        }
        place_pending(&store, &rules).unwrap();
        assert_eq!(story_members(&store, &story), rules.max_candidates + 1);
        // The batch: a digest of both news, closer to the harvest copies than to the bridge
        // news; the bridge news alone, like the digest only; and notes enough to make the batch
        // big. The digest is placed first: ids are ordered, and the bridge news's link is
        // chosen so that its id comes after the digest's.
        let digest = add(
            "gazeta",
            "https://gazeta.ru/digest",
            "Новости недели",
            &format!("{harvest}\n\n{bridge}"),
            20,
        );
        let news = (0..)
            .map(|n| format!("https://most.ru/{n}"))
            .find(|link| {
                EntryId::from_key(&crate::cluster::IdentityKey(format!("url\t{link}"))) > digest
            })
            .map(|link| add("most", &link, "Мост откроют в декабре", bridge, 10))
            .unwrap();
        for n in 0..crate::parallel::PARALLEL_FROM {
            add(
                "notes",
                &format!("https://notes.ru/{n}"),
                &format!("Заметка {n}"),
                &format!("Заметка номер {n} о погоде: {}", "ясно ".repeat(n % 7 + 1)),
                5,
            );
        }
        place_pending(&store, &rules).unwrap();
        let story_of = |id: &EntryId| store.entry(id).unwrap().unwrap().story_id;
        assert_eq!(story_of(&digest), story);
        assert_eq!(story_of(&news), story, "the bridge news follows the digest");
        assert_eq!(story_members(&store, &story), rules.max_candidates + 3);
    }

    fn story_members(store: &Store, story: &StoryId) -> usize {
        store.story(story).unwrap().unwrap().members.len()
    }

    const TEXT: &str = "Правительство области подписало соглашение о сотрудничестве с \
        некоммерческими организациями района, сообщает пресс-служба администрации.";

    /// An entry with [`TEXT`] published at noon on `day` (days since the epoch).
    fn on_day(store: &Store, source: &str, day: u32) -> (EntryId, Vec<u64>) {
        let mut entry = Entry::from_text(source, "Соглашение", TEXT);
        entry.canonical_url = Some(format!("https://{source}.ru/{day}"));
        entry.published = DateTime::from_timestamp(i64::from(day) * 86_400 + 43_200, 0).unwrap();
        let fingerprints = Fingerprints::of(&story_text(&entry)).0;
        let keys = identity_keys(&entry);
        (
            store.upsert(entry, &keys).unwrap().id().clone(),
            fingerprints,
        )
    }

    #[test]
    fn a_candidates_features_come_from_their_row_or_else_from_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (id, fingerprints) = on_day(&store, "lenobl", 20_030);
        let candidate = store
            .candidates(&fingerprints, 20_030, 20_030, 100)
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!((&candidate.id, candidate.day), (&id, 20_030));
        let own = StoryFeatures::of(&store.entry(&id).unwrap().unwrap().entry);
        assert_eq!(
            store.features(&id, candidate.day).unwrap(),
            Some(own.clone())
        );

        // Read from the row, not computed again: the row is what answers.
        let key = features_key(20_030, &id);
        let other = StoryFeatures::of(&Entry::from_text(
            "news47",
            "Другое",
            "Совсем другой текст.",
        ));
        store.story_features.insert(&key, other.encode()).unwrap();
        assert_eq!(store.features(&id, 20_030).unwrap(), Some(other));

        // Missing (an entry stored before features were kept) or unreadable: from the entry.
        store
            .story_features
            .insert(&key, b"\x01cut".as_slice())
            .unwrap();
        assert_eq!(store.features(&id, 20_030).unwrap(), Some(own.clone()));
        store.story_features.remove(&key).unwrap();
        assert_eq!(store.features(&id, 20_030).unwrap(), Some(own));
        assert_eq!(
            store
                .features(&EntryId("0123456789abcdef".into()), 20_030)
                .unwrap(),
            None
        );
    }

    /// A pending entry is placed by the features its mark's day points to, without its entry
    /// being read; a mark that names no day (written before marks did) is placed by the entry.
    #[test]
    fn a_pending_entry_is_placed_by_the_features_its_mark_points_to() {
        use crate::cluster::story::{place_pending, StoryRules};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rules = StoryRules::default();
        let (told, _) = on_day(&store, "lenobl", 20_030);
        place_pending(&store, &rules).unwrap();
        // Another outlet's entry on another subject, whose features row is made to say TEXT
        // (with that outlet's name): placed by the row, it joins the story.
        let other = |source: &str| {
            let mut entry = Entry::from_text(source, "Погода", "Завтра в районе дожди и ветер.");
            entry.canonical_url = Some(format!("https://{source}.ru/weather"));
            entry.published = DateTime::from_timestamp(20_030 * 86_400 + 50_000, 0).unwrap();
            entry
        };
        let as_told = |source: &str| {
            let mut entry = other(source);
            entry.title = "Соглашение".into();
            entry.text = TEXT.into();
            StoryFeatures::of(&entry).encode()
        };
        let by_row = other("news47");
        let keys = identity_keys(&by_row);
        let by_row = store.upsert(by_row, &keys).unwrap().id().clone();
        assert_eq!(
            store.pending().unwrap(),
            [Pending {
                id: by_row.clone(),
                day: Some(20_030)
            }]
        );
        let key = features_key(20_030, &by_row);
        store
            .story_features
            .insert(&key, as_told("news47"))
            .unwrap();
        place_pending(&store, &rules).unwrap();
        assert_eq!(store.entry(&by_row).unwrap().unwrap().story_id, told);

        // The same, but its mark is empty: placed by its own text, it joins nothing.
        let by_entry = other("mr7");
        let keys = identity_keys(&by_entry);
        let by_entry = store.upsert(by_entry, &keys).unwrap().id().clone();
        let key = features_key(20_030, &by_entry);
        store.story_features.insert(&key, as_told("mr7")).unwrap();
        store
            .pending_stories
            .insert(by_entry.0.as_bytes(), b"".as_slice())
            .unwrap();
        assert_eq!(store.pending().unwrap()[0].day, None);
        place_pending(&store, &rules).unwrap();
        assert_eq!(store.entry(&by_entry).unwrap().unwrap().story_id, by_entry);
        assert_eq!(store.pending().unwrap(), []);
    }

    fn found(store: &Store, fingerprints: &[u64], from: u32, to: u32) -> Vec<EntryId> {
        let mut ids: Vec<EntryId> = store
            .candidates(fingerprints, from, to, 100)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn candidates_come_from_every_day_of_the_window_across_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Days 20,026..=20,040 span two buckets (the second begins at 20,032 = 626 × 32);
        // 20,025 and 20,041 lie outside.
        let days = [
            20_025, 20_026, 20_031, 20_032, 20_033, 20_039, 20_040, 20_041,
        ];
        let mut inside = Vec::new();
        let mut fingerprints = Vec::new();
        for (i, day) in days.into_iter().enumerate() {
            let (id, f) = on_day(&store, &format!("s{i}"), day);
            if (20_026..=20_040).contains(&day) {
                inside.push(id);
            }
            fingerprints = f;
        }
        assert!(!fingerprints.is_empty());
        inside.sort();
        assert_eq!(inside.len(), 6);
        assert_eq!(found(&store, &fingerprints, 20_026, 20_040), inside);
        assert_eq!(found(&store, &fingerprints, 20_041, 20_041).len(), 1);
        assert!(found(&store, &fingerprints, 20_042, 20_060).is_empty());
    }

    #[test]
    fn schema_2_and_3_stores_get_the_current_fingerprints() {
        for version in [2u32, 3] {
            let dir = tempfile::tempdir().unwrap();
            let (id, fingerprints) = {
                let store = Store::open(dir.path()).unwrap();
                let (id, fingerprints) = on_day(&store, "lenobl", 20_400);
                // Version 2 chose more fingerprints: a row the current choice does not make.
                let unchosen = fingerprint_key(0x5eed, 20_400, &id);
                store.fingerprints.insert(unchosen, "lenobl").unwrap();
                // Both laid rows out in weeks: a row the current layout does not make.
                let mut stale = Vec::new();
                stale.extend_from_slice(&(20_400u32 / 7).to_be_bytes());
                stale.extend_from_slice(&fingerprints[0].to_be_bytes());
                stale.extend_from_slice(&20_400u32.to_be_bytes());
                stale.extend_from_slice(id.0.as_bytes());
                store.fingerprints.insert(stale, "lenobl").unwrap();
                store
                    .meta
                    .insert(SCHEMA_KEY, &version.to_be_bytes())
                    .unwrap();
                store.db.flush().unwrap();
                (id, fingerprints)
            };
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(
                store.fingerprints.len(),
                fingerprints.len(),
                "from {version}"
            );
            assert!(found(&store, &[0x5eed], 20_393, 20_407).is_empty());
            assert_eq!(found(&store, &fingerprints, 20_400, 20_400), [id]);
            assert_eq!(store.verify().unwrap(), Vec::<String>::new());
            let stored = store.meta.get(SCHEMA_KEY).unwrap().unwrap();
            assert_eq!(stored.as_ref(), SCHEMA_VERSION.to_be_bytes());
        }
    }

    #[test]
    fn a_schema_1_store_gets_its_fingerprint_index_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let (id, fingerprints) = {
            let store = Store::open(dir.path()).unwrap();
            let (id, fingerprints) = on_day(&store, "lenobl", 20_400);
            let stored = store.entry(&id).unwrap().unwrap();
            store.set_entry_topics(&stored, &["nko".into()]).unwrap();
            // Rewritten as version 1 kept it: fingerprint, day, entry id; time rows empty.
            for tree in [&store.by_time, &store.topic_rows] {
                for key in tree.iter().keys() {
                    tree.insert(key.unwrap(), &[]).unwrap();
                }
            }
            store.fingerprints.clear().unwrap();
            for fingerprint in &fingerprints {
                let mut key = fingerprint.to_be_bytes().to_vec();
                key.extend_from_slice(&20_400u32.to_be_bytes());
                key.extend_from_slice(id.0.as_bytes());
                store.fingerprints.insert(key, "lenobl").unwrap();
            }
            store.meta.insert(SCHEMA_KEY, &1u32.to_be_bytes()).unwrap();
            store.db.flush().unwrap();
            (id, fingerprints)
        };
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            found(&store, &fingerprints, 20_393, 20_407),
            std::slice::from_ref(&id)
        );
        assert_eq!(store.fingerprints.len(), fingerprints.len());
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());
        for tree in [&store.by_time, &store.topic_rows] {
            let (_, story) = tree.iter().next().unwrap().unwrap();
            assert_eq!(*story, *id.0.as_bytes());
        }
        let version = store.meta.get(SCHEMA_KEY).unwrap().unwrap();
        assert_eq!(version.as_ref(), SCHEMA_VERSION.to_be_bytes());
    }
}
