//! Main-content extraction: an article page to the HTML of its article.
//!
//! dom_smoothie (a port of Mozilla's Readability) finds the element that holds the article. It
//! misses text that a layout spreads over sibling containers (Tilda pages, old table layouts),
//! and it keeps what sits inside the article element (share blocks, credits). So its answer is
//! used as a seed on the page's own paragraphs ([`super::blocks`]):
//! - paragraphs in navigation, sidebars, footers, share and comment widgets are dropped — an
//!   element counts as such by its tag or class, unless it also holds the article's text;
//! - paragraphs that read like article prose (long, few links, ending a sentence) next to the
//!   seed, across at most a few other paragraphs, are added.
//!
//! The result is rebuilt from those paragraphs, keeping their markup. Chrome that is left inside
//! (promos, credits, counters) is for [`super::chrome`] to remove, as in feed content.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::blocks::{self, Block};
use super::chrome::{self, ChromeRules, Look};
use crate::parse::{DateParser, RawItem};

/// How many non-article paragraphs may separate article paragraphs that belong together.
const MAX_GAP: usize = 4;
/// Words a paragraph needs before it is taken for article prose on its own.
const PROSE_MIN_WORDS: usize = 10;
/// The highest share of link text in article prose.
const PROSE_MAX_LINK_DENSITY: f64 = 0.3;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("no article text found on the page")]
    NoArticle,
}

/// An article page, extracted.
#[derive(Debug, Clone, Default)]
pub struct Article {
    pub title: Option<String>,
    /// The article's HTML, chrome that sits inside it still included.
    pub content_html: String,
    pub published: Option<DateTime<Utc>>,
    /// The page's canonical link, else the URL it was read from.
    pub link: Option<String>,
    /// The language the page declares.
    pub language: Option<String>,
}

impl Article {
    /// The article as an item, for sources and `inspect` runs that read single pages.
    pub fn into_item(self) -> RawItem {
        RawItem {
            link: self.link,
            title: self
                .title
                .map(|t| html_escape::encode_text(&t).into_owned()),
            content_html: Some(self.content_html),
            published: self.published,
            language: self.language,
            ..RawItem::default()
        }
    }
}

