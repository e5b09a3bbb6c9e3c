//! RSS 2.0 through the `rss` crate.

use std::collections::BTreeMap;

use ::rss::extension::atom::{AtomExtension, Link};
use ::rss::extension::{Extension, ExtensionMap};
use ::rss::{Category, Channel, Guid, Item, Source};
use chrono::{DateTime, Utc};

use super::{also_reported, item_id, FeedMeta, Format};
use crate::topics::StoryView;

pub(super) fn render(
    meta: &FeedMeta,
    stories: &[StoryView],
    last_modified: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let items = stories
        .iter()
        .map(|story| {
            let entry = &story.primary.entry;
            let outlet = meta.outlet(&entry.source_id);
            Item {
                title: Some(entry.title.clone()),
                link: entry.link.clone(),
                description: Some(description(meta, story)),
                guid: Some(Guid {
                    value: item_id(story),
                    permalink: false,
                }),
                pub_date: Some(entry.published.to_rfc2822()),
                categories: meta
                    .topics_of(story)
                    .map(|(id, title)| Category {
                        name: title.to_string(),
                        domain: Some(meta_topic_url(meta, id)),
                    })
                    .chain(entry.categories.iter().map(|c| Category {
                        name: c.clone(),
                        domain: None,
                    }))
                    .collect(),
                author: None,
                source: (!outlet.url.is_empty()).then(|| Source {
                    url: outlet.url.clone(),
                    title: Some(outlet.title.clone()),
                }),
                ..Item::default()
            }
        })
        .collect();
    let mut links = vec![Link {
        href: meta.self_url(Format::Rss),
        rel: "self".to_string(),
        mime_type: Some("application/rss+xml".to_string()),
        ..Link::default()
    }];
    links.extend(meta.extra_links(Format::Rss));
    let mut namespaces = BTreeMap::from([(
        "atom".to_string(),
        ::rss::extension::atom::NAMESPACE.to_string(),
    )]);
    let mut extensions = ExtensionMap::default();
    if meta.page.is_some() {
        super::mark_archive(&mut namespaces, &mut extensions, |name| Extension {
            name,
            ..Extension::default()
        });
    }
    let channel = Channel {
        title: meta.title.clone(),
        link: meta.home_url(),
        description: format!("{} — Vestnik", meta.title),
        language: Some("ru".to_string()),
        generator: Some(concat!("Vestnik ", env!("CARGO_PKG_VERSION")).to_string()),
        last_build_date: Some(last_modified.to_rfc2822()),
        namespaces,
        extensions,
        atom_ext: Some(AtomExtension { links }),
        items,
        ..Channel::default()
    };
    let mut bytes = Vec::with_capacity(4096 + stories.len() * 2048);
    channel.write_to(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// The primary's content, then a «Также сообщают:» line linking the other outlets.
fn description(meta: &FeedMeta, story: &StoryView) -> String {
    let mut html = story.primary.entry.content_html.clone();
    let outlets = also_reported(meta, story);
    if outlets.is_empty() {
        return html;
    }
    let links: Vec<String> = outlets
        .iter()
        .map(|(outlet, entry)| {
            let title = html_escape::encode_text(&outlet.title);
            match &entry.entry.link {
                Some(link) => format!(
                    "<a href=\"{}\">{title}</a>",
                    html_escape::encode_double_quoted_attribute(link)
                ),
                None => title.into_owned(),
            }
        })
        .collect();
    html.push_str(&format!("<p>Также сообщают: {}</p>", links.join(", ")));
    html
}

/// The feed of a topic, naming the taxonomy of its category.
fn meta_topic_url(meta: &FeedMeta, topic: &str) -> String {
    format!("{}/feeds/{topic}.rss", meta.base_url)
}
