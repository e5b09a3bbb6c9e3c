//! Raw item to [`Entry`]: plain title, clean text, sanitized HTML, reader link and canonical URL,
//! a real UTC date.

pub mod article;
pub mod blocks;
pub mod canonical_url;
pub mod chrome;
pub mod dates;
pub mod language;
pub mod recurring;
pub mod text;
pub mod words;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::parse::{Enclosure, RawItem};
use chrome::ChromeRules;
use recurring::RecurringBlocks;

/// A normalized item: what clustering compares, topics read and feeds publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub source_id: String,
    /// The source's own item id, when it gave one.
    pub guid: Option<String>,
    /// The publisher's link as readers should follow it (tracking parameters dropped).
    pub link: Option<String>,
    /// The identity of [`Entry::link`]; two entries with the same one are the same article.
    pub canonical_url: Option<String>,
    pub title: String,
    /// Plain text, paragraphs separated by blank lines.
    pub text: String,
    /// Sanitized HTML.
    pub content_html: String,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub first_seen: DateTime<Utc>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub enclosures: Vec<Enclosure>,
    pub language: Option<String>,
}

impl Entry {
    /// An entry of plain text only, seen now: for `topic explain --text`, tests and benchmarks.
    pub fn from_text(source_id: &str, title: &str, text: &str) -> Entry {
        let now = Utc::now();
        Entry {
            source_id: source_id.to_string(),
            guid: None,
            link: None,
            canonical_url: None,
            title: title.to_string(),
            text: text.to_string(),
            content_html: String::new(),
            published: now,
            updated: None,
            first_seen: now,
            authors: Vec::new(),
            categories: Vec::new(),
            enclosures: Vec::new(),
            language: None,
        }
    }
}

/// What normalization needs to know about the source an item came from.
#[derive(Debug, Clone)]
pub struct SourceContext<'a> {
    pub source_id: &'a str,
    /// The URL the document was fetched from, for resolving relative links.
    pub base: Option<&'a Url>,
    /// The source's chrome besides the built-in rules: its `strip` list, what was learned.
    pub chrome: ChromeRules,
}

impl<'a> SourceContext<'a> {
    /// A context with the source's `strip` list (CSS selectors or phrases).
    pub fn new(source_id: &'a str, base: Option<&'a Url>, strip: &[String]) -> SourceContext<'a> {
        SourceContext {
            source_id,
            base,
            chrome: ChromeRules::from_strip(strip),
        }
    }
}

/// Normalizes the items of one poll of a source. First the source's memory of recurring
/// paragraphs learns from them, so that chrome every item carries goes even on a first poll.
pub fn normalize_items(
    items: &[RawItem],
    source: &SourceContext,
    memory: &mut RecurringBlocks,
    now: DateTime<Utc>,
) -> Vec<Entry> {
    let ids: Vec<u64> = items.iter().map(item_key).collect();
    memory.observe_all(&ids, |i| text::paragraphs(body_html(&items[i])));
    let context = SourceContext {
        chrome: source.chrome.clone().with_recurring(memory.recurring()),
        ..source.clone()
    };
    // Items are independent once the recurring paragraphs are known.
    let items: Vec<&RawItem> = items.iter().collect();
    crate::parallel::map_in_order(items, |item| normalize(item, &context, now))
        .into_iter()
        .flatten()
        .collect()
}

/// Tells an item from the others of its source in the recurring-paragraph memory.
fn item_key(item: &RawItem) -> u64 {
    let key = item
        .guid
        .as_deref()
        .or(item.link.as_deref())
        .or(item.title.as_deref())
        .unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// The item's article as HTML: the longer of content and summary (the other is usually its lead).
fn body_html(raw: &RawItem) -> &str {
    match (&raw.content_html, &raw.summary_html) {
        (Some(content), Some(summary)) if summary.len() > content.len() => summary,
        (Some(content), _) if !content.trim().is_empty() => content,
        (_, Some(summary)) => summary,
        (Some(content), None) => content,
        (None, None) => "",
    }
}

/// How far ahead of now a date may lie before it is taken for a mistake (a wrong time zone or
/// a scheduled-publication date), and replaced by the time we first saw the item.
const FUTURE_TOLERANCE_HOURS: i64 = 24;

/// Normalizes one item; `None` when it has nothing a reader could see (no title, text or link).
pub fn normalize(raw: &RawItem, source: &SourceContext, now: DateTime<Utc>) -> Option<Entry> {
    let link = raw
        .link
        .as_deref()
        .and_then(|l| canonical_url::reader_link(l, source.base));
    let canonical_url = link.as_ref().map(canonical_url::canonical_url);
    let base = link.as_ref().or(source.base);

    let title = raw
        .title
        .as_deref()
        .map(text::title_text)
        .unwrap_or_default();
    // A paragraph repeating the title is the page's heading, not text.
    let rules = source.chrome.clone().with_title(&title);
    let body = chrome::strip_chrome(body_html(raw), &rules);
    let text = text::text_of(&body.paragraphs);
    let content_html = text::sanitize_html(&body.html, base);
    let mut title = title;
    if title.is_empty() {
        title = first_words(&text, 12);
    }
    if title.is_empty() && text.is_empty() && link.is_none() {
        return None;
    }
    let published = raw
        .published
        .or(raw.updated)
        .filter(|date| *date <= now + Duration::hours(FUTURE_TOLERANCE_HOURS))
        .unwrap_or(now);
    Some(Entry {
        source_id: source.source_id.to_string(),
        guid: raw
            .guid
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string),
        link: link.map(String::from),
        canonical_url,
        content_html,
        published,
        updated: raw.updated,
        first_seen: now,
        authors: raw
            .authors
            .iter()
            .map(|a| text::clean_line(a))
            .filter(|a| !a.is_empty())
            .collect(),
        categories: raw
            .categories
            .iter()
            .map(|c| text::clean_line(c))
            .filter(|c| !c.is_empty())
            .collect(),
        enclosures: raw.enclosures.clone(),
        language: language::detect_language(&title, &text, raw.language.as_deref()),
        title,
        text,
    })
}

