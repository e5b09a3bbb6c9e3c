//! Storing a poll's entries: each entry, its keys, its time row, its story and its pending marks
//! in one sled transaction.
//!
//! sled 0.34 runs every transaction under one global write lock, and while it is held every
//! other sled call of every thread waits (sled's `concurrency_control`). So what an upsert can
//! do outside that lock, it does before it: it reads the keys and the stored entry with plain
//! reads (pulling their pages into the cache), decides what to write (merging and serializing
//! the entry, computing its story features), and writes a new entry's fingerprint rows and
//! features. The transaction then reads the keys and the entry again, and only when they are
//! still what the plan was made from does it write the plan; otherwise (another poll stored one
//! of the keys meanwhile) it plans again inside.

use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::{IVec, Transactional};

use super::stories::{self, StoryRecord};
use super::{
    decode_entry, encode_entry, merge, time_key, to_json, RowCount, Store, StoreError, StoredEntry,
    TxResult, Upsert, ENTRIES_PER_TRANSACTION,
};
use crate::cluster::{EntryId, IdentityKey};
use crate::normalize::Entry;

/// What an entry's keys and its stored copy held when a [`Plan`] was made from them.
#[derive(Debug, PartialEq)]
struct Seen {
    /// Each identity key's entry id, in the order of the keys.
    keys: Vec<Option<IVec>>,
    /// The stored entry the first known key names.
    entry: Option<IVec>,
}

