//! What normalization and full-text fetching need from the store: each source's memory of
//! recurring paragraphs (see [`crate::normalize::recurring`]), and the stored entry that a set of
//! identity keys names. Kept apart from the entry trees: the memory is advisory, and losing it
//! only means relearning a source's chrome.

use super::{decode, Store, StoreError, StoredEntry};
use crate::cluster::{EntryId, IdentityKey};
use crate::normalize::recurring::RecurringBlocks;

const RECURRING_TREE: &str = "recurring_blocks";

impl Store {
    /// The source's memory of recurring paragraphs; empty for a source never seen.
    pub fn recurring_blocks(&self, source_id: &str) -> Result<RecurringBlocks, StoreError> {
        let tree = self.db.open_tree(RECURRING_TREE)?;
        Ok(tree
            .get(source_id.as_bytes())?
            .map(|bytes| decode(&bytes, "recurring blocks"))
            .transpose()?
            .unwrap_or_default())
    }

    pub fn put_recurring_blocks(
        &self,
        source_id: &str,
        memory: &RecurringBlocks,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(memory).map_err(|source| StoreError::Corrupt {
            what: "recurring blocks".into(),
            source,
        })?;
        self.db
            .open_tree(RECURRING_TREE)?
            .insert(source_id.as_bytes(), bytes)?;
        Ok(())
    }

    /// The stored entry that any of `keys` identifies.
    pub fn find(&self, keys: &[IdentityKey]) -> Result<Option<StoredEntry>, StoreError> {
        for key in keys {
            if let Some(id) = self.keys.get(key.0.as_bytes())? {
                let id = EntryId(String::from_utf8_lossy(&id).into_owned());
                return self.entry(&id);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_round_trips_per_source() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.recurring_blocks("a").unwrap().is_empty());
        let mut memory = RecurringBlocks::default();
        memory.observe(1, &["Поиск".to_string()]);
        store.put_recurring_blocks("a", &memory).unwrap();
        assert_eq!(store.recurring_blocks("a").unwrap(), memory);
        assert!(store.recurring_blocks("b").unwrap().is_empty());
    }
}
