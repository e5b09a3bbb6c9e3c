//! Which output feeds an entry belongs to: topic queries that understand Russian morphology.
//!
//! Queries are compiled once ([`query`]); each entry's words are analysed once
//! ([`analysis::EntryWords`]) and matched by every topic. Membership is evaluated at ingest and
//! kept in the store's topic index, so a feed reads its newest entries without scanning. When a
//! topic is added or its definition changes, every stored entry is evaluated again.

pub mod analysis;
pub mod query;

use std::collections::{HashMap, HashSet};

use crate::cluster::{EntryId, StoryId};
use crate::config::{Config, ConfigError, Location, Topic, ALL_TOPIC};
use crate::normalize::Entry;
use crate::store::{Listed, Store, StoreError, StoredEntry};

pub use analysis::{EntryWords, WordFilter};
pub use query::{Query, QueryError};

/// Entries read, evaluated and recorded together ([`crate::parallel::BATCH`]): their evaluation
/// is split over the cores, and indexing costs a few store transactions per poll.
const INDEXED_TOGETHER: usize = crate::parallel::BATCH;

/// One output feed's selection rule, compiled.
#[derive(Debug, Clone)]
pub struct TopicFeed {
    pub id: String,
    pub title: String,
    /// `None` for `all`.
    query: Option<Query>,
    sources: Vec<String>,
    regions: Vec<String>,
    /// Changes whenever what the topic selects could change: its query or restrictions.
    fingerprint: String,
}

impl TopicFeed {
    /// The feed of every story.
    pub fn all() -> TopicFeed {
        TopicFeed {
            id: ALL_TOPIC.to_string(),
            title: "Все новости".to_string(),
            query: None,
            sources: Vec::new(),
            regions: Vec::new(),
            fingerprint: String::new(),
        }
    }

    pub fn compile(topic: &Topic) -> Result<TopicFeed, QueryError> {
        let query = query::parse(&topic.query)?;
        let fingerprint = format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64(
                format!("{}\n{:?}\n{:?}", topic.query, topic.sources, topic.regions).as_bytes()
            )
        );
        Ok(TopicFeed {
            id: topic.id.clone(),
            title: topic.title.clone(),
            query: Some(query),
            sources: topic.sources.clone(),
            regions: topic.regions.clone(),
            fingerprint,
        })
    }

    pub fn is_all(&self) -> bool {
        self.query.is_none()
    }

    /// Whether an entry (from a source of `region`) belongs to this feed.
    pub fn matches(&self, words: &EntryWords, region: Option<&str>) -> bool {
        if !self.sources.is_empty() && !self.sources.contains(&words.source_id) {
            return false;
        }
        if !self.regions.is_empty() && !region.is_some_and(|r| self.regions.iter().any(|x| x == r))
        {
            return false;
        }
        match &self.query {
            None => true,
            Some(query) => evaluate(query, words),
        }
    }

    /// What matched and where, for `vestnik topic explain`.
    pub fn explain(&self, words: &EntryWords, region: Option<&str>) -> Explanation {
        let mut restriction = None;
        if !self.sources.is_empty() && !self.sources.contains(&words.source_id) {
            restriction = Some(format!(
                "source \"{}\" is not among {:?}",
                words.source_id, self.sources
            ));
        } else if !self.regions.is_empty()
            && !region.is_some_and(|r| self.regions.iter().any(|x| x == r))
        {
            restriction = Some(format!(
                "region {:?} is not among {:?}",
                region.unwrap_or("none"),
                self.regions
            ));
        }
        let terms = self
            .query
            .as_ref()
            .map(|q| {
                query::terms(q)
                    .into_iter()
                    .map(|term| explain_term(term, words))
                    .collect()
            })
            .unwrap_or_default();
        Explanation {
            matched: self.matches(words, region),
            restriction,
            terms,
        }
    }

    /// The newest `limit` stories this feed carries, each once, newest activity first. A story
    /// belongs to a topic when any of its entries does.
    pub fn select(
        &self,
        store: &Store,
        limit: usize,
        priorities: &HashMap<String, i32>,
    ) -> Result<Vec<StoryView>, StoreError> {
        let listed = self.stories(store, limit)?;
        StoryView::load_all(store, &listed, priorities)
    }

    /// The newest entry of each story this feed carries, newest first, at most `limit` of them:
    /// read from the time rows alone, so paging through a feed of 100,000 entries holds ids,
    /// not texts, and reads only the entries of the page it shows.
    pub fn stories(&self, store: &Store, limit: usize) -> Result<Vec<Listed>, StoreError> {
        self.distinct_stories(store).take(limit).collect()
    }

    /// How many stories this feed carries, and the newest entry of each of at most `take`
    /// stories after the `skip` newest: one walk over all of the feed's time rows.
    pub fn listing(&self, store: &Store, skip: usize, take: usize) -> Result<Listing, StoreError> {
        let mut stories = 0;
        let mut page = Vec::with_capacity(take.min(1024));
        for listed in self.distinct_stories(store) {
            let listed = listed?;
            if stories >= skip && page.len() < take {
                page.push(listed);
            }
            stories += 1;
        }
        Ok(Listing { stories, page })
    }

    /// How many stories this feed carries (a [`TopicFeed::listing`] without a page).
    pub fn story_count(&self, store: &Store) -> Result<usize, StoreError> {
        Ok(self.listing(store, 0, 0)?.stories)
    }

    /// The newest entry of each story this feed carries, newest first, each story once.
    ///
    /// Stories already seen are remembered by a 128-bit hash of their id, not by the id: a
    /// whole listing held as ids cost the daemon 20 MB at every render of `all` and every
    /// `/metrics` scrape on the memory bench's 100,000 entries, and it grows with the store.
    /// Two ids share a hash with a chance of about n² / 2¹²⁹.
    fn distinct_stories<'s>(
        &self,
        store: &'s Store,
    ) -> impl Iterator<Item = Result<Listed, StoreError>> + 's {
        let mut seen: HashSet<u128> = HashSet::new();
        self.listed(store).filter(move |listed| match listed {
            Ok(listed) => seen.insert(xxhash_rust::xxh3::xxh3_128(listed.story.0.as_bytes())),
            Err(_) => true,
        })
    }

    /// Every entry of this feed as listed, newest first.
    fn listed<'s>(
        &self,
        store: &'s Store,
    ) -> Box<dyn Iterator<Item = Result<Listed, StoreError>> + 's> {
        if self.is_all() {
            Box::new(store.newest_listed())
        } else {
            Box::new(store.topic_newest_listed(&self.id))
        }
    }
}

