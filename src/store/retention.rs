//! Retention: stories whose newest entry is older than the cutoff leave the store, with every
//! row that refers to them. Each story goes in its own transaction, so serving never pauses and
//! a crash leaves either the whole story or none of it.

use chrono::{DateTime, Utc};
use sled::Transactional;

use super::stories::{entry_features_key, fingerprint_rows, StoryRecord};
use super::{decode, read_entry, time_key, topic_row, EntryTopics, RowCount, Store, StoreError};
use crate::cluster::story::day;
use crate::cluster::{identity_keys, EntryId, StoryId};

impl Store {
    /// Removes every story whose entries were all published before `cutoff`; returns how many.
    pub fn remove_stories_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
        let end = time_key(cutoff, &EntryId(String::new()));
        let mut stories: Vec<StoryId> = Vec::new();
        for row in self.by_time.range(..end) {
            let (key, _) = row?;
            let id =
                EntryId(String::from_utf8_lossy(key.get(8..).unwrap_or_default()).into_owned());
            if let Some(stored) = self.entry(&id)? {
                if !stories.contains(&stored.story_id) {
                    stories.push(stored.story_id);
                }
            }
        }
        let mut removed = 0;
        for story in stories {
            if let Some(rows) = self.remove_story_if_before(&story, cutoff)? {
                self.count_rows(rows);
                removed += 1;
            }
        }
        // Rows older than the cutoff by more than the story window can only be found by entries
        // published before the cutoff, which retention takes anyway; rows of kept old entries
        // within the window stay for the copies that may still arrive.
        let window_days = crate::cluster::story::StoryRules::default()
            .window
            .num_days();
        let swept = self.remove_fingerprints_before(
            day(cutoff).saturating_sub(u32::try_from(window_days).unwrap_or(0)),
        )?;
        if swept > 0 {
            tracing::info!(rows = swept, "retention swept old story fingerprint rows");
        }
        if removed > 0 {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(removed)
    }

