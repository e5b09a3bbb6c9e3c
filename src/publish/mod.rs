//! Output feeds as bytes: RSS 2.0, Atom 1.0 and JSON Feed 1.1 from the same selected entries.
//!
//! Rendering is deterministic (dates come from the entries, not the clock), so the ETag — a hash
//! of the bytes — changes exactly when what a reader would see changes.

mod atom;
mod json;
mod rss;

use std::collections::{BTreeMap, HashMap};

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
    /// Topic id → title, for the categories of each item.
    pub topic_titles: HashMap<String, String>,
    /// A WebSub hub to name in `rel="hub"` links.
    pub hub: Option<String>,
    /// `None` for the subscription document (the newest stories), else an RFC 5005 archive page.
    pub page: Option<usize>,
    /// How many complete archive pages exist: page 1 holds the oldest stories.
    pub archive_pages: usize,
    /// Archive pages linked as files (`TOPIC.page-N.rss`) for static hosting, not `?page=N`.
    pub static_archives: bool,
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
            topic_titles: config
                .topics
                .iter()
                // Operators' titles reach readers' HTML too: markup goes, as from any title.
                .map(|t| (t.id.clone(), crate::normalize::text::title_text(&t.title)))
                .collect(),
            hub: config.settings.hub.clone(),
            page: None,
            archive_pages: 0,
            static_archives: false,
        }
    }

    /// This document's own URL.
    pub fn self_url(&self, format: Format) -> String {
        self.page_url(format, self.page)
    }

    /// The URL of the subscription document (`None`) or of an archive page.
    pub fn page_url(&self, format: Format, page: Option<usize>) -> String {
        let (base, topic, ext) = (&self.base_url, &self.topic_id, format.extension());
        match page {
            None => format!("{base}/feeds/{topic}.{ext}"),
            Some(n) if self.static_archives => format!("{base}/feeds/{topic}.page-{n}.{ext}"),
            Some(n) => format!("{base}/feeds/{topic}.{ext}?page={n}"),
        }
    }

    /// RFC 5005 links of this document as (rel, URL).
    pub fn history_links(&self, format: Format) -> Vec<(&'static str, String)> {
        let mut links = Vec::new();
        match self.page {
            None => {
                if self.archive_pages > 0 {
                    links.push((
                        "prev-archive",
                        self.page_url(format, Some(self.archive_pages)),
                    ));
                }
            }
            Some(n) => {
                links.push(("current", self.page_url(format, None)));
                if n > 1 {
                    links.push(("prev-archive", self.page_url(format, Some(n - 1))));
                }
                if n < self.archive_pages {
                    links.push(("next-archive", self.page_url(format, Some(n + 1))));
                }
            }
        }
        links
    }

    pub fn home_url(&self) -> String {
        format!("{}/", self.base_url)
    }

    /// The XSLT that makes a feed readable in a browser.
    pub fn stylesheet_url(&self) -> String {
        format!("{}/feed.xsl", self.base_url)
    }

    /// The hub and RFC 5005 links every XML format carries beside its self link.
    fn extra_links(&self, format: Format) -> Vec<atom_syndication::Link> {
        let hub = self.hub.iter().map(|hub| atom_syndication::Link {
            href: hub.clone(),
            rel: "hub".to_string(),
            ..Default::default()
        });
        let history =
            self.history_links(format)
                .into_iter()
                .map(|(rel, href)| atom_syndication::Link {
                    href,
                    rel: rel.to_string(),
                    mime_type: Some(mime_type(format).to_string()),
                    ..Default::default()
                });
        hub.chain(history).collect()
    }

    /// The configured topics a story matched, as (id, title).
    fn topics_of<'a>(&'a self, story: &'a StoryView) -> impl Iterator<Item = (&'a str, &'a str)> {
        story.topics.iter().filter_map(|id| {
            self.topic_titles
                .get(id)
                .map(|title| (id.as_str(), title.as_str()))
        })
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
    .map(|bytes| match format {
        Format::Json => bytes,
        _ => with_stylesheet(bytes, &meta.stylesheet_url()),
    })
    .map_err(|message| RenderError { format, message })?;
    let etag = format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(&bytes));
    Ok(RenderedFeed {
        format,
        bytes,
        etag,
        last_modified,
    })
}

/// The XSLT, served at `/feed.xsl` and written by `export`: a browser opening a feed shows a page.
pub const STYLESHEET: &str = include_str!("feed.xsl");

/// The namespace of RFC 5005's `archive` marker.
pub const HISTORY_NAMESPACE: &str = "http://purl.org/syndication/history/1.0";

/// Marks an archive page (RFC 5005's `<fh:archive/>`) in a writer's namespaces and extensions.
/// rss and atom_syndication each have an `Extension` type of their own, of the same shape, so
/// the writer says how to make one from its name.
pub(super) fn mark_archive<E>(
    namespaces: &mut BTreeMap<String, String>,
    extensions: &mut BTreeMap<String, BTreeMap<String, Vec<E>>>,
    extension: impl FnOnce(String) -> E,
) {
    namespaces.insert("fh".to_string(), HISTORY_NAMESPACE.to_string());
    extensions.entry("fh".to_string()).or_default().insert(
        "archive".to_string(),
        vec![extension("fh:archive".to_string())],
    );
}

/// Puts an `xml-stylesheet` processing instruction after the XML declaration.
fn with_stylesheet(bytes: Vec<u8>, href: &str) -> Vec<u8> {
    let instruction = format!(
        "\n<?xml-stylesheet type=\"text/xsl\" href=\"{}\"?>",
        html_escape::encode_double_quoted_attribute(href)
    );
    let at = if bytes.starts_with(b"<?xml") {
        bytes
            .windows(2)
            .position(|w| w == b"?>")
            .map(|p| p + 2)
            .unwrap_or(0)
    } else {
        0
    };
    let mut out = Vec::with_capacity(bytes.len() + instruction.len());
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(
        instruction
            .trim_start_matches(|c| at == 0 && c == '\n')
            .as_bytes(),
    );
    if at == 0 {
        out.push(b'\n');
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

/// A format's media type without parameters, as links name it.
fn mime_type(format: Format) -> &'static str {
    format.content_type().split(';').next().unwrap_or_default()
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