/// What [`TopicFeed::listing`] found: how many stories a feed carries, and one page of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub stories: usize,
    pub page: Vec<Listed>,
}

/// A story as feeds show it: its primary entry (the outlet of highest priority, then the
/// earliest) and the other outlets that carried it.
#[derive(Debug, Clone)]
pub struct StoryView {
    pub id: StoryId,
    pub primary: StoredEntry,
    /// Earliest first.
    pub others: Vec<StoredEntry>,
    /// The configured topics any of its entries matched, sorted (`all` is not among them).
    pub topics: Vec<String>,
}

impl StoryView {
    /// The stories of `listed` (one entry of each), read from the store; an entry removed
    /// since it was listed (retention) is skipped.
    pub fn load_all(
        store: &Store,
        listed: &[Listed],
        priorities: &HashMap<String, i32>,
    ) -> Result<Vec<StoryView>, StoreError> {
        let mut stories = Vec::with_capacity(listed.len());
        for one in listed {
            if let Some(found) = store.entry(&one.entry)? {
                stories.push(StoryView::load(store, found, priorities)?);
            }
        }
        Ok(stories)
    }

    /// The story of `found` (one of its entries), read from the store.
    pub fn load(
        store: &Store,
        found: StoredEntry,
        priorities: &HashMap<String, i32>,
    ) -> Result<StoryView, StoreError> {
        let id = found.story_id.clone();
        let mut members = vec![found];
        if let Some(record) = store.story(&id)? {
            for member in record.members {
                if members.iter().any(|m| m.id == member.id) {
                    continue;
                }
                if let Some(stored) = store.entry(&member.id)? {
                    members.push(stored);
                }
            }
        }
        let priority = |e: &StoredEntry| priorities.get(&e.entry.source_id).copied().unwrap_or(0);
        members.sort_by(|a, b| {
            priority(b)
                .cmp(&priority(a))
                .then(a.entry.published.cmp(&b.entry.published))
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut topics = Vec::new();
        for member in &members {
            topics.extend(store.entry_topics(&member.id)?);
        }
        topics.sort();
        topics.dedup();
        let primary = members.remove(0);
        members.sort_by(|a, b| {
            a.entry
                .published
                .cmp(&b.entry.published)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(StoryView {
            id,
            primary,
            others: members,
            topics,
        })
    }
}

/// Why an entry does or does not belong to a topic.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub matched: bool,
    /// Set when a `sources` or `regions` restriction excludes the entry.
    pub restriction: Option<String>,
    pub terms: Vec<TermExplanation>,
}

#[derive(Debug, Clone)]
pub struct TermExplanation {
    /// The term as written in the query.
    pub term: String,
    /// (field, word position, the word as written there)
    pub hits: Vec<(&'static str, u32, String)>,
}

fn explain_term(term: &query::Term, words: &EntryWords) -> TermExplanation {
    let mut hits = Vec::new();
    if term.field == query::Field::Source {
        if term_matches(term, words) {
            hits.push(("source", 0, words.source_id.clone()));
        }
    } else {
        for (name, field) in words.fields(term.field) {
            for position in field.positions(&term.kind) {
                hits.push((name, position, field.written(position).to_string()));
            }
        }
    }
    TermExplanation {
        term: term.written.clone(),
        hits,
    }
}

fn term_matches(term: &query::Term, words: &EntryWords) -> bool {
    if term.field == query::Field::Source {
        let id = match &term.kind {
            query::TermKind::Word(w) => &w.folded,
            query::TermKind::Exact(e) => e,
            query::TermKind::Prefix(p) => return words.source_id.starts_with(p.as_str()),
            query::TermKind::Phrase(_) => return term.written.trim_matches('"') == words.source_id,
        };
        return *id == words.source_id;
    }
    words
        .fields(term.field)
        .any(|(_, field)| field.contains(&term.kind))
}

fn evaluate(query: &Query, words: &EntryWords) -> bool {
    match query {
        Query::Or(parts) => parts.iter().any(|p| evaluate(p, words)),
        Query::And(parts) => parts.iter().all(|p| evaluate(p, words)),
        Query::Not(inner) => !evaluate(inner, words),
        Query::Term(term) => term_matches(term, words),
        Query::Near {
            left,
            right,
            distance,
        } => {
            // Both sides in the same field, their starts at most `distance` words apart.
            words.fields(left.field).any(|(name, field)| {
                let right_field = words.fields(right.field).find(|(n, _)| *n == name);
                let Some((_, right_words)) = right_field else {
                    return false;
                };
                let lefts = field.positions(&left.kind);
                if lefts.is_empty() {
                    return false;
                }
                let rights = right_words.positions(&right.kind);
                lefts
                    .iter()
                    .any(|l| rights.iter().any(|r| l.abs_diff(*r) <= *distance))
            })
        }
    }
}

/// All output feeds of a configuration, compiled; what ingest, serve and export share.
#[derive(Debug, Clone)]
pub struct Topics {
    feeds: Vec<TopicFeed>,
    /// Which entry words are worth stemming, given every topic's terms.
    filter: WordFilter,
    regions: HashMap<String, Option<String>>,
    /// Source id → priority: the highest is a story's primary outlet.
    priorities: HashMap<String, i32>,
}

impl Topics {
    /// Compiles every topic; a query that does not parse is an error at its place in the file.
    pub fn compile(config: &Config) -> Result<Topics, Vec<ConfigError>> {
        let mut feeds = vec![TopicFeed::all()];
        let mut errors = Vec::new();
        for topic in &config.topics {
            match TopicFeed::compile(topic) {
                Ok(feed) => feeds.push(feed),
                Err(e) => errors.push(ConfigError {
                    file: config.path.clone(),
                    location: query_location(topic, e.column),
                    message: format!("in the query of topic \"{}\": {}", topic.id, e.message),
                }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let regions = config
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.region.clone()))
            .collect();
        let mut filter = WordFilter::default();
        for term in feeds
            .iter()
            .filter_map(|f| f.query.as_ref())
            .flat_map(query::terms)
        {
            match &term.kind {
                query::TermKind::Word(pattern) => filter.add_pattern(pattern),
                query::TermKind::Phrase(patterns) => {
                    patterns.iter().for_each(|p| filter.add_pattern(p))
                }
                query::TermKind::Prefix(prefix) => filter.add_prefix(prefix),
                query::TermKind::Exact(_) => {}
            }
        }
        let priorities = config
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.priority))
            .collect();
        Ok(Topics {
            feeds,
            filter,
            regions,
            priorities,
        })
    }

    /// Every feed, `all` first.
    pub fn feeds(&self) -> &[TopicFeed] {
        &self.feeds
    }

    pub fn find(&self, id: &str) -> Option<&TopicFeed> {
        self.feeds.iter().find(|f| f.id == id)
    }

    pub fn priorities(&self) -> &HashMap<String, i32> {
        &self.priorities
    }

    pub fn region_of(&self, source_id: &str) -> Option<&str> {
        self.regions.get(source_id).and_then(|r| r.as_deref())
    }

    /// An entry's words as matching needs them: only words some topic could match are stemmed.
    pub fn analyse(&self, entry: &Entry) -> EntryWords {
        EntryWords::filtered(entry, self.region_of(&entry.source_id), Some(&self.filter))
    }

    /// An entry's words, every one stemmed: for explanations, which show all hits.
    pub fn analyse_fully(&self, entry: &Entry) -> EntryWords {
        EntryWords::new(entry, self.region_of(&entry.source_id))
    }

    /// The topics (other than `all`) an entry belongs to.
    pub fn matching(&self, entry: &Entry) -> Vec<String> {
        let words = self.analyse(entry);
        let region = self.region_of(&entry.source_id);
        self.feeds
            .iter()
            .filter(|f| !f.is_all() && f.matches(&words, region))
            .map(|f| f.id.clone())
            .collect()
    }

    /// Evaluates the entries stored or changed since the last call and records their topics.
    pub fn index_pending(&self, store: &Store) -> Result<usize, StoreError> {
        let pending = store.pending_topic_entries()?;
        for chunk in pending.chunks(INDEXED_TOGETHER) {
            self.index(store, chunk)?;
        }
        Ok(pending.len())
    }

    /// Evaluates these entries and records their topics, in as few store transactions as
    /// [`Store::set_topics`] can. Reading and evaluating an entry is independent of the others,
    /// so a big batch of them is split over the cores.
    fn index(&self, store: &Store, ids: &[EntryId]) -> Result<(), StoreError> {
        let evaluated = crate::parallel::map_in_order(ids.iter().collect(), |id| {
            let stored = store.entry(id)?;
            Ok((id, stored.map(|s| (self.matching(&s.entry), s))))
        })
        .into_iter()
        .collect::<Result<Vec<_>, StoreError>>()?;
        let mut indexed = Vec::with_capacity(evaluated.len());
        for (id, found) in &evaluated {
            match found {
                Some((topics, stored)) => indexed.push((stored, topics.clone())),
                None => store.forget_pending_topics(id)?,
            }
        }
        store.set_topics(&indexed)
    }

    /// When topics were added, removed or changed since the store was last indexed, evaluates
    /// every stored entry again. Returns how many entries were evaluated.
    pub fn reindex_if_changed(&self, store: &Store) -> Result<usize, StoreError> {
        let wanted: Vec<(String, String)> = self
            .feeds
            .iter()
            .filter(|f| !f.is_all())
            .map(|f| (f.id.clone(), f.fingerprint.clone()))
            .collect();
        if store.topic_versions()? == wanted {
            return self.index_pending(store);
        }
        let mut evaluated = 0;
        let mut ids = Vec::with_capacity(INDEXED_TOGETHER);
        for id in store.all_entry_ids() {
            ids.push(id?);
            if ids.len() == INDEXED_TOGETHER {
                self.index(store, &ids)?;
                evaluated += ids.len();
                ids.clear();
            }
        }
        self.index(store, &ids)?;
        evaluated += ids.len();
        store.set_topic_versions(&wanted)?;
        Ok(evaluated)
    }
}

/// Where a column of a topic's query stands in the config file.
fn query_location(topic: &Topic, column: usize) -> Location {
    let mut location = topic.query_location;
    for c in topic.query.chars().take(column) {
        if c == '\n' {
            location.line += 1;
            location.column = 1;
        } else {
            location.column += 1;
        }
    }
    location
}

#[cfg(test)]
mod tests;
