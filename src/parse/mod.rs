//! Bytes to raw items: RSS 0.9x/1.0/2.0, Atom and JSON Feed through feed-rs, news list pages
//! through CSS selectors. The parse stage keeps what the source wrote; cleaning it up is
//! normalize's job.
//!
//! No feed a reader can show may be lost: [`repair`] fixes what makes feed-rs reject a feed, and
//! when feed-rs still fails or sees items without any field, [`loose`] reads what it can.

mod html;
pub mod loose;
pub mod repair;
mod yandex;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use url::Url;

pub use html::parse_html_list;

/// Turns a date as a source wrote it into UTC; supplied by the caller, who knows the source's
/// time zone (feed-rs only understands RFC 2822 and RFC 3339 by itself).
pub type DateParser = Arc<dyn Fn(&str) -> Option<DateTime<Utc>> + Send + Sync>;

/// One item as the source published it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawItem {
    /// The source's own identifier (RSS guid, Atom id, JSON Feed id), when it gave one.
    pub guid: Option<String>,
    pub link: Option<String>,
    /// The title as written: it may still hold entities or markup.
    pub title: Option<String>,
    /// Short description or lead, as HTML.
    pub summary_html: Option<String>,
    /// Full content, as HTML.
    pub content_html: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub enclosures: Vec<Enclosure>,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enclosure {
    pub url: String,
    pub mime_type: Option<String>,
    pub length: Option<u64>,
}

/// A feed's own metadata and its items.
#[derive(Debug, Clone, Default)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub link: Option<String>,
    pub language: Option<String>,
    pub updated: Option<DateTime<Utc>>,
    /// RSS `<ttl>`: minutes the feed asks readers to wait between polls.
    pub ttl_minutes: Option<u32>,
    pub items: Vec<RawItem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    Feed(String),
    #[error("the parser crashed on this document: {0}")]
    Panic(String),
    #[error("the item selector \"{selector}\" matched nothing on the page")]
    NoItems { selector: String },
}

/// feed-rs calls the id generator only when an item has no id of its own; this marker lets us
/// tell such items apart instead of trusting feed-rs's generated (possibly random) ids.
const NO_GUID: &str = "\u{0}vestnik:no-guid";

/// Parses UTF-8 feed text. `base` resolves relative links. A panic inside the parser is caught
/// and returned as this document's error, so a hostile feed never takes the daemon down.
pub fn parse_feed(
    text: &str,
    base: Option<&Url>,
    dates: DateParser,
) -> Result<ParsedFeed, ParseError> {
    let is_json = text.trim_start().starts_with('{');
    let text = if is_json {
        std::borrow::Cow::Borrowed(text)
    } else {
        repair::repair_xml(text)
    };
    let feed_rs_dates = Arc::clone(&dates);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base.map(Url::as_str))
        .id_generator(|_, _, _| NO_GUID.to_string())
        .timestamp_parser(move |s| feed_rs_dates(s))
        .build();
    let parsed = catch_unwind(AssertUnwindSafe(|| parser.parse(text.as_bytes())))
        .map_err(|panic| ParseError::Panic(panic_message(panic)))
        .and_then(|result| result.map_err(|e| ParseError::Feed(e.to_string())))
        .map(from_feed_rs);
    if is_json {
        return parsed;
    }
    let mut feed = match parsed {
        Ok(feed) if feed.items.iter().all(is_visible) && !feed.items.is_empty() => Ok(feed),
        Ok(feed) => {
            let loose = loose::parse_loose(&text, &dates);
            let visible = |f: &ParsedFeed| f.items.iter().filter(|i| is_visible(i)).count();
            Ok(if visible(&loose) > visible(&feed) {
                loose
            } else {
                feed
            })
        }
        Err(error) => {
            let loose = loose::parse_loose(&text, &dates);
            if loose.items.is_empty() {
                Err(error)
            } else {
                tracing::debug!(error = %error, items = loose.items.len(), "feed-rs failed; read leniently");
                Ok(loose)
            }
        }
    }?;
    if yandex::mentions_full_text(&text) {
        yandex::merge_full_texts(&text, &mut feed.items);
    }
    Ok(feed)
}