    /// Removes the story when all its entries were published before `cutoff`; returns the
    /// time rows that went with them, or `None` when the story stays (or is gone already).
    fn remove_story_if_before(
        &self,
        story: &StoryId,
        cutoff: DateTime<Utc>,
    ) -> Result<Option<RowCount>, StoreError> {
        let trees = (
            &self.entries,
            &self.keys,
            &self.by_time,
            &self.fingerprints,
            &self.story_features,
            &self.topic_rows,
            &self.entry_topics,
            &self.stories,
            &self.pending_topics,
            &self.pending_stories,
        );
        trees
            .transaction(
                |(
                    entries,
                    keys,
                    by_time,
                    fingerprints,
                    story_features,
                    topic_rows,
                    entry_topics,
                    records,
                    pending_topics,
                    pending_stories,
                )| {
                    let Some(bytes) = records.get(story.0.as_bytes())? else {
                        return Ok(None);
                    };
                    let record: StoryRecord = decode(&bytes, "story")
                        .map_err(sled::transaction::ConflictableTransactionError::Abort)?;
                    let mut members = Vec::with_capacity(record.members.len());
                    for member in &record.members {
                        if let Some(stored) = read_entry(entries, &member.id)? {
                            if stored.entry.published >= cutoff {
                                return Ok(None);
                            }
                            members.push(stored);
                        }
                    }
                    let mut rows = RowCount::default();
                    for stored in &members {
                        let id = stored.id.0.as_bytes();
                        entries.remove(id)?;
                        rows.removed(
                            &by_time.remove(time_key(stored.entry.published, &stored.id))?,
                        );
                        for key in identity_keys(&stored.entry) {
                            // A key may have moved on to a newer entry; only ours go.
                            if keys.get(key.0.as_bytes())?.as_deref() == Some(id) {
                                keys.remove(key.0.as_bytes())?;
                            }
                        }
                        for row in fingerprint_rows(&stored.entry, &stored.id) {
                            fingerprints.remove(row)?;
                        }
                        story_features.remove(entry_features_key(&stored.entry, &stored.id))?;
                        if let Some(bytes) = entry_topics.get(id)? {
                            let indexed: EntryTopics = decode(&bytes, "entry topics")
                                .map_err(sled::transaction::ConflictableTransactionError::Abort)?;
                            for topic in &indexed.topics {
                                topic_rows.remove(topic_row(topic, &indexed.time_key))?;
                            }
                            entry_topics.remove(id)?;
                        }
                        pending_topics.remove(id)?;
                        pending_stories.remove(id)?;
                    }
                    records.remove(story.0.as_bytes())?;
                    Ok(Some(rows))
                },
            )
            .map_err(StoreError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::story::StoryIndex;
    use crate::normalize::Entry;

    fn entry(source: &str, link: &str, days_ago: i64) -> Entry {
        let mut entry = Entry::from_text(
            source,
            "Губернатор подписал закон о бюджете",
            "Губернатор Ленинградской области подписал закон о бюджете на 2027 год: доходы 245 миллиардов рублей.",
        );
        entry.canonical_url = Some(link.to_string());
        entry.published = Utc::now() - chrono::Duration::days(days_ago);
        entry
    }

    fn store_entry(store: &Store, entry: Entry) -> EntryId {
        let keys = identity_keys(&entry);
        store.upsert(entry, &keys).unwrap().id().clone()
    }

    #[test]
    fn old_stories_leave_with_every_row_and_recent_ones_stay_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // One story of two outlets, both old; one story with an old and a recent entry.
        let old_a = store_entry(&store, entry("lenobl", "https://a.ru/1", 200));
        let old_b = store_entry(&store, entry("news47", "https://b.ru/1", 199));
        store
            .join_stories(&old_b, std::slice::from_ref(&old_a))
            .unwrap();
        let mixed_old = store_entry(&store, entry("lenobl", "https://a.ru/2", 185));
        let mixed_new = store_entry(&store, entry("vremya", "https://c.ru/2", 170));
        store
            .join_stories(&mixed_new, std::slice::from_ref(&mixed_old))
            .unwrap();
        for id in [&old_a, &old_b, &mixed_old, &mixed_new] {
            let stored = store.entry(id).unwrap().unwrap();
            store
                .set_entry_topics(&stored, &["ngo".to_string()])
                .unwrap();
        }
        assert_eq!(store.topic_newest("ngo").count(), 4);

        // A row written ahead of an upsert that never committed, which no entry names, in a
        // bucket that ends more than the story window before the cutoff.
        let orphan_day = day(Utc::now() - chrono::Duration::days(230));
        store
            .fingerprints
            .insert(
                super::super::stories::fingerprint_key(
                    42,
                    orphan_day,
                    &EntryId("0123456789abcdef".into()),
                ),
                "lenobl",
            )
            .unwrap();

        // And features written ahead of a transaction that never ran.
        let orphan_features =
            super::super::stories::features_key(orphan_day, &EntryId("0123456789abcdef".into()));
        store
            .story_features
            .insert(orphan_features.as_slice(), b"")
            .unwrap();
        let features_of =
            |id: &EntryId| entry_features_key(&store.entry(id).unwrap().unwrap().entry, id);
        let (old_features, mixed_old_features) = (features_of(&old_a), features_of(&mixed_old));
        assert!(store.story_features.get(&old_features).unwrap().is_some());

        let cutoff = Utc::now() - chrono::Duration::days(180);
        assert_eq!(store.remove_stories_before(cutoff).unwrap(), 1);
        assert_eq!(store.story_features.get(&orphan_features).unwrap(), None);
        assert_eq!(store.story_features.get(&old_features).unwrap(), None);
        assert!(
            store
                .story_features
                .get(&mixed_old_features)
                .unwrap()
                .is_some(),
            "a kept entry's features within the window stay"
        );
        assert_eq!(store.story_features.len(), 2);
        assert!(
            store
                .candidates(&[42], orphan_day, orphan_day, 100)
                .unwrap()
                .is_empty(),
            "the orphan row is swept"
        );
        let kept = crate::cluster::story::StoryFeatures::of(
            &store.entry(&mixed_old).unwrap().unwrap().entry,
        );
        let mixed_day = day(Utc::now() - chrono::Duration::days(185));
        assert!(
            store
                .candidates(kept.fingerprints(), mixed_day, mixed_day, 100)
                .unwrap()
                .iter()
                .any(|c| c.id == mixed_old),
            "a kept entry's rows within the window stay"
        );
        assert!(store.entry(&old_a).unwrap().is_none() && store.entry(&old_b).unwrap().is_none());
        assert!(store.story(&old_a).unwrap().is_none());
        assert!(
            store.entry(&mixed_old).unwrap().is_some(),
            "a story with a recent entry stays whole"
        );
        assert_eq!(store.entry_count(), 2);
        assert_eq!(store.newest().count(), 2);
        assert_eq!(store.topic_newest("ngo").count(), 2);
        assert!(store
            .pending_story_entries()
            .unwrap()
            .iter()
            .all(|id| *id != old_a && *id != old_b));
        let fingerprints = crate::cluster::similarity::Fingerprints::of(
            &crate::cluster::story::story_text(&entry("x", "https://x.ru", 0)),
        );
        let day_of_old = crate::cluster::story::day(Utc::now() - chrono::Duration::days(200));
        let left = store
            .candidates(&fingerprints.0, day_of_old - 2, day_of_old + 2, 100)
            .unwrap();
        assert!(left.is_empty(), "{left:?}");
        // Its identity keys are gone too: the same item arriving again is new.
        assert!(matches!(
            store
                .upsert(
                    entry("lenobl", "https://a.ru/1", 200),
                    &identity_keys(&entry("lenobl", "https://a.ru/1", 200))
                )
                .unwrap(),
            super::super::Upsert::Inserted(_)
        ));
    }
}
