//! Stories in the store: fingerprint rows for finding copies, story records, merging, and the
//! [`StoryIndex`] the cluster stage asks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use super::{decode, read_entry, write_entry, Store, StoreError, StoredEntry, TxResult};
use crate::cluster::similarity::Fingerprints;
use crate::cluster::story::{day, story_text, Candidate, StoryIndex};
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

/// The fingerprint index rows of an entry: fingerprint, day, entry id.
pub(super) fn fingerprint_rows(entry: &Entry, id: &EntryId) -> Vec<Vec<u8>> {
    let day = day(entry.published);
    Fingerprints::of(&story_text(entry))
        .0
        .into_iter()
        .map(|fingerprint| fingerprint_key(fingerprint, day, Some(id)))
        .collect()
}

fn fingerprint_key(fingerprint: u64, day: u32, id: Option<&EntryId>) -> Vec<u8> {
    let mut key = Vec::with_capacity(12 + id.map_or(0, |i| i.0.len()));
    key.extend_from_slice(&fingerprint.to_be_bytes());
    key.extend_from_slice(&day.to_be_bytes());
    if let Some(id) = id {
        key.extend_from_slice(id.0.as_bytes());
    }
    key
}

pub(super) fn write_record(
    records: &TransactionalTree,
    id: &StoryId,
    record: &StoryRecord,
) -> TxResult<()> {
    let bytes = serde_json::to_vec(record).map_err(|source| {
        ConflictableTransactionError::Abort(StoreError::Corrupt {
            what: "story".into(),
            source,
        })
    })?;
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
    pub fn story(&self, id: &StoryId) -> Result<Option<StoryRecord>, StoreError> {
        self.stories
            .get(id.0.as_bytes())?
            .map(|bytes| decode(&bytes, "story"))
            .transpose()
    }

    /// Entries not yet placed in a story.
    pub fn pending_story_entries(&self) -> Result<Vec<EntryId>, StoreError> {
        self.pending_stories
            .iter()
            .keys()
            .map(|key| Ok(EntryId(String::from_utf8_lossy(&key?).into_owned())))
            .collect()
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
        let trees = (&self.entries, &self.stories, &self.pending_stories);
        let survivor = trees
            .transaction(|(entries, records, pending)| {
                pending.remove(entry_id.0.as_bytes())?;
                let Some(entry) = read_entry(entries, entry_id)? else {
                    return Ok(None);
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
                    return Ok(None);
                };
                for (id, record) in involved.iter().skip(1) {
                    for member in &record.members {
                        if let Some(mut stored) = read_entry(entries, &member.id)? {
                            stored.story_id = survivor_id.clone();
                            write_entry(entries, &stored)?;
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
                Ok(Some(survivor_id))
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::Sled(e),
            })?;
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
            let start = fingerprint_key(fingerprint, from, None);
            let end = fingerprint_key(fingerprint, to.saturating_add(1), None);
            let mut rows = Vec::new();
            for row in self.fingerprints.range(start..end) {
                let (key, source) = row?;
                rows.push((
                    EntryId(
                        String::from_utf8_lossy(key.get(12..).unwrap_or_default()).into_owned(),
                    ),
                    String::from_utf8_lossy(&source).into_owned(),
                ));
                if rows.len() > max_entries {
                    break;
                }
            }
            if rows.len() > max_entries {
                continue;
            }
            for (id, source_id) in rows {
                match found.iter_mut().find(|c| c.id == id) {
                    Some(candidate) => candidate.shared += 1,
                    None => found.push(Candidate {
                        id,
                        source_id,
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

    fn pending(&self) -> Result<Vec<EntryId>, StoreError> {
        self.pending_story_entries()
    }

    fn join(&self, entry: &EntryId, stories: &[StoryId]) -> Result<(), StoreError> {
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
        assert!(store
            .pending_story_entries()
            .unwrap()
            .iter()
            .all(|id| *id != bridge));
    }
}
