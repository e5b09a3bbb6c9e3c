//! Output feeds as bytes: RSS 2.0, Atom 1.0 and JSON Feed 1.1 from the same selected entries.
//!
//! Rendering is deterministic (dates come from the entries, not the clock), so the ETag — a hash
//! of the bytes — changes exactly when what a reader would see changes.

mod atom;
mod json;
mod rss;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::store::StoredEntry;
use crate::topics::StoryView;

/// An output format, named by its file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    pub fn from_extension(extension: &str) -> Option<Format> {
        match extension {
            "rss" => Some(Format::Rss),
            "atom" => Some(Format::Atom),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json",
        }
    }
}

/// Who published an entry, as output feeds name it.
#[derive(Debug, Clone)]
pub struct Outlet {
    pub title: String,
    pub url: String,
}

/// What a feed says about itself.
#[derive(Debug, Clone)]
pub struct FeedMeta {
    pub topic_id: String,
    pub title: String,
    /// Without a trailing slash.
    pub base_url: String,
    pub outlets: HashMap<String, Outlet>,
}

impl FeedMeta {
    pub fn new(config: &Config, topic_id: &str, title: &str) -> FeedMeta {
        let outlets = config
            .sources
            .iter()
            .map(|s| {
                // Titles from feeds.toml (or an imported OPML file) are text like any other:
                // markup in them never reaches a feed.
                let outlet = Outlet {
                    title: s
                        .title
                        .as_deref()
                        .map(crate::normalize::text::title_text)
                        .unwrap_or_else(|| s.id.clone()),
                    url: s.url.to_string(),
                };
                (s.id.clone(), outlet)
            })
            .collect();
        FeedMeta {
            topic_id: topic_id.to_string(),
            title: crate::normalize::text::title_text(title),
            base_url: config.settings.base_url.clone(),
            outlets,
        }
    }

    pub fn self_url(&self, format: Format) -> String {
        format!(
            "{}/feeds/{}.{}",
            self.base_url,
            self.topic_id,
            format.extension()
        )
    }

    pub fn home_url(&self) -> String {
        format!("{}/", self.base_url)
    }

    fn outlet(&self, source_id: &str) -> Outlet {
        self.outlets
            .get(source_id)
            .cloned()
            .unwrap_or_else(|| Outlet {
                title: source_id.to_string(),
                url: String::new(),
            })
    }
}

/// A rendered feed, ready to serve or write.
#[derive(Debug, Clone)]
pub struct RenderedFeed {
    pub format: Format,
    pub bytes: Vec<u8>,
    /// Strong ETag, quotes included.
    pub etag: String,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot render the {format:?} feed: {message}")]
pub struct RenderError {
    pub format: Format,
    pub message: String,
}

/// Renders `stories` (newest first) as one feed.
pub fn render(
    meta: &FeedMeta,
    stories: &[StoryView],
    format: Format,
) -> Result<RenderedFeed, RenderError> {
    let last_modified = last_modified(stories);
    let bytes = match format {
        Format::Rss => rss::render(meta, stories, last_modified),
        Format::Atom => atom::render(meta, stories, last_modified),
        Format::Json => json::render(meta, stories),
    }
    .map_err(|message| RenderError { format, message })?;
    let etag = format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(&bytes));
    Ok(RenderedFeed {
        format,
        bytes,
        etag,
        last_modified,
    })
}

/// When the feed last changed: the latest time any entry of its stories was published, updated
/// or first seen. An empty feed has not changed since the epoch.
fn last_modified(stories: &[StoryView]) -> DateTime<Utc> {
    stories
        .iter()
        .flat_map(|s| std::iter::once(&s.primary).chain(&s.others))
        .flat_map(|e| {
            [
                Some(e.entry.published),
                e.entry.updated,
                Some(e.entry.first_seen),
            ]
        })
        .flatten()
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// A story's id in every output feed: it never changes when the story gains outlets.
fn item_id(story: &StoryView) -> String {
    format!("urn:vestnik:story:{}", story.id)
}

/// The date a feed shows as updated: the latest change to any of the story's entries.
fn updated(story: &StoryView) -> DateTime<Utc> {
    std::iter::once(&story.primary)
        .chain(&story.others)
        .map(|e| {
            e.entry
                .updated
                .unwrap_or(e.entry.published)
                .max(e.entry.published)
        })
        .max()
        .unwrap_or(story.primary.entry.published)
}

/// The other outlets of a story as readers see them: each outlet once, with its link.
fn also_reported<'a>(meta: &'a FeedMeta, story: &'a StoryView) -> Vec<(Outlet, &'a StoredEntry)> {
    let mut seen: Vec<&str> = vec![story.primary.entry.source_id.as_str()];
    let mut outlets = Vec::new();
    for other in &story.others {
        if seen.contains(&other.entry.source_id.as_str()) {
            continue;
        }
        seen.push(&other.entry.source_id);
        outlets.push((meta.outlet(&other.entry.source_id), other));
    }
    outlets
}