impl Seen {
    /// What `keys` name, and the entry the first known one names, read with `key` and `entry`:
    /// sled's plain trees before the transaction, its transactional ones inside.
    fn read<E>(
        keys: &[IdentityKey],
        key: impl Fn(&[u8]) -> Result<Option<IVec>, E>,
        entry: impl Fn(&[u8]) -> Result<Option<IVec>, E>,
    ) -> Result<Seen, E> {
        let keys = keys
            .iter()
            .map(|k| key(k.0.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = Seen { keys, entry: None };
        if let Some(id) = seen.existing() {
            seen.entry = entry(id.0.as_bytes())?;
        }
        Ok(seen)
    }

    /// The id the first known key names: the entry this one is a new version of.
    fn existing(&self) -> Option<EntryId> {
        self.keys
            .iter()
            .flatten()
            .next()
            .map(|id| EntryId(String::from_utf8_lossy(id).into_owned()))
    }
}

/// What storing one entry writes.
enum Plan {
    Unchanged(EntryId),
    Insert {
        stored: StoredEntry,
        bytes: Vec<u8>,
        record: Vec<u8>,
        /// Its story features' key and value.
        features: (Vec<u8>, Vec<u8>),
        /// Whether its fingerprint rows and features were already written, outside the
        /// transaction.
        rows_written: bool,
    },
    Update {
        merged: StoredEntry,
        bytes: Vec<u8>,
        /// The stored version's time row, which the merged one's replaces.
        old_time_key: Vec<u8>,
        /// The stored version's fingerprint rows and the merged one's; both empty when they
        /// are the same.
        rows_removed: Vec<Vec<u8>>,
        rows_added: Vec<Vec<u8>>,
        /// The stored version's features key, and the merged one's features: always written,
        /// in the transaction, since what the row holds may not be the stored version's (a
        /// version of the same batch may have been written ahead over it).
        old_features_key: Vec<u8>,
        features: (Vec<u8>, Vec<u8>),
    },
}

/// One entry of a batch, with what could be decided outside the transaction.
struct Prepared {
    entry: Entry,
    keys: Vec<IdentityKey>,
    /// The id the entry gets if none of its keys is known yet.
    new_id: EntryId,
    seen: Seen,
    plan: Plan,
}

/// The trees an upsert writes, in the order [`Store::upsert_all`] opens them.
type UpsertTrees = (
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
);

impl Store {
    /// Stores an entry, or updates the stored entry that any of `keys` already identifies.
    pub fn upsert(&self, entry: Entry, keys: &[IdentityKey]) -> Result<Upsert, StoreError> {
        let mut outcomes = self.upsert_all(vec![(entry, keys.to_vec())])?;
        outcomes.pop().ok_or_else(|| StoreError::Corrupt {
            what: "an upsert without an outcome".into(),
            source: serde::de::Error::custom("no outcome"),
        })
    }

    /// [`Store::upsert`] for each of a poll's entries, [`ENTRIES_PER_TRANSACTION`] to a
    /// transaction, so that a poll's entries cost a few turns of sled's global lock, not one
    /// each. Each entry is whole in one transaction; the poll as a whole need not be, since
    /// storing it again changes nothing.
    ///
    /// The whole batch is prepared first, on all cores when it is big (`crate::parallel`): a
    /// plan made before an earlier transaction of the batch stored one of its keys is made again
    /// inside its own transaction, as one made before another poll's is.
    pub fn upsert_all(
        &self,
        batch: Vec<(Entry, Vec<IdentityKey>)>,
    ) -> Result<Vec<Upsert>, StoreError> {
        let prepared =
            crate::parallel::map_in_order(batch, |(entry, keys)| self.prepare(entry, keys))
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
        let mut outcomes = Vec::with_capacity(prepared.len());
        for chunk in prepared.chunks(ENTRIES_PER_TRANSACTION) {
            outcomes.extend(self.write_prepared(chunk)?);
        }
        Ok(outcomes)
    }

    /// Everything about storing one entry that needs no lock: what its keys hold, the plan,
    /// and a new entry's fingerprint rows.
    fn prepare(&self, entry: Entry, keys: Vec<IdentityKey>) -> Result<Prepared, StoreError> {
        let Some(first_key) = keys.first() else {
            return Err(StoreError::Corrupt {
                what: "an entry without identity keys".into(),
                source: serde::de::Error::custom("no keys"),
            });
        };
        let new_id = EntryId::from_key(first_key);
        let seen = self.look(&keys, &new_id)?;
        let mut plan = plan(&entry, &new_id, &seen)?;
        if let Plan::Insert {
            stored,
            features,
            rows_written,
            ..
        } = &mut plan
        {
            // A row without its entry (the transaction then fails, or finds the entry stored
            // by another poll meanwhile) is harmless: placement finds no story for such a
            // candidate, and retention sweeps old rows. Features written over those of an
            // entry another poll stored meanwhile are mended by the transaction, which then
            // plans again (see `upsert_one`).
            for row in stories::fingerprint_rows(&stored.entry, &stored.id) {
                self.fingerprints
                    .insert(row, stored.entry.source_id.as_bytes())?;
            }
            self.story_features
                .insert(features.0.as_slice(), features.1.as_slice())?;
            *rows_written = true;
        }
        Ok(Prepared {
            entry,
            keys,
            new_id,
            seen,
            plan,
        })
    }

    /// The transaction: each prepared plan, or a new one where the store changed meanwhile.
    fn write_prepared(&self, prepared: &[Prepared]) -> Result<Vec<Upsert>, StoreError> {
        let trees = (
            &self.entries,
            &self.keys,
            &self.by_time,
            &self.pending_topics,
            &self.fingerprints,
            &self.stories,
            &self.pending_stories,
            &self.story_features,
        );
        let result = trees.transaction(|trees| {
            let mut rows = RowCount::default();
            let outcomes = prepared
                .iter()
                .map(|one| upsert_one(trees, one, &mut rows))
                .collect::<TxResult<Vec<_>>>()?;
            Ok((outcomes, rows))
        });
        let (outcomes, rows) = result.map_err(StoreError::from)?;
        self.count_rows(rows);
        if outcomes.iter().any(|o| !matches!(o, Upsert::Unchanged(_))) {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(outcomes)
    }

    /// [`Seen`] by plain reads, outside any transaction. A new entry's id is read too, though
    /// it is not there: that brings the pages it will be written to into the cache, so that the
    /// transaction does not read them from disk under the lock.
    fn look(&self, keys: &[IdentityKey], new_id: &EntryId) -> Result<Seen, StoreError> {
        let seen = Seen::read(keys, |k| self.keys.get(k), |id| self.entries.get(id))?;
        if seen.existing().is_none() {
            self.entries.get(new_id.0.as_bytes())?;
            self.stories.get(new_id.0.as_bytes())?;
        }
        Ok(seen)
    }
}

/// What storing `entry` writes, given what its keys and stored copy hold.
fn plan(entry: &Entry, new_id: &EntryId, seen: &Seen) -> Result<Plan, StoreError> {
    let old = match &seen.entry {
        Some(bytes) => Some(decode_entry(bytes)?),
        None => None,
    };
    Ok(match old {
        Some(old) => {
            let merged = merge(&old, entry.clone());
            if merged == old {
                Plan::Unchanged(old.id)
            } else {
                let (mut rows_removed, mut rows_added) = (
                    stories::fingerprint_rows(&old.entry, &old.id),
                    stories::fingerprint_rows(&merged.entry, &merged.id),
                );
                if rows_removed == rows_added {
                    rows_removed.clear();
                    rows_added.clear();
                }
                Plan::Update {
                    bytes: encode_entry(&merged)?,
                    old_time_key: time_key(old.entry.published, &old.id),
                    rows_removed,
                    rows_added,
                    old_features_key: stories::entry_features_key(&old.entry, &old.id),
                    features: stories::features_row(&merged.entry, &merged.id),
                    merged,
                }
            }
        }
        None => {
            let stored = StoredEntry {
                story_id: new_id.clone(),
                id: new_id.clone(),
                entry: entry.clone(),
            };
            Plan::Insert {
                bytes: encode_entry(&stored)?,
                record: to_json(&StoryRecord::single(&stored), "story")?,
                features: stories::features_row(&stored.entry, &stored.id),
                stored,
                rows_written: false,
            }
        }
    })
}

/// Writes one prepared entry; `rows` counts the time rows it adds and removes.
fn upsert_one(trees: &UpsertTrees, one: &Prepared, rows: &mut RowCount) -> TxResult<Upsert> {
    let (
        entries,
        key_index,
        by_time,
        pending,
        fingerprint_rows,
        story_records,
        pending_stories,
        story_features,
    ) = trees;
    let seen = Seen::read(&one.keys, |k| key_index.get(k), |id| entries.get(id))?;
    let replanned;
    let plan = if seen == one.seen {
        &one.plan
    } else {
        if let Plan::Insert {
            features: (key, _),
            rows_written: true,
            ..
        } = &one.plan
        {
            // Written ahead for an entry the store now holds otherwise, perhaps over its
            // features: gone, the entry's are computed when asked for, or written below.
            story_features.remove(key.as_slice())?;
        }
        replanned =
            plan(&one.entry, &one.new_id, &seen).map_err(ConflictableTransactionError::Abort)?;
        &replanned
    };
    let outcome = match plan {
        Plan::Unchanged(id) => Upsert::Unchanged(id.clone()),
        Plan::Insert {
            stored,
            bytes,
            record,
            features,
            rows_written,
        } => {
            let id = &stored.id;
            rows.inserted(&by_time.insert(time_key(stored.entry.published, id), id.0.as_bytes())?);
            entries.insert(id.0.as_bytes(), bytes.as_slice())?;
            if !rows_written {
                for row in stories::fingerprint_rows(&stored.entry, id) {
                    fingerprint_rows.insert(row, stored.entry.source_id.as_bytes())?;
                }
                story_features.insert(features.0.as_slice(), features.1.as_slice())?;
            }
            story_records.insert(id.0.as_bytes(), record.as_slice())?;
            pending_stories.insert(id.0.as_bytes(), &stories::pending_mark(&stored.entry))?;
            Upsert::Inserted(id.clone())
        }
        Plan::Update {
            merged,
            bytes,
            old_time_key,
            rows_removed,
            rows_added,
            old_features_key,
            features,
        } => {
            rows.removed(&by_time.remove(old_time_key.as_slice())?);
            story_features.remove(old_features_key.as_slice())?;
            story_features.insert(features.0.as_slice(), features.1.as_slice())?;
            rows.inserted(&by_time.insert(
                time_key(merged.entry.published, &merged.id),
                merged.story_id.0.as_bytes(),
            )?);
            for row in rows_removed {
                fingerprint_rows.remove(row.as_slice())?;
            }
            for row in rows_added {
                fingerprint_rows.insert(row.as_slice(), merged.entry.source_id.as_bytes())?;
            }
            entries.insert(merged.id.0.as_bytes(), bytes.as_slice())?;
            Upsert::Updated(merged.id.clone())
        }
    };
    let id = outcome.id().0.as_bytes();
    for (key, points_to) in one.keys.iter().zip(&seen.keys) {
        // A known entry's keys are mostly written already: rewriting them would only add work
        // under sled's lock.
        if points_to.as_deref() != Some(id) {
            key_index.insert(key.0.as_bytes(), id)?;
        }
    }
    if !matches!(outcome, Upsert::Unchanged(_)) {
        pending.insert(id, &[])?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::identity_keys;
    use crate::cluster::story::{day, StoryFeatures};

    fn version(title: &str, hours_ago: i64) -> (Entry, Vec<IdentityKey>) {
        let mut entry = Entry::from_text(
            "vremya",
            title,
            "В Мурине открылась школа на 1375 мест; первых учеников встретил губернатор.",
        );
        entry.canonical_url = Some("https://vremya.ru/news/1".into());
        entry.link = entry.canonical_url.clone();
        entry.published = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
        entry.first_seen = entry.published;
        let keys = identity_keys(&entry);
        (entry, keys)
    }

    #[test]
    fn two_versions_in_one_batch_are_one_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let outcomes = store
            .upsert_all(vec![
                version("Школа открылась", 3),
                version("В Мурине открылась школа", 2),
            ])
            .unwrap();
        let id = outcomes[0].id().clone();
        assert_eq!(
            outcomes,
            [Upsert::Inserted(id.clone()), Upsert::Updated(id.clone())]
        );
        assert_eq!(store.entry_count(), 1);
        assert_eq!(
            store.entry(&id).unwrap().unwrap().entry.title,
            "В Мурине открылась школа"
        );
        // The second version's features, written ahead over the first's, were replaced in
        // its transaction by the merged version's.
        assert_eq!(
            stored_features(&store, &id),
            Some(own_features(&store, &id))
        );
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    }

    /// The features stored for an entry, where its current version says they are.
    fn stored_features(store: &Store, id: &EntryId) -> Option<StoryFeatures> {
        let stored = store.entry(id).unwrap().unwrap();
        let key = stories::entry_features_key(&stored.entry, id);
        let bytes = store.story_features.get(key).unwrap()?;
        StoryFeatures::decode(&bytes)
    }

    fn own_features(store: &Store, id: &EntryId) -> StoryFeatures {
        StoryFeatures::clone(&StoryFeatures::of(&store.entry(id).unwrap().unwrap().entry))
    }

    #[test]
    fn an_entrys_features_are_stored_with_it_and_follow_its_updates() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (first, keys) = version("Школа открылась", 60);
        let id = store.upsert(first.clone(), &keys).unwrap().id().clone();
        assert_eq!(
            stored_features(&store, &id),
            Some(own_features(&store, &id))
        );

        // A new version dated two days later (a real date, not the time it was first seen):
        // its features move to their new day, and the old day's row goes.
        let (mut second, keys) = version("В Мурине открылась школа на 1375 мест", 12);
        second.first_seen = chrono::Utc::now();
        assert_ne!(day(first.published), day(second.published));
        assert_eq!(
            store.upsert(second, &keys).unwrap(),
            Upsert::Updated(id.clone())
        );
        assert_eq!(
            stored_features(&store, &id),
            Some(own_features(&store, &id))
        );
        assert_eq!(
            store
                .story_features
                .get(stories::features_key(day(first.published), &id))
                .unwrap(),
            None
        );
        assert_eq!(store.story_features.len(), 1);
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());

        // Features that are not the entry's own are a breach `verify` reports.
        let current = store.entry(&id).unwrap().unwrap().entry;
        let key = stories::entry_features_key(&current, &id);
        store
            .story_features
            .insert(key, StoryFeatures::of(&first).encode())
            .unwrap();
        assert_eq!(
            store.verify().unwrap(),
            [format!(
                "entry {}: its stored story features are not its own",
                id.0
            )]
        );
    }

    #[test]
    fn a_plan_made_before_another_poll_stored_the_entry_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (entry, keys) = version("В Мурине открылась школа", 2);
        let stale = store.prepare(entry, keys).unwrap();
        assert!(matches!(stale.plan, Plan::Insert { .. }));

        // Another poll stores an earlier version between the plan and its transaction.
        let (earlier, keys) = version("Школа открылась", 3);
        let id = store.upsert(earlier, &keys).unwrap().id().clone();

        assert_eq!(
            store.write_prepared(&[stale]).unwrap(),
            [Upsert::Updated(id.clone())]
        );
        assert_eq!(store.entry_count(), 1);
        assert_eq!(store.newest().count(), 1, "one time row, not two");
        assert_eq!(
            store.entry(&id).unwrap().unwrap().entry.title,
            "В Мурине открылась школа"
        );
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn features_written_ahead_over_an_entry_stored_meanwhile_do_not_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // The same item seen an hour apart, undated both times.
        let (late, keys) = version("В Мурине открылась школа", 1);
        let (early, _) = version("В Мурине открылась школа", 2);
        assert_eq!(
            day(late.published),
            day(early.published),
            "one features key"
        );
        let stale = store.prepare(late, keys.clone()).unwrap();
        // Another poll stores it first, and only then is the stale plan's row written: the
        // order a race between the two gives.
        let id = store.upsert(early, &keys).unwrap().id().clone();
        let Plan::Insert {
            features: (key, bytes),
            ..
        } = &stale.plan
        else {
            panic!("planned as new");
        };
        let (key, bytes) = (key.clone(), bytes.clone());
        store.story_features.insert(key, bytes.as_slice()).unwrap();

        assert_eq!(
            store.write_prepared(&[stale]).unwrap(),
            [Upsert::Unchanged(id.clone())]
        );
        assert_ne!(
            stored_features(&store, &id),
            Some(StoryFeatures::decode(&bytes).unwrap())
        );
        assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    }
}
