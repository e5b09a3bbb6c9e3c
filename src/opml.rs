//! OPML 2.0: the output feeds for a reader to import, the sources as a list, and a reader's
//! export turned into `[[source]]` blocks.

use std::collections::HashSet;

use quick_xml::escape::escape;
use quick_xml::events::Event;

use crate::config::Config;
use crate::publish::Format;
use crate::topics::Topics;

#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    #[error("not readable as OPML: {0}")]
    Xml(String),
    #[error("no outline with an xmlUrl: nothing to import")]
    Empty,
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>{}</title>\n  </head>\n  <body>\n{body}  </body>\n</opml>\n",
        escape(title)
    )
}

/// Every output feed (RSS), for a reader to subscribe to all in one step: `GET /opml`.
pub fn feeds_opml(config: &Config, topics: &Topics) -> String {
    let base = &config.settings.base_url;
    let mut body = String::new();
    for topic in topics.feeds() {
        let url = format!("{base}/feeds/{}.{}", topic.id, Format::Rss.extension());
        body.push_str(&format!(
            "    <outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{}\" htmlUrl=\"{}\"/>\n",
            escape(&url),
            escape(format!("{base}/")),
            title = escape(&topic.title),
        ));
    }
    document("Vestnik", &body)
}

/// The configured sources: `vestnik opml export`.
pub fn sources_opml(config: &Config) -> String {
    let mut body = String::new();
    for source in &config.sources {
        let title = source.title.as_deref().unwrap_or(&source.id);
        body.push_str(&format!(
            "    <outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{}\"/>\n",
            escape(source.url.as_str()),
            title = escape(title),
        ));
    }
    document("Vestnik sources", &body)
}

/// One feed found in a reader's export.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedFeed {
    pub title: Option<String>,
    pub url: String,
    /// The titles of the folders it was in, outermost first.
    pub folders: Vec<String>,
}

/// Reads every outline with an `xmlUrl`, at any depth (Miniflux, FreshRSS and Feedly nest
/// feeds in category outlines).
pub fn read(text: &str) -> Result<Vec<ImportedFeed>, OpmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut feeds = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| OpmlError::Xml(format!("at byte {}: {e}", reader.buffer_position())))?;
        let (element, open) = match &event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(e) => {
                if e.local_name().into_inner() == "outline" {
                    folders.pop();
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if element.local_name().into_inner() != "outline" {
            continue;
        }
        let mut title = None;
        let mut text_attr = None;
        let mut url = None;
        for attr in element.attributes().flatten() {
            let value = attr
                .normalized_value(quick_xml::XmlVersion::default())
                .map_err(|e| OpmlError::Xml(e.to_string()))?
                .trim()
                .to_string();
            match attr.key.local_name().into_inner() {
                "title" if !value.is_empty() => title = Some(value),
                "text" if !value.is_empty() => text_attr = Some(value),
                "xmlUrl" | "xmlurl" if !value.is_empty() => url = Some(value),
                _ => {}
            }
        }
        let title = title.or(text_attr);
        if let Some(url) = url {
            feeds.push(ImportedFeed {
                title: title.clone(),
                url,
                folders: folders.iter().flatten().cloned().collect(),
            });
        }
        if open {
            folders.push(title);
        }
    }
    if feeds.is_empty() {
        return Err(OpmlError::Empty);
    }
    Ok(feeds)
}

/// `[[source]]` blocks for `feeds.toml`, one per feed, ids unique among themselves and `taken`.
pub fn to_sources_toml(feeds: &[ImportedFeed], taken: &HashSet<String>) -> String {
    let mut used = taken.clone();
    let mut out = String::new();
    let mut seen_urls = HashSet::new();
    for feed in feeds {
        if !seen_urls.insert(feed.url.clone()) {
            continue;
        }
        let base = source_id(feed);
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        if !feed.folders.is_empty() {
            out.push_str(&format!(
                "# {}\n",
                feed.folders.join(" / ").replace('\n', " ")
            ));
        }
        out.push_str("[[source]]\n");
        out.push_str(&format!("id = {}\n", toml_string(&id)));
        out.push_str(&format!("url = {}\n", toml_string(&feed.url)));
        if let Some(title) = &feed.title {
            out.push_str(&format!("title = {}\n", toml_string(title)));
        }
        out.push('\n');
    }
    out
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// An id in `[a-z0-9_-]+` from the feed's host and path.
fn source_id(feed: &ImportedFeed) -> String {
    let from = url::Url::parse(&feed.url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_string())
        })
        .unwrap_or_else(|| feed.url.clone());
    let host = from.rsplit_once('.').map(|(h, _)| h).unwrap_or(&from);
    let mut id = String::new();
    for c in host.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_matches('-').to_string();
    if id.is_empty() {
        "source".to_string()
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESHRSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>FreshRSS</title></head><body>
<outline text="Регионы">
  <outline text="Лен. область" type="rss" xmlUrl="https://lenobl.ru/rss/" htmlUrl="https://lenobl.ru/"/>
  <outline text="47 &amp; news" title="47news" type="rss" xmlUrl="https://47news.ru/rss/"/>
  <outline text="Вложенная"><outline text="БелТА" type="rss" xmlUrl="https://www.belta.by/rss"/></outline>
</outline>
<outline text="Без папки" type="rss" xmlUrl="https://www.lenobl.ru/other"/>
</body></opml>"#;

    #[test]
    fn nested_outlines_become_sources_with_unique_ids() {
        let feeds = read(FRESHRSS).unwrap();
        assert_eq!(feeds.len(), 4);
        assert_eq!(feeds[1].title.as_deref(), Some("47news"));
        assert_eq!(feeds[2].folders, vec!["Регионы", "Вложенная"]);
        assert!(feeds[3].folders.is_empty());
        let toml_text = to_sources_toml(&feeds, &HashSet::new());
        let parsed: toml::Value = toml::from_str(&toml_text).unwrap();
        let sources = parsed["source"].as_array().unwrap();
        let ids: Vec<&str> = sources.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec!["lenobl", "47news", "belta", "lenobl-2"]);
        assert_eq!(sources[0]["title"].as_str(), Some("Лен. область"));
        assert_eq!(sources[2]["url"].as_str(), Some("https://www.belta.by/rss"));
    }

    #[test]
    fn an_opml_without_feeds_is_an_error() {
        assert!(matches!(
            read("<opml><body><outline text=\"x\"/></body></opml>"),
            Err(OpmlError::Empty)
        ));
        assert!(read("<opml><body><outline text=\"x\"></body></opml>").is_err());
    }
}