/// Whether an item has anything a reader could show.
fn is_visible(item: &RawItem) -> bool {
    [
        &item.title,
        &item.link,
        &item.summary_html,
        &item.content_html,
    ]
    .iter()
    .any(|f| f.as_deref().is_some_and(|v| !v.trim().is_empty()))
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

fn from_feed_rs(feed: feed_rs::model::Feed) -> ParsedFeed {
    let language = feed.language.clone();
    let items = feed
        .entries
        .into_iter()
        .map(|entry| {
            let link = preferred_link(&entry.links);
            let content_html = entry.content.as_ref().and_then(|c| c.body.clone());
            RawItem {
                guid: (entry.id != NO_GUID && !entry.id.trim().is_empty()).then_some(entry.id),
                link,
                title: entry.title.map(|t| text_as_html(&t)),
                summary_html: entry.summary.map(|t| text_as_html(&t)),
                content_html,
                published: entry.published,
                updated: entry.updated,
                authors: entry.authors.into_iter().filter_map(|p| p.name).collect(),
                categories: entry
                    .categories
                    .into_iter()
                    .map(|c| c.label.unwrap_or(c.term))
                    .collect(),
                enclosures: entry
                    .media
                    .iter()
                    .flat_map(|m| &m.content)
                    .filter_map(|c| {
                        Some(Enclosure {
                            url: c.url.as_ref()?.to_string(),
                            mime_type: c.content_type.as_ref().map(|m| m.to_string()),
                            length: c.size,
                        })
                    })
                    .collect(),
                language: entry.language.or_else(|| language.clone()),
            }
        })
        .collect();
    ParsedFeed {
        title: feed.title.map(|t| text_as_html(&t)),
        link: preferred_link(&feed.links),
        language,
        updated: feed.updated,
        ttl_minutes: feed.ttl,
        items,
    }
}

/// The link a reader would follow: `rel="alternate"` (or no rel) first, then any.
fn preferred_link(links: &[feed_rs::model::Link]) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| links.first())
        .map(|l| l.href.clone())
}