/// Extracts the article of a page; `url` (where the page came from) resolves its links.
pub fn extract_article(
    page: &str,
    url: Option<&Url>,
    dates: &DateParser,
) -> Result<Article, ExtractError> {
    let readable = dom_smoothie::Readability::new(page, url.map(Url::as_str), None)
        .ok()
        .and_then(|mut r| r.parse().ok());
    let seed_texts: HashSet<String> = readable
        .as_ref()
        .map(|a| {
            blocks::blocks(&Html::parse_fragment(&a.content))
                .into_iter()
                .map(|b| b.text)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();

    let document = Html::parse_document(page);
    let found = blocks::blocks(&document);
    let title = readable
        .as_ref()
        .map(|a| a.title.trim().to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| first_text(&document, "h1"));
    let rules = match &title {
        Some(title) => ChromeRules::default().with_title(title),
        None => ChromeRules::default(),
    };
    let prose: Vec<bool> = found.iter().map(|b| is_prose(b, &rules)).collect();
    let picked: Vec<bool> = found.iter().map(|b| seed_texts.contains(&b.text)).collect();
    let boilerplate = boilerplate_blocks(&document, &found, &prose, &picked);

    let mut seeds: Vec<usize> = (0..found.len())
        .filter(|&i| picked[i] && prose[i] && !boilerplate[i])
        .collect();
    if seeds.is_empty() {
        // Readability found nothing usable: start from the longest stretch of prose.
        let longest = (0..found.len())
            .filter(|&i| prose[i] && !boilerplate[i])
            .max_by_key(|&i| found[i].text.chars().count());
        seeds.extend(longest);
    }
    let (Some(&first), Some(&last)) = (seeds.first(), seeds.last()) else {
        return Err(ExtractError::NoArticle);
    };
    let mut selected = vec![false; found.len()];
    for i in 0..found.len() {
        let inside = (first..=last).contains(&i);
        selected[i] =
            !boilerplate[i] && !found[i].text.is_empty() && (picked[i] || (inside && prose[i]));
    }
    // Grow over neighbouring prose, both ways.
    let accepts = |i: usize| prose[i] && !boilerplate[i];
    let end = grow(last + 1..found.len(), &found, accepts, &mut selected).unwrap_or(last);
    let start = grow((0..first).rev(), &found, accepts, &mut selected).unwrap_or(first);
    // Pictures between the first and the last article paragraph belong to the article.
    for i in start..=end {
        if found[i].text.is_empty() && found[i].has_image && !boilerplate[i] {
            selected[i] = true;
        }
    }

    let content_html = rebuild(&document, &found, &selected);
    if content_html.is_empty() {
        return Err(ExtractError::NoArticle);
    }
    let published = readable
        .as_ref()
        .and_then(|a| a.published_time.as_deref())
        .and_then(|d| dates(d))
        .or_else(|| page_date(&document, &found, start, dates));
    let link = canonical_link(&document, url).or_else(|| url.map(Url::to_string));
    let language = document
        .root_element()
        .value()
        .attr("lang")
        .map(str::to_string)
        .or_else(|| readable.as_ref().and_then(|a| a.lang.clone()));
    Ok(Article {
        title,
        content_html,
        published,
        link,
        language,
    })
}

/// Selects the blocks `accepts` takes along `order`, stepping over at most [`MAX_GAP`] other
/// text blocks in a row; returns the last block taken.
fn grow(
    order: impl Iterator<Item = usize>,
    found: &[Block],
    accepts: impl Fn(usize) -> bool,
    selected: &mut [bool],
) -> Option<usize> {
    let mut reached = None;
    let mut gap = 0;
    for i in order {
        if found[i].text.is_empty() {
            continue;
        }
        if accepts(i) {
            selected[i] = true;
            reached = Some(i);
            gap = 0;
        } else {
            gap += 1;
            if gap > MAX_GAP {
                break;
            }
        }
    }
    reached
}

/// Article prose: a sentence-ending paragraph of some length, mostly not links, not chrome.
fn is_prose(block: &Block, rules: &ChromeRules) -> bool {
    let ends_sentence = block
        .text
        .trim_end()
        .ends_with(['.', '!', '?', '…', '»', '"', ')']);
    block.words() >= PROSE_MIN_WORDS
        && block.link_density() < PROSE_MAX_LINK_DENSITY
        && ends_sentence
        && !block.in_heading
        && chrome::look(block, rules) == Look::Text
}

/// Class and id words of elements that hold site furniture.
const FURNITURE: &[&str] = &[
    "comment",
    "footer",
    "sidebar",
    "side",
    "aside",
    "menu",
    "nav",
    "share",
    "social",
    "related",
    "breadcrumb",
    "banner",
    "advert",
    "reklama",
    "cookie",
    "popup",
    "modal",
    "subscribe",
    "widget-area",
    "pagination",
    "pager",
    "tags",
    "rating",
    "likes",
    "copyright",
];

/// Marks the blocks that sit in navigation, sidebars, footers, share or comment widgets. An
/// element that also holds readability's article prose is the article's wrapper, not furniture.
fn boilerplate_blocks(
    document: &Html,
    found: &[Block],
    prose: &[bool],
    picked: &[bool],
) -> Vec<bool> {
    let mut article_ancestors: HashSet<NodeId> = HashSet::new();
    for (i, block) in found.iter().enumerate() {
        if picked[i] && prose[i] {
            let mut node = document.tree.get(block.container);
            while let Some(n) = node {
                if !article_ancestors.insert(n.id()) {
                    break;
                }
                node = n.parent();
            }
        }
    }
    let mut verdicts: HashMap<NodeId, bool> = HashMap::new();
    found
        .iter()
        .map(|block| {
            let mut node = document.tree.get(block.container);
            while let Some(n) = node {
                if let Some(&known) = verdicts.get(&n.id()) {
                    return known;
                }
                if let Some(element) = ElementRef::wrap(n) {
                    if !article_ancestors.contains(&n.id()) && is_furniture(element) {
                        verdicts.insert(block.container, true);
                        return true;
                    }
                }
                node = n.parent();
            }
            verdicts.insert(block.container, false);
            false
        })
        .collect()
}

fn is_furniture(element: ElementRef) -> bool {
    let value = element.value();
    if matches!(value.name(), "nav" | "aside" | "footer" | "form" | "header") {
        return true;
    }
    let names = value
        .attr("class")
        .into_iter()
        .chain(value.attr("id"))
        .chain(value.attr("role"));
    names
        .flat_map(|n| n.split_whitespace())
        .flat_map(|token| token.split(['-', '_']))
        .map(str::to_ascii_lowercase)
        .any(|part| FURNITURE.iter().any(|f| part.starts_with(f)) || part == "navigation")
}

/// Element names that can be emitted whole when every paragraph in them is article text.
const WHOLE: &[&str] = &[
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tr",
    "figure",
];

/// The selected paragraphs as HTML, in page order. A paragraph goes out as its own element
/// (`<p>`, a list, a table, a quote) when all of that element is selected, else wrapped in `<p>`.
fn rebuild(document: &Html, found: &[Block], selected: &[bool]) -> String {
    // For each element: how many text blocks it holds, and how many of them are selected.
    let mut counts: HashMap<NodeId, (usize, usize)> = HashMap::new();
    for (block, &keep) in found.iter().zip(selected) {
        if block.text.is_empty() {
            continue;
        }
        let mut node = document.tree.get(block.container);
        while let Some(n) = node {
            let entry = counts.entry(n.id()).or_default();
            entry.0 += 1;
            entry.1 += usize::from(keep);
            node = n.parent();
        }
    }
    let mut out = String::new();
    let mut emitted: HashSet<NodeId> = HashSet::new();
    for (block, _) in found.iter().zip(selected).filter(|(_, keep)| **keep) {
        let mut unit = None;
        let mut node = document.tree.get(block.container);
        while let Some(n) = node {
            let whole = ElementRef::wrap(n).is_some_and(|e| WHOLE.contains(&e.value().name()))
                && counts
                    .get(&n.id())
                    .is_none_or(|(total, kept)| total == kept);
            if !whole {
                break;
            }
            unit = Some(n.id());
            node = n.parent();
        }
        match unit {
            Some(id) => {
                if emitted.insert(id) {
                    out.push_str(&blocks::node_html(document, id));
                }
            }
            None => {
                out.push_str("<p>");
                for &id in &block.nodes {
                    out.push_str(&blocks::node_html(document, id));
                }
                out.push_str("</p>");
            }
        }
    }
    out
}

fn first_text(document: &Html, selector: &str) -> Option<String> {
    let selector = Selector::parse(selector).ok()?;
    let element = document.select(&selector).next()?;
    let text = super::text::clean_line(&element.text().collect::<String>());
    (!text.is_empty()).then_some(text)
}

fn canonical_link(document: &Html, url: Option<&Url>) -> Option<String> {
    let selector = Selector::parse(r#"link[rel="canonical"], meta[property="og:url"]"#).ok()?;
    document.select(&selector).find_map(|e| {
        let href = e
            .value()
            .attr("href")
            .or_else(|| e.value().attr("content"))?;
        let resolved = match url {
            Some(base) => base.join(href.trim()).ok()?,
            None => Url::parse(href.trim()).ok()?,
        };
        matches!(resolved.scheme(), "http" | "https").then(|| resolved.to_string())
    })
}

/// The page's date when no metadata gives it: a `<time datetime>`, else the first short line
/// before the article that reads as a date.
fn page_date(
    document: &Html,
    found: &[Block],
    article_start: usize,
    dates: &DateParser,
) -> Option<DateTime<Utc>> {
    let selector = Selector::parse("time[datetime]").ok()?;
    if let Some(date) = document
        .select(&selector)
        .filter_map(|t| t.value().attr("datetime"))
        .find_map(|d| dates(d))
    {
        return Some(date);
    }
    found[..article_start.min(found.len())]
        .iter()
        .rev()
        .filter(|b| b.words() <= 8 && b.text.chars().any(|c| c.is_ascii_digit()))
        .find_map(|b| date_in_line(&b.text, dates))
}

/// A date in a short line, perhaps after a label or before a counter: "Опубликовано: 20.11.2026
/// 10:12", "24.11.2026 Просмотров: 341".
fn date_in_line(line: &str, dates: &DateParser) -> Option<DateTime<Utc>> {
    let tokens: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '|' || c == '·')
        .filter(|t| !t.is_empty())
        .collect();
    for start in 0..tokens.len().min(3) {
        for end in (start + 1..=tokens.len()).rev() {
            if let Some(date) = dates(&tokens[start..end].join(" ")) {
                return Some(date);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn no_dates() -> DateParser {
        Arc::new(|_| None)
    }

    const PAGE: &str = r#"<html lang="ru"><head><title>Новость — Сайт</title>
<link rel="canonical" href="/news/1/"></head><body>
<header><nav><ul><li><a href="/">Главная</a></li><li><a href="/news/">Новости</a></li></ul></nav></header>
<main><h1>В районе открыли школу</h1><span class="date">24.11.2026</span>
<div class="t-text">Первый абзац новости, в котором рассказано о самом главном событии дня.</div>
<div class="promo">Подписывайтесь на наш Telegram-канал!</div>
<div class="t-text">Второй абзац новости, где подробности события изложены обстоятельно и спокойно.<br><br>Третий абзац новости: цитата директора и планы на будущий учебный год.</div>
<div class="share">Поделиться: <a href="https://vk.com/share">ВКонтакте</a></div></main>
<aside class="sidebar"><p>Самое читаемое за неделю в нашем районе, подборка редакции для вас.</p></aside>
<footer><p>© 2026 Газета. Все права защищены. При использовании материалов ссылка обязательна.</p></footer>
</body></html>"#;

    #[test]
    fn finds_the_article_and_its_metadata() {
        let url = Url::parse("https://gazeta.ru/news/1/?utm_source=x").unwrap();
        let dates: DateParser = Arc::new(|s| {
            (s == "24.11.2026").then(|| {
                DateTime::parse_from_rfc3339("2026-11-23T21:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc)
            })
        });
        let article = extract_article(PAGE, Some(&url), &dates).unwrap();
        let text = super::super::text::paragraphs(&article.content_html);
        assert!(
            text.iter().any(|p| p.starts_with("Первый абзац")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|p| p.starts_with("Третий абзац")),
            "{text:?}"
        );
        assert!(
            !text.iter().any(|p| p.contains("Самое читаемое")),
            "{text:?}"
        );
        assert!(!text.iter().any(|p| p.contains("Все права")), "{text:?}");
        assert!(!text.iter().any(|p| p.contains("Главная")), "{text:?}");
        assert_eq!(article.link.as_deref(), Some("https://gazeta.ru/news/1/"));
        assert_eq!(article.language.as_deref(), Some("ru"));
        assert_eq!(
            article.published.map(|d| d.to_rfc3339()),
            Some("2026-11-23T21:00:00+00:00".to_string())
        );
    }

    #[test]
    fn a_page_without_prose_is_an_error() {
        let page = "<html><body><nav><a href='/'>Главная</a></nav><p>Мало.</p></body></html>";
        assert!(matches!(
            extract_article(page, None, &no_dates()),
            Err(ExtractError::NoArticle)
        ));
    }

    #[test]
    fn dates_are_found_in_labelled_lines() {
        let dates: DateParser =
            Arc::new(|s| (s == "20.11.2026 10:12").then_some(DateTime::<Utc>::UNIX_EPOCH));
        assert!(date_in_line("Опубликовано: 20.11.2026 10:12", &dates).is_some());
        assert!(date_in_line("Просмотров: 12", &dates).is_none());
    }
}
