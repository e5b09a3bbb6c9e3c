//! Which output feeds an entry belongs to.
//!
//! First cut: a topic matches when any of its query's words occurs in the title or text, compared
//! case-insensitively with `ё` folded to `е` (`word*` as a prefix, a quoted phrase as a whole).
//! The query language with Russian morphology replaces this matcher; the way feeds ask for their
//! entries ([`TopicFeed::select`]) stays.

use crate::config::{Config, Topic, ALL_TOPIC};
use crate::normalize::Entry;
use crate::store::{Store, StoreError, StoredEntry};

/// One output feed's selection rule.
#[derive(Debug, Clone)]
pub struct TopicFeed {
    pub id: String,
    pub title: String,
    terms: Vec<Term>,
    sources: Vec<String>,
    regions: Vec<String>,
    /// Source id → region, for the `regions` restriction.
    source_regions: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Word(String),
    Prefix(String),
    Phrase(String),
}

impl TopicFeed {
    /// The feed of every story.
    pub fn all(config: &Config) -> TopicFeed {
        TopicFeed {
            id: ALL_TOPIC.to_string(),
            title: "Все новости".to_string(),
            terms: Vec::new(),
            sources: Vec::new(),
            regions: Vec::new(),
            source_regions: source_regions(config),
        }
    }

    pub fn new(topic: &Topic, config: &Config) -> TopicFeed {
        TopicFeed {
            id: topic.id.clone(),
            title: topic.title.clone(),
            terms: terms(&topic.query),
            sources: topic.sources.clone(),
            regions: topic.regions.clone(),
            source_regions: source_regions(config),
        }
    }

    /// The feed for a topic id (`all` included), if it exists.
    pub fn find(config: &Config, id: &str) -> Option<TopicFeed> {
        if id == ALL_TOPIC {
            return Some(TopicFeed::all(config));
        }
        config.topic(id).map(|t| TopicFeed::new(t, config))
    }

    pub fn matches(&self, entry: &Entry) -> bool {
        if !self.sources.is_empty() && !self.sources.contains(&entry.source_id) {
            return false;
        }
        if !self.regions.is_empty() {
            let region = self
                .source_regions
                .iter()
                .find(|(id, _)| *id == entry.source_id)
                .and_then(|(_, r)| r.as_ref());
            if !region.is_some_and(|r| self.regions.contains(r)) {
                return false;
            }
        }
        if self.terms.is_empty() {
            return true;
        }
        let text = fold(&format!("{}\n{}", entry.title, entry.text));
        let words: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        self.terms.iter().any(|term| match term {
            Term::Word(w) => words.iter().any(|x| x == w),
            Term::Prefix(p) => words.iter().any(|x| x.starts_with(p.as_str())),
            Term::Phrase(p) => words.join(" ").contains(p.as_str()),
        })
    }

    /// The newest `limit` stored entries this feed carries.
    pub fn select(&self, store: &Store, limit: usize) -> Result<Vec<StoredEntry>, StoreError> {
        let mut selected = Vec::with_capacity(limit.min(1024));
        for stored in store.newest() {
            let stored = stored?;
            if self.matches(&stored.entry) {
                selected.push(stored);
                if selected.len() >= limit {
                    break;
                }
            }
        }
        Ok(selected)
    }
}

fn source_regions(config: &Config) -> Vec<(String, Option<String>)> {
    config
        .sources
        .iter()
        .map(|s| (s.id.clone(), s.region.clone()))
        .collect()
}

/// Lower case with `ё` read as `е`, as Russian readers and writers treat them.
fn fold(text: &str) -> String {
    text.to_lowercase().replace('ё', "е")
}

fn terms(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = query;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace() && c != '(' && c != ')') {
        rest = &rest[start..];
        if let Some(after_quote) = rest.strip_prefix('"') {
            let end = after_quote.find('"').unwrap_or(after_quote.len());
            let phrase: Vec<String> = fold(&after_quote[..end])
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            if !phrase.is_empty() {
                terms.push(Term::Phrase(phrase.join(" ")));
            }
            rest = after_quote.get(end + 1..).unwrap_or("");
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '"')
            .unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        if matches!(word, "AND" | "OR" | "NOT") {
            continue;
        }
        let word = fold(word.trim_start_matches('='));
        match word.strip_suffix('*') {
            Some(prefix) if !prefix.is_empty() => terms.push(Term::Prefix(prefix.to_string())),
            Some(_) => {}
            None if !word.is_empty() => terms.push(Term::Word(word)),
            None => {}
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_become_terms() {
        assert_eq!(
            terms(r#"НКО OR "некоммерческая  организация" OR волонтёр* AND (=Минск)"#),
            [
                Term::Word("нко".into()),
                Term::Phrase("некоммерческая организация".into()),
                Term::Prefix("волонтер".into()),
                Term::Word("минск".into()),
            ]
        );
    }
}
