//! JSON Feed 1.1 through serde: no maintained writer crate is worth a dependency.

use serde::Serialize;

use super::atom::summary;
use super::{also_reported, item_id, updated, FeedMeta, Format};
use crate::topics::StoryView;

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    language: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<JsonHub>,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    /// Vestnik's extension (JSON Feed allows keys starting with `_`): the story and its outlets.
    _vestnik: VestnikExtension<'a>,
}

#[derive(Serialize)]
struct VestnikExtension<'a> {
    story_id: &'a str,
    outlets: Vec<JsonOutlet<'a>>,
}

#[derive(Serialize)]
struct JsonOutlet<'a> {
    source: &'a str,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    date_published: String,
    primary: bool,
}

#[derive(Serialize)]
struct JsonHub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct JsonAuthor {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

pub(super) fn render(meta: &FeedMeta, stories: &[StoryView]) -> Result<Vec<u8>, String> {
    let items = stories
        .iter()
        .map(|story| {
            let entry = &story.primary.entry;
            let outlet = meta.outlet(&entry.source_id);
            JsonItem {
                id: item_id(story),
                url: entry.link.as_deref(),
                title: &entry.title,
                content_html: &entry.content_html,
                summary: summary(&entry.text),
                date_published: entry.published.to_rfc3339(),
                date_modified: updated(story).to_rfc3339(),
                authors: vec![JsonAuthor {
                    name: outlet.title,
                    url: (!outlet.url.is_empty()).then_some(outlet.url),
                }],
                tags: meta
                    .topics_of(story)
                    .map(|(_, title)| title)
                    .chain(entry.categories.iter().map(String::as_str))
                    .collect(),
                _vestnik: VestnikExtension {
                    story_id: story.id.as_str(),
                    outlets: std::iter::once((meta.outlet(&entry.source_id), &story.primary, true))
                        .chain(
                            also_reported(meta, story)
                                .into_iter()
                                .map(|(o, e)| (o, e, false)),
                        )
                        .map(|(outlet, stored, primary)| JsonOutlet {
                            source: &stored.entry.source_id,
                            title: outlet.title,
                            url: stored.entry.link.as_deref(),
                            date_published: stored.entry.published.to_rfc3339(),
                            primary,
                        })
                        .collect(),
                },
            }
        })
        .collect();
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &meta.title,
        home_page_url: meta.home_url(),
        feed_url: meta.self_url(Format::Json),
        language: "ru",
        hubs: meta
            .hub
            .iter()
            .map(|url| JsonHub {
                kind: "WebSub",
                url: url.clone(),
            })
            .collect(),
        items,
    };
    serde_json::to_vec_pretty(&feed).map_err(|e| e.to_string())
}
