//! A lenient feed reader for what feed-rs rejects or reads as empty, the way Python's
//! feedparser falls back to its loose parser: Atom 0.3 (its namespace is not Atom 1.0's, so
//! feed-rs sees no fields), mismatched or unclosed tags, a feed cut off mid-item, unknown roots.
//!
//! It walks the XML events with quick-xml's checks off and picks out items (`item`, `entry`)
//! and their usual fields by local name, whatever the namespace. A field's value is the raw
//! source between its tags: CDATA kept as is, escaped text unescaped, raw markup kept as HTML.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{DateParser, Enclosure, ParsedFeed, RawItem};

/// Reads what items it can; an empty result means there were none to find.
pub fn parse_loose(text: &str, dates: &DateParser) -> ParsedFeed {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.check_comments = false;
    config.allow_dangling_amp = true;

    let mut feed = ParsedFeed::default();
    // Open elements: local name and where their content starts.
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut item: Option<ItemBuilder> = None;
    let mut item_depth = 0;
    loop {
        let before = position(&reader);
        let event = match reader.read_event() {
            Ok(event) => event,
            // A syntax error ends the document where it stands, like the end of a cut-off feed.
            Err(_) => break,
        };
        match event {
            Event::Start(start) => {
                let name = local_name(&start);
                if is_item(&name) && item.is_none() {
                    item = Some(ItemBuilder::default());
                    item_depth = open.len() + 1;
                }
                let attributes = attributes(&start);
                if let Some(builder) = item.as_mut().filter(|_| open.len() == item_depth) {
                    builder.attributes(&name, &attributes);
                } else if item.is_none() {
                    feed_attributes(&mut feed, &name, &attributes);
                }
                open.push((name, position(&reader)));
            }
            Event::Empty(start) => {
                let name = local_name(&start);
                let attributes = attributes(&start);
                if let Some(builder) = item.as_mut().filter(|_| open.len() == item_depth) {
                    builder.attributes(&name, &attributes);
                } else if item.is_none() {
                    feed_attributes(&mut feed, &name, &attributes);
                }
            }
            Event::End(end) => {
                let name = end.local_name().as_ref().to_ascii_lowercase();
                // Close up to the matching element; an end tag that matches nothing is ignored.
                let Some(index) = open.iter().rposition(|(n, _)| *n == name) else {
                    continue;
                };
                let content_start = open[index].1;
                let depth = index + 1;
                open.truncate(index);
                let raw = text.get(content_start..before).unwrap_or_default();
                close(&mut feed, &mut item, item_depth, depth, &name, raw, dates);
                if let Some(builder) = item.as_mut().filter(|_| depth == item_depth + 1) {
                    builder.complete_fields += 1;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // A document cut off mid-item keeps what it had, the fields left open ending at the cut —
    // if one field at least was whole: an item cut off in its first field is noise.
    if item.as_ref().is_some_and(|b| b.complete_fields == 0) {
        item = None;
    }
    while let Some((name, content_start)) = open.pop() {
        let raw = text.get(content_start..).unwrap_or_default();
        close(
            &mut feed,
            &mut item,
            item_depth,
            open.len() + 1,
            &name,
            raw,
            dates,
        );
    }
    feed
}

fn close(
    feed: &mut ParsedFeed,
    item: &mut Option<ItemBuilder>,
    item_depth: usize,
    depth: usize,
    name: &str,
    raw: &str,
    dates: &DateParser,
) {
    match item {
        Some(_) if depth == item_depth => {
            if let Some(done) = item
                .take()
                .and_then(|b| b.finish(feed.language.as_deref(), dates))
            {
                feed.items.push(done);
            }
        }
        Some(builder) if depth == item_depth + 1 => builder.field(name, raw),
        Some(_) => {}
        None => feed_field(feed, name, raw, dates),
    }
}

fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

fn is_item(name: &str) -> bool {
    name == "item" || name == "entry"
}

fn local_name(start: &BytesStart<'_>) -> String {
    start.local_name().as_ref().to_ascii_lowercase()
}

/// Attributes by local name, values unescaped where possible.
fn attributes(start: &BytesStart<'_>) -> Vec<(String, String)> {
    start
        .html_attributes()
        .with_checks(false)
        .flatten()
        .map(|a| {
            let name = a.key.local_name().as_ref().to_ascii_lowercase();
            (
                name,
                html_escape::decode_html_entities(&a.value).into_owned(),
            )
        })
        .collect()
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// An alternate link (`rel` absent or `alternate`) from a `<link href>`.
fn alternate_href(attributes: &[(String, String)]) -> Option<String> {
    let rel = attribute(attributes, "rel").unwrap_or("alternate");
    (rel == "alternate").then(|| attribute(attributes, "href").map(String::from))?
}

fn feed_attributes(feed: &mut ParsedFeed, name: &str, attributes: &[(String, String)]) {
    if name == "link" && feed.link.is_none() {
        feed.link = alternate_href(attributes);
    }
}

fn feed_field(feed: &mut ParsedFeed, name: &str, raw: &str, dates: &DateParser) {
    match name {
        "title" if feed.title.is_none() => feed.title = non_empty(field_html(raw)),
        "link" if feed.link.is_none() => feed.link = non_empty(field_text(raw)),
        "language" if feed.language.is_none() => feed.language = non_empty(field_text(raw)),
        "ttl" if feed.ttl_minutes.is_none() => feed.ttl_minutes = field_text(raw).parse().ok(),
        "lastbuilddate" | "updated" | "modified" if feed.updated.is_none() => {
            feed.updated = dates(&field_text(raw));
        }
        _ => {}
    }
}

#[derive(Default)]
struct ItemBuilder {
    item: RawItem,
    /// Fields closed by their end tag (not by the end of a cut-off document).
    complete_fields: usize,
    published: Option<String>,
    updated: Option<String>,
}

impl ItemBuilder {
    fn attributes(&mut self, name: &str, attributes: &[(String, String)]) {
        let item = &mut self.item;
        match name {
            "link" => {
                let rel = attribute(attributes, "rel");
                if rel == Some("enclosure") {
                    self.enclosure(attributes, "href");
                } else if item.link.is_none() {
                    item.link = alternate_href(attributes);
                }
            }
            "enclosure" | "content" if attribute(attributes, "url").is_some() => {
                self.enclosure(attributes, "url");
            }
            "category" => {
                if let Some(label) =
                    attribute(attributes, "label").or_else(|| attribute(attributes, "term"))
                {
                    item.categories.push(label.to_string());
                }
            }
            _ => {}
        }
    }

    fn enclosure(&mut self, attributes: &[(String, String)], url_attribute: &str) {
        if let Some(url) = attribute(attributes, url_attribute) {
            self.item.enclosures.push(Enclosure {
                url: url.to_string(),
                mime_type: attribute(attributes, "type").map(String::from),
                length: attribute(attributes, "length").and_then(|l| l.parse().ok()),
            });
        }
    }

    fn field(&mut self, name: &str, raw: &str) {
        let item = &mut self.item;
        match name {
            "title" => set_once(&mut item.title, field_html(raw)),
            "link" => set_once(&mut item.link, field_text(raw)),
            "guid" | "id" => set_once(&mut item.guid, field_text(raw)),
            "description" | "summary" => set_once(&mut item.summary_html, field_html(raw)),
            "encoded" | "content" => set_once(&mut item.content_html, field_html(raw)),
            "pubdate" | "published" | "issued" | "created" | "date" => {
                set_once(&mut self.published, field_text(raw));
            }
            "updated" | "modified" => set_once(&mut self.updated, field_text(raw)),
            "author" | "creator" => {
                let author = field_text(raw);
                if !author.is_empty() {
                    item.authors.push(author);
                }
            }
            "category" | "subject" => {
                let category = field_text(raw);
                if !category.is_empty() {
                    item.categories.push(category);
                }
            }
            _ => {}
        }
    }

    /// The item, if it has anything a reader could see.
    fn finish(mut self, language: Option<&str>, dates: &DateParser) -> Option<RawItem> {
        let item = &mut self.item;
        item.published = self.published.as_deref().and_then(|d| dates(d));
        item.updated = self.updated.as_deref().and_then(|d| dates(d));
        item.language = language.map(String::from);
        super::is_visible(item).then_some(self.item)
    }
}

fn set_once(slot: &mut Option<String>, value: String) {
    if slot.is_none() && !value.trim().is_empty() {
        *slot = Some(value);
    }
}

fn non_empty(value: String) -> Option<String> {
    (!value.trim().is_empty()).then_some(value)
}

/// A field's content as HTML: CDATA as written, escaped text unescaped (it is escaped HTML or
/// text), raw markup kept (it is HTML already).
fn field_html(raw: &str) -> String {
    let mut html = String::with_capacity(raw.len());
    for (segment, is_cdata) in cdata_segments(raw) {
        if is_cdata || segment.contains('<') {
            html.push_str(segment);
        } else {
            html.push_str(&html_escape::decode_html_entities(segment));
        }
    }
    html.trim().to_string()
}

/// A field's content as plain text: markup dropped, entities decoded, whitespace folded.
fn field_text(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    for (segment, is_cdata) in cdata_segments(raw) {
        if is_cdata {
            text.push_str(segment);
        } else {
            text.push_str(&html_escape::decode_html_entities(&strip_tags(segment)));
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Splits raw content into text and CDATA parts; a CDATA section cut off runs to the end.
fn cdata_segments(raw: &str) -> Vec<(&str, bool)> {
    let mut segments = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("<![CDATA[") {
        segments.push((&rest[..start], false));
        let body = &rest[start + "<![CDATA[".len()..];
        match body.find("]]>") {
            Some(end) => {
                segments.push((&body[..end], true));
                rest = &body[end + 3..];
            }
            None => {
                segments.push((body, true));
                rest = "";
            }
        }
    }
    segments.push((rest, false));
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn no_dates() -> DateParser {
        Arc::new(|_| None)
    }

    #[test]
    fn reads_atom_0_3() {
        let atom = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#" xml:lang="ru">
  <title>Кингисеппский район</title>
  <link rel="alternate" type="text/html" href="https://kingisepp.ru/"/>
  <modified>2026-11-24T12:00:00Z</modified>
  <entry>
    <title>Ремонт моста через Лугу завершён</title>
    <link rel="alternate" type="text/html" href="https://kingisepp.ru/news/1"/>
    <id>tag:kingisepp.ru,2026:1</id>
    <issued>2026-11-24T10:00:00+03:00</issued>
    <content type="text/html" mode="escaped">&lt;p&gt;Движение &amp;laquo;открыто&amp;raquo;&lt;/p&gt;</content>
  </entry>
</feed>"#;
        let dates: DateParser = Arc::new(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.with_timezone(&chrono::Utc))
        });
        let feed = parse_loose(atom, &dates);
        assert_eq!(feed.title.as_deref(), Some("Кингисеппский район"));
        assert_eq!(feed.link.as_deref(), Some("https://kingisepp.ru/"));
        assert_eq!(feed.items.len(), 1);
        let item = &feed.items[0];
        assert_eq!(
            item.title.as_deref(),
            Some("Ремонт моста через Лугу завершён")
        );
        assert_eq!(item.link.as_deref(), Some("https://kingisepp.ru/news/1"));
        assert_eq!(item.guid.as_deref(), Some("tag:kingisepp.ru,2026:1"));
        assert_eq!(
            item.content_html.as_deref(),
            Some("<p>Движение &laquo;открыто&raquo;</p>")
        );
        assert_eq!(
            item.published.map(|d| d.to_rfc3339()),
            Some("2026-11-24T07:00:00+00:00".into())
        );
    }

    #[test]
    fn keeps_the_items_of_a_feed_cut_off_midway() {
        let rss = "<rss version=\"2.0\"><channel><title>Канал</title><item><title>Первая</title><link>https://e.ru/1</link></item><item><title>Обрезанный фид</title><link>https://e.ru/2</link><description>Текст без конца";
        let feed = parse_loose(rss, &no_dates());
        let titles: Vec<_> = feed
            .items
            .iter()
            .map(|i| i.title.clone().unwrap())
            .collect();
        assert_eq!(titles, ["Первая", "Обрезанный фид"]);
        assert_eq!(
            feed.items[1].summary_html.as_deref(),
            Some("Текст без конца")
        );
    }

    #[test]
    fn an_item_cut_off_in_its_first_field_is_noise() {
        let feed = parse_loose("<rss><channel><item><title>яю", &no_dates());
        assert!(feed.items.is_empty());
    }

    #[test]
    fn survives_mismatched_tags_and_raw_html() {
        let rss = "<rss><channel><item><title>Новость</b></title><description><p>Абзац<br>второй</description><guid>g1</guid></item></channel></rss>";
        let feed = parse_loose(rss, &no_dates());
        assert_eq!(feed.items.len(), 1);
        let item = &feed.items[0];
        assert_eq!(item.title.as_deref(), Some("Новость</b>"));
        assert_eq!(item.summary_html.as_deref(), Some("<p>Абзац<br>второй"));
        assert_eq!(item.guid.as_deref(), Some("g1"));
    }

    #[test]
    fn cdata_and_enclosures() {
        let rss = r#"<rss><channel><item><title><![CDATA[Цены & тарифы]]></title><link>https://e.ru/?a=1&amp;b=2</link><enclosure url="https://e.ru/a.jpg" type="image/jpeg" length="123"/><category>Общество</category></item></channel></rss>"#;
        let feed = parse_loose(rss, &no_dates());
        let item = &feed.items[0];
        assert_eq!(item.title.as_deref(), Some("Цены & тарифы"));
        assert_eq!(item.link.as_deref(), Some("https://e.ru/?a=1&b=2"));
        assert_eq!(item.enclosures[0].length, Some(123));
        assert_eq!(item.categories, ["Общество"]);
    }

    #[test]
    fn nothing_to_find_is_empty() {
        assert!(
            parse_loose("<html><body>502 Bad Gateway</body></html>", &no_dates())
                .items
                .is_empty()
        );
        assert!(parse_loose("", &no_dates()).items.is_empty());
    }
}
