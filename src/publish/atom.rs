//! Atom 1.0 through `atom_syndication`.

use std::collections::BTreeMap;

use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Text,
};
use chrono::{DateTime, Utc};

use super::{also_reported, item_id, updated, FeedMeta, Format};
use crate::topics::StoryView;

fn fixed(date: DateTime<Utc>) -> FixedDateTime {
    date.fixed_offset()
}

pub(super) fn render(
    meta: &FeedMeta,
    stories: &[StoryView],
    last_modified: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let atom_entries =
        stories
            .iter()
            .map(|story| {
                let entry = &story.primary.entry;
                let outlet = meta.outlet(&entry.source_id);
                Entry {
                    id: item_id(story),
                    title: Text::plain(entry.title.clone()),
                    updated: fixed(updated(story)),
                    published: Some(fixed(entry.published)),
                    authors: vec![Person {
                        name: outlet.title.clone(),
                        uri: (!outlet.url.is_empty()).then(|| outlet.url.clone()),
                        email: None,
                        ..Person::default()
                    }],
                    links: entry
                        .link
                        .iter()
                        .map(|href| Link {
                            href: href.clone(),
                            rel: "alternate".to_string(),
                            mime_type: Some("text/html".to_string()),
                            ..Link::default()
                        })
                        .chain(also_reported(meta, story).into_iter().filter_map(
                            |(outlet, other)| {
                                Some(Link {
                                    href: other.entry.link.clone()?,
                                    rel: "related".to_string(),
                                    mime_type: Some("text/html".to_string()),
                                    title: Some(outlet.title),
                                    ..Link::default()
                                })
                            },
                        ))
                        .collect(),
                    categories: meta
                        .topics_of(story)
                        .map(|(id, title)| Category {
                            term: id.to_string(),
                            scheme: Some(format!("{}/feeds/", meta.base_url)),
                            label: Some(title.to_string()),
                        })
                        .chain(entry.categories.iter().map(|c| Category {
                            term: c.clone(),
                            ..Category::default()
                        }))
                        .collect(),
                    summary: Some(Text::plain(summary(&entry.text))),
                    content: Some(Content {
                        value: Some(entry.content_html.clone()),
                        content_type: Some("html".to_string()),
                        ..Content::default()
                    }),
                    ..Entry::default()
                }
            })
            .collect();
    let mut links = vec![
        Link {
            href: meta.self_url(Format::Atom),
            rel: "self".to_string(),
            mime_type: Some("application/atom+xml".to_string()),
            ..Link::default()
        },
        Link {
            href: meta.home_url(),
            rel: "alternate".to_string(),
            mime_type: Some("text/html".to_string()),
            ..Link::default()
        },
    ];
    links.extend(meta.extra_links(Format::Atom));
    let mut namespaces = BTreeMap::new();
    let mut extensions = ExtensionMap::default();
    if meta.page.is_some() {
        super::mark_archive(&mut namespaces, &mut extensions, |name| Extension {
            name,
            ..Extension::default()
        });
    }
    let feed = Feed {
        // The subscription document's URL names the feed, on every page of its archive.
        id: meta.page_url(Format::Atom, None),
        title: Text::plain(meta.title.clone()),
        updated: fixed(last_modified),
        authors: vec![Person {
            name: "Vestnik".to_string(),
            email: None,
            uri: Some(meta.home_url()),
            ..Person::default()
        }],
        links,
        namespaces,
        extensions,
        generator: Some(Generator {
            value: "Vestnik".to_string(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
        lang: Some("ru".to_string()),
        entries: atom_entries,
        ..Feed::default()
    };
    let mut bytes = Vec::with_capacity(4096 + stories.len() * 2048);
    feed.write_to(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// The first paragraph, cut at a word near 300 characters: what readers show in lists.
pub(super) fn summary(text: &str) -> String {
    let first = text.split("\n\n").next().unwrap_or_default();
    if first.chars().count() <= 300 {
        return first.to_string();
    }
    let cut: String = first.chars().take(300).collect();
    let cut = cut.rsplit_once(' ').map(|(head, _)| head).unwrap_or(&cut);
    format!("{cut}…")
}
