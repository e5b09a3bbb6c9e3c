//! RSS 2.0 through the `rss` crate.

use std::collections::BTreeMap;

use ::rss::extension::atom::{AtomExtension, Link};
use ::rss::{Category, Channel, Guid, Item, Source};
use chrono::{DateTime, Utc};

use super::{item_id, FeedMeta, Format};
use crate::store::StoredEntry;

pub(super) fn render(
    meta: &FeedMeta,
    entries: &[StoredEntry],
    last_modified: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let items = entries
        .iter()
        .map(|stored| {
            let entry = &stored.entry;
            let outlet = meta.outlet(&entry.source_id);
            Item {
                title: Some(entry.title.clone()),
                link: entry.link.clone(),
                description: Some(entry.content_html.clone()),
                guid: Some(Guid {
                    value: item_id(stored),
                    permalink: false,
                }),
                pub_date: Some(entry.published.to_rfc2822()),
                categories: entry
                    .categories
                    .iter()
                    .map(|c| Category {
                        name: c.clone(),
                        domain: None,
                    })
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
    let channel = Channel {
        title: meta.title.clone(),
        link: meta.home_url(),
        description: format!("{} — Vestnik", meta.title),
        language: Some("ru".to_string()),
        generator: Some(concat!("Vestnik ", env!("CARGO_PKG_VERSION")).to_string()),
        last_build_date: Some(last_modified.to_rfc2822()),
        namespaces: BTreeMap::from([(
            "atom".to_string(),
            ::rss::extension::atom::NAMESPACE.to_string(),
        )]),
        atom_ext: Some(AtomExtension {
            links: vec![Link {
                href: meta.self_url(Format::Rss),
                rel: "self".to_string(),
                mime_type: Some("application/rss+xml".to_string()),
                ..Link::default()
            }],
        }),
        items,
        ..Channel::default()
    };
    let mut bytes = Vec::with_capacity(4096 + entries.len() * 2048);
    channel.write_to(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}
