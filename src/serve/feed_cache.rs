//! Rendered feeds kept between requests, and which of them are kept: every subscription
//! document, at most [`ARCHIVE_PAGES_CACHED`] archive pages, and never a page that does not
//! exist (any number can be asked for).

use std::collections::HashMap;
use std::sync::Arc;

use super::ServedFeed;
use crate::publish::Format;

/// Archive pages kept rendered at once, across topics and formats. A topic of 100,000 stories
/// has 1,000 pages at the default 100 stories a page, each kept in three codings (about 175 KB),
/// and a reader following `prev-archive` links walks them all; subscription documents are few
/// and always kept.
const ARCHIVE_PAGES_CACHED: usize = 32;

/// One rendering and what it was rendered from.
pub(super) struct CachedFeed {
    pub generation: u64,
    /// [`crate::running::Running::version`] of the configuration it was rendered by.
    pub config_version: u64,
    /// `None`: no such feed.
    pub feed: Option<Arc<ServedFeed>>,
}

/// By topic, then by format and page (`None`: the subscription document): looked up by the
/// topic's `&str` without a copy.
#[derive(Default)]
pub(super) struct FeedCache {
    topics: HashMap<String, HashMap<(Format, Option<usize>), CachedFeed>>,
}

impl FeedCache {
    pub fn get(&self, topic: &str, format: Format, page: Option<usize>) -> Option<&CachedFeed> {
        self.topics.get(topic)?.get(&(format, page))
    }

    /// Keeps a rendering, unless it is of an archive page that does not exist; makes room
    /// first when it is a new archive page.
    pub fn remember(
        &mut self,
        topic: &str,
        format: Format,
        page: Option<usize>,
        rendered: CachedFeed,
    ) {
        if page.is_some() {
            if rendered.feed.is_none() {
                return;
            }
            if self.get(topic, format, page).is_none() {
                self.make_room_for_a_page();
            }
        }
        self.topics
            .entry(topic.to_string())
            .or_default()
            .insert((format, page), rendered);
    }

    /// How many renderings are kept, archive pages included.
    pub fn len(&self) -> usize {
        self.topics.values().map(HashMap::len).sum()
    }

    pub fn clear(&mut self) {
        self.topics.clear();
    }

    /// Drops one archive page when [`ARCHIVE_PAGES_CACHED`] are kept. Which one does not matter
    /// much: a page is rendered again in milliseconds, and readers seldom read old ones.
    fn make_room_for_a_page(&mut self) {
        let is_page = |key: &&(Format, Option<usize>)| key.1.is_some();
        let pages = self
            .topics
            .values()
            .flat_map(HashMap::keys)
            .filter(is_page)
            .count();
        if pages < ARCHIVE_PAGES_CACHED {
            return;
        }
        let any_page = self
            .topics
            .values_mut()
            .find_map(|feeds| Some((feeds.keys().find(is_page).copied()?, feeds)));
        if let Some((key, feeds)) = any_page {
            feeds.remove(&key);
        }
    }
}