/// Text constructs come as plain text or HTML; downstream everything is HTML, so plain text is
/// escaped here rather than misread later ("a < b" must stay text).
fn text_as_html(text: &feed_rs::model::Text) -> String {
    if text.content_type.subty() == "plain" {
        html_escape::encode_text(&text.content).into_owned()
    } else {
        text.content.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_dates() -> DateParser {
        Arc::new(|_| None)
    }

    #[test]
    fn reads_rss_items_and_tells_missing_guids() {
        let rss = r#"<?xml version="1.0" encoding="windows-1251"?>
<rss version="2.0"><channel><title>Время</title><link>https://vremya.ru/</link>
<item><title>Первая &amp; главная</title><link>https://vremya.ru/news/1?a=1&b=2</link>
<guid isPermaLink="false">v-1</guid><description>&lt;p&gt;Лид&lt;/p&gt;</description>
<pubDate>Tue, 24 Nov 2026 10:15:00 +0300</pubDate><category>Общество</category></item>
<item><title>Вторая</title><link>/news/2</link></item>
</channel></rss>"#;
        let rfc2822: DateParser = Arc::new(|s| {
            DateTime::parse_from_rfc2822(s)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        });
        let feed =
            parse_feed(rss, Url::parse("https://vremya.ru/").ok().as_ref(), rfc2822).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Время"));
        assert_eq!(feed.items.len(), 2);
        let first = &feed.items[0];
        assert_eq!(first.guid.as_deref(), Some("v-1"));
        assert_eq!(
            first.link.as_deref(),
            Some("https://vremya.ru/news/1?a=1&b=2")
        );
        assert_eq!(first.categories, ["Общество"]);
        assert_eq!(first.summary_html.as_deref(), Some("<p>Лид</p>"));
        assert_eq!(
            first.published.map(|d| d.to_rfc3339()),
            Some("2026-11-24T07:15:00+00:00".to_string())
        );
        assert_eq!(feed.items[1].guid, None);
        assert_eq!(
            feed.items[1].link.as_deref(),
            Some("https://vremya.ru/news/2")
        );
    }

    #[test]
    fn the_date_parser_is_consulted_for_dates_feed_rs_cannot_read() {
        let rss = "<rss version=\"2.0\"><channel><item><title>x</title><pubDate>24.11.2026 10:15</pubDate></item></channel></rss>";
        let fixed = DateTime::parse_from_rfc3339("2026-11-24T07:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let parser: DateParser = Arc::new(move |s| (s == "24.11.2026 10:15").then_some(fixed));
        let feed = parse_feed(rss, None, parser).unwrap();
        assert_eq!(feed.items[0].published, Some(fixed));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for garbage in [
            "",
            "not xml at all",
            "<html><body>502 Bad Gateway</body></html>",
            "{\"version\": 5}",
            "<rss><channel><item>",
        ] {
            assert!(
                parse_feed(garbage, None, no_dates()).is_err(),
                "{garbage:?}"
            );
        }
    }

    fn titles(feed: &ParsedFeed) -> Vec<String> {
        feed.items
            .iter()
            // Titles are HTML here; the tests' titles hold entities but no markup.
            .map(|i| {
                html_escape::decode_html_entities(i.title.as_deref().unwrap_or_default())
                    .trim()
                    .to_string()
            })
            .collect()
    }

    fn rss(items: &str) -> String {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Канал</title><link>https://e.ru/</link>{items}</channel></rss>")
    }

    #[test]
    fn a_second_declaration_midway_is_dropped_not_a_parser_panic() {
        // Found by the charset_and_feed fuzzer: feed-rs passes a later declaration's encoding
        // to quick-xml, which panics when the encoding changes midway.
        let glued = rss("<item><title>Первая</title></item><?xml version=\"1.0\" encoding=\"windows-1251\"?><item><title>Вторая</title></item>");
        let feed = parse_feed(&glued, None, no_dates()).unwrap();
        assert_eq!(titles(&feed), ["Первая", "Вторая"]);
        // parse_feed would survive the panic (and read the feed leniently): feed-rs itself
        // must read the repaired text, outside any catch_unwind.
        let repaired = repair::repair_xml(&glued);
        let direct = feed_rs::parser::parse(repaired.as_bytes()).unwrap();
        assert_eq!(direct.entries.len(), 2);
    }

    #[test]
    fn what_the_fuzzer_found_reads_without_a_panic() {
        // The charset_and_feed fuzzer's crashes, kept as seeds: after repair, feed-rs must read
        // them (or refuse them) without panicking, outside any catch_unwind.
        let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/charset_and_feed");
        let mut checked = 0;
        for file in std::fs::read_dir(seeds).unwrap().flatten() {
            if !file
                .file_name()
                .to_string_lossy()
                .starts_with("regression-")
            {
                continue;
            }
            let data = std::fs::read(file.path()).unwrap();
            // The fuzz target's first byte picks a declared charset when below 4.
            let body = match data.split_first() {
                Some((0..=3, rest)) => rest,
                _ => &data[..],
            };
            let decoded = crate::fetch::decode(body, None);
            let repaired = repair::repair_xml(&decoded.text);
            let _ = feed_rs::parser::parse(repaired.as_bytes());
            checked += 1;
        }
        assert!(checked >= 2);
    }

    #[test]
    fn feeds_that_feed_rs_rejects_are_read_like_a_lenient_reader_would() {
        // <rss> without a version.
        let no_version = rss("<item><title>Без версии</title><link>https://e.ru/1</link></item>")
            .replace("<rss version=\"2.0\">", "<rss>");
        assert_eq!(
            titles(&parse_feed(&no_version, None, no_dates()).unwrap()),
            ["Без версии"]
        );
        // A bare ampersand in a title and a link.
        let ampersand =
            rss("<item><title>Цены & тарифы</title><link>https://e.ru/?a=1&b=2</link></item>");
        let feed = parse_feed(&ampersand, None, no_dates()).unwrap();
        assert_eq!(titles(&feed), ["Цены & тарифы"]);
        assert_eq!(feed.items[0].link.as_deref(), Some("https://e.ru/?a=1&b=2"));
        // HTML entities XML does not declare, in a title and in a description.
        let entities = rss("<item><title>Новости &laquo;дня&raquo;&nbsp;&mdash; итоги</title><description>&lt;p&gt;Кратко&hellip;&lt;/p&gt;</description></item>");
        let feed = parse_feed(&entities, None, no_dates()).unwrap();
        // (A no-break space: making it a plain one is normalize's job.)
        assert_eq!(titles(&feed), ["Новости «дня»\u{a0}— итоги"]);
        assert_eq!(
            feed.items[0].summary_html.as_deref(),
            Some("<p>Кратко…</p>")
        );
        // Control characters.
        let control = rss("<item><title>Заголовок\u{b}с управляющим\u{1}символом</title></item>");
        assert_eq!(
            titles(&parse_feed(&control, None, no_dates()).unwrap()),
            ["Заголовокс управляющимсимволом"]
        );
        // A CDATA title keeps its ampersand as it is.
        let cdata = rss("<item><title><![CDATA[Цены & тарифы]]></title></item>");
        assert_eq!(
            titles(&parse_feed(&cdata, None, no_dates()).unwrap()),
            ["Цены & тарифы"]
        );
    }

    #[test]
    fn atom_0_3_and_cut_off_feeds_are_not_lost() {
        let atom03 = r#"<?xml version="1.0" encoding="utf-8"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Старый Atom</title><entry><title>Запись Atom 0.3</title><link rel="alternate" type="text/html" href="https://e.ru/a03"/><id>tag:e.ru,2026:1</id><issued>2026-11-24T10:00:00Z</issued><summary>Кратко</summary></entry></feed>"#;
        let feed = parse_feed(atom03, None, no_dates()).unwrap();
        assert_eq!(titles(&feed), ["Запись Atom 0.3"]);
        assert_eq!(feed.items[0].link.as_deref(), Some("https://e.ru/a03"));
        assert_eq!(feed.items[0].guid.as_deref(), Some("tag:e.ru,2026:1"));
        let cut = rss("<item><title>Целая</title><link>https://e.ru/1</link></item><item><title>Обрезанный фид</title><description>Текст без конца");
        let cut = &cut[..cut.find("</channel>").unwrap()];
        assert_eq!(
            titles(&parse_feed(cut, None, no_dates()).unwrap()),
            ["Целая", "Обрезанный фид"]
        );
    }

    #[test]
    fn the_feed_ttl_is_read() {
        let feed = parse_feed(
            &rss("<ttl>90</ttl><item><title>x</title></item>"),
            None,
            no_dates(),
        )
        .unwrap();
        assert_eq!(feed.ttl_minutes, Some(90));
    }

    #[test]
    fn json_feed_and_atom() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"БелТА","items":[{"id":"b1","url":"https://belta.by/1","title":"Минск","content_html":"<p>Текст</p>","date_published":"2026-11-24T10:00:00+03:00"}]}"#;
        let feed = parse_feed(json, None, no_dates()).unwrap();
        assert_eq!(feed.items[0].guid.as_deref(), Some("b1"));
        assert_eq!(feed.items[0].content_html.as_deref(), Some("<p>Текст</p>"));
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>47</title><entry><id>tag:47news.ru,2026:1</id><title type="text">a &lt; b</title><link rel="alternate" href="https://47news.ru/1"/><updated>2026-11-24T12:05:00+03:00</updated></entry></feed>"#;
        let feed = parse_feed(atom, None, no_dates()).unwrap();
        assert_eq!(feed.items[0].title.as_deref(), Some("a &lt; b"));
        assert_eq!(feed.items[0].link.as_deref(), Some("https://47news.ru/1"));
    }
}