/// A stand-in title for items that have none: the first words of the text.
fn first_words(text: &str, count: usize) -> String {
    let mut words = text.split_whitespace();
    let mut title: Vec<&str> = words.by_ref().take(count).collect();
    if words.next().is_some() {
        title.push("…");
    }
    title.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn item() -> RawItem {
        RawItem {
            guid: Some(" g-1 ".into()),
            link: Some("/news/1/?utm_source=rss#c".into()),
            title: Some("&laquo;Время&raquo;: новости".into()),
            summary_html: Some("<p>Лид</p>".into()),
            content_html: Some("<p>Лид</p><p>Полный <b>текст</b>.</p>".into()),
            published: Some(now() - Duration::hours(3)),
            ..RawItem::default()
        }
    }

    /// A big poll is normalized on several threads: the entries are the same, in the same order,
    /// as one item at a time, with the chrome every item carries learned and dropped.
    #[test]
    fn a_big_poll_comes_out_as_one_item_at_a_time_would() {
        let places = [
            "Гатчине",
            "Выборге",
            "Тихвине",
            "Луге",
            "Кириши",
            "Сосновом Бору",
        ];
        let matters = [
            "дорог",
            "школ",
            "НКО",
            "бюджета",
            "транспорта",
            "культуры",
            "спорта",
        ];
        let text = |k: usize| {
            format!(
                "В {} прошло заседание по вопросам {} и {}: обсудили {k} обращений.",
                places[k % places.len()],
                matters[k % matters.len()],
                matters[k / 7 % matters.len()],
            )
        };
        let items: Vec<RawItem> = (0..crate::parallel::PARALLEL_FROM * 2 + 7)
            .map(|k| RawItem {
                guid: Some(format!("g-{k}")),
                link: Some(format!("/news/{k}/")),
                title: Some(format!("Новость №{k}")),
                content_html: Some(format!(
                    "<p>{}</p><p>Подписывайтесь на наш канал «Вести района»</p>",
                    text(k)
                )),
                published: Some(now() - Duration::minutes(k as i64)),
                ..RawItem::default()
            })
            .collect();
        let base = Url::parse("https://rayon.example/rss").unwrap();
        let ctx = SourceContext::new("rayon", Some(&base), &[]);
        let entries = normalize_items(&items, &ctx, &mut RecurringBlocks::default(), now());
        assert_eq!(entries.len(), items.len());
        for (k, entry) in entries.iter().enumerate() {
            assert_eq!(entry.title, format!("Новость №{k}"));
            assert_eq!(entry.text, text(k), "the chrome is dropped");
        }
        let mut memory = RecurringBlocks::default();
        for item in &items {
            memory.observe(item_key(item), &text::paragraphs(body_html(item)));
        }
        let one_by_one = SourceContext {
            chrome: ctx.chrome.clone().with_recurring(memory.recurring()),
            ..ctx.clone()
        };
        let expected: Vec<Entry> = items
            .iter()
            .filter_map(|item| normalize(item, &one_by_one, now()))
            .collect();
        assert_eq!(entries, expected);
    }

    #[test]
    fn normalizes_every_field() {
        let base = Url::parse("https://www.vremya.ru/rss").unwrap();
        let ctx = SourceContext::new("vremya", Some(&base), &[]);
        let entry = normalize(&item(), &ctx, now()).unwrap();
        assert_eq!(entry.guid.as_deref(), Some("g-1"));
        assert_eq!(entry.link.as_deref(), Some("https://www.vremya.ru/news/1/"));
        assert_eq!(
            entry.canonical_url.as_deref(),
            Some("https://vremya.ru/news/1")
        );
        assert_eq!(entry.title, "«Время»: новости");
        assert_eq!(entry.text, "Лид\n\nПолный текст.");
        assert_eq!(entry.content_html, "<p>Лид</p><p>Полный <b>текст</b>.</p>");
        assert_eq!(entry.published, now() - Duration::hours(3));
        assert_eq!(entry.first_seen, now());
    }

    #[test]
    fn missing_or_far_future_dates_become_first_seen() {
        let ctx = SourceContext::new("s", None, &[]);
        let mut raw = item();
        raw.published = None;
        assert_eq!(normalize(&raw, &ctx, now()).unwrap().published, now());
        raw.published = Some(now() + Duration::days(3));
        assert_eq!(normalize(&raw, &ctx, now()).unwrap().published, now());
        raw.published = Some(now() + Duration::hours(2));
        assert_eq!(
            normalize(&raw, &ctx, now()).unwrap().published,
            now() + Duration::hours(2)
        );
    }

    #[test]
    fn empty_items_are_dropped_and_untitled_ones_get_a_title() {
        let ctx = SourceContext::new("s", None, &[]);
        assert!(normalize(&RawItem::default(), &ctx, now()).is_none());
        let raw = RawItem {
            summary_html: Some("Один два три четыре пять шесть семь восемь девять десять одиннадцать двенадцать тринадцать".into()),
            ..RawItem::default()
        };
        let entry = normalize(&raw, &ctx, now()).unwrap();
        assert_eq!(
            entry.title,
            "Один два три четыре пять шесть семь восемь девять десять одиннадцать двенадцать …"
        );
    }
}
