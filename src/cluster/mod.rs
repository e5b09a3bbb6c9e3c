//! Which stored entry a new one is, and which story it belongs to.
//!
//! Identity: an entry is its canonical URL, else its source and guid, else its source and title.
//! Seeing any of these again means the same entry, updated in place. Stories: copies of one event
//! from different outlets ([`story`]). The store keeps keys, fingerprints and stories; this module
//! decides what they are, so the rules live in one place.

pub mod similarity;
pub mod story;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::normalize::Entry;

/// A stable entry id: derived from the entry's first identity key when it was first stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub String);

/// A story is named after its first entry.
pub type StoryId = EntryId;

impl EntryId {
    pub fn from_key(key: &IdentityKey) -> EntryId {
        EntryId(format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64(key.0.as_bytes())
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One way of recognising an entry again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(pub String);

/// The keys that identify `entry`, strongest first. Never empty.
pub fn identity_keys(entry: &Entry) -> Vec<IdentityKey> {
    let mut keys = Vec::with_capacity(2);
    if let Some(url) = &entry.canonical_url {
        keys.push(IdentityKey(format!("url\t{url}")));
    }
    if let Some(guid) = &entry.guid {
        keys.push(IdentityKey(format!("guid\t{}\t{guid}", entry.source_id)));
    }
    if keys.is_empty() {
        // Neither link nor guid: the title is all that stays the same between polls.
        keys.push(IdentityKey(format!(
            "title\t{}\t{}",
            entry.source_id,
            entry.title.to_lowercase()
        )));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn entry(link: Option<&str>, guid: Option<&str>) -> Entry {
        Entry {
            source_id: "vremya".into(),
            guid: guid.map(Into::into),
            link: link.map(Into::into),
            canonical_url: link.map(Into::into),
            title: "Заголовок".into(),
            text: String::new(),
            content_html: String::new(),
            published: Utc::now(),
            updated: None,
            first_seen: Utc::now(),
            authors: vec![],
            categories: vec![],
            enclosures: vec![],
            language: None,
        }
    }

    #[test]
    fn keys_by_strength() {
        let keys = identity_keys(&entry(Some("https://a.ru/1"), Some("g1")));
        assert_eq!(
            keys,
            [
                IdentityKey("url\thttps://a.ru/1".into()),
                IdentityKey("guid\tvremya\tg1".into())
            ]
        );
        let keys = identity_keys(&entry(None, None));
        assert_eq!(keys, [IdentityKey("title\tvremya\tзаголовок".into())]);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = EntryId::from_key(&IdentityKey("url\thttps://a.ru/1".into()));
        assert_eq!(
            a,
            EntryId::from_key(&IdentityKey("url\thttps://a.ru/1".into()))
        );
        assert_ne!(
            a,
            EntryId::from_key(&IdentityKey("url\thttps://a.ru/2".into()))
        );
        assert_eq!(a.as_str().len(), 16);
    }
}
