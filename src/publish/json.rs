//! JSON Feed 1.1 through serde: no maintained writer crate is worth a dependency.

use serde::Serialize;

use super::atom::summary;
use super::{item_id, updated, FeedMeta, Format};
use crate::store::StoredEntry;

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    language: &'static str,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_html: &'a str,
    summary: String,
    date_published: String,
    date_modified: String,
    authors: Vec<JsonAuthor>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
}

#[derive(Serialize)]
struct JsonAuthor {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

pub(super) fn render(meta: &FeedMeta, entries: &[StoredEntry]) -> Result<Vec<u8>, String> {
    let items = entries
        .iter()
        .map(|stored| {
            let entry = &stored.entry;
            let outlet = meta.outlet(&entry.source_id);
            JsonItem {
                id: item_id(stored),
                url: entry.link.as_deref(),
                title: &entry.title,
                content_html: &entry.content_html,
                summary: summary(&entry.text),
                date_published: entry.published.to_rfc3339(),
                date_modified: updated(stored).to_rfc3339(),
                authors: vec![JsonAuthor {
                    name: outlet.title,
                    url: (!outlet.url.is_empty()).then_some(outlet.url),
                }],
                tags: &entry.categories,
            }
        })
        .collect();
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &meta.title,
        home_page_url: meta.home_url(),
        feed_url: meta.self_url(Format::Json),
        language: "ru",
        items,
    };
    serde_json::to_vec_pretty(&feed).map_err(|e| e.to_string())
}
