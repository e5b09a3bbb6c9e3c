//! Site chrome: the parts of a page or a feed item that belong to the site, not to the article —
//! share buttons, subscription promos, subscriber counters, "Реклама", photo credits, view
//! counters, "back to the list" links, related-news lists.
//!
//! Three sources of knowledge, each general rather than tuned to one site:
//! - built-in rules for the chrome of Russian (and Belarusian and English) news sites, read off
//!   one paragraph at a time ([`classify`]);
//! - the operator's per-source `strip` list: CSS selectors and phrases;
//! - paragraphs that recur across many items of the same source ([`super::recurring`]).
//!
//! A paragraph is *chrome* when a rule says so, and *suspect* when it only looks like chrome —
//! short, naming a social network, a bare salutation, mostly links. Suspects go only when they
//! touch chrome (directly or through other suspects): "Дорогие друзья!" before "Присоединяйтесь –
//! vk.com/…" is a promo, the same words elsewhere may be the article's.

use std::collections::HashSet;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use chrono::{DateTime, Utc};
use ego_tree::NodeId;
use scraper::{Html, Selector};

use super::blocks::{self, Block};
use super::dates;

/// What to take out of one item besides the built-in rules.
#[derive(Debug, Clone, Default)]
pub struct ChromeRules {
    /// Operator phrases, folded by [`fold`]: a paragraph containing one as whole words is
    /// chrome. Whole words, like the built-in lists: "Реклама" must not take a paragraph about
    /// "рекламации" with it.
    phrases: Vec<String>,
    /// Operator CSS selectors: matching elements are removed whole.
    selectors: Vec<Selector>,
    /// Fingerprints ([`fingerprint`]) of paragraphs known to recur across the source's items.
    recurring: HashSet<u64>,
    /// The item's title, folded: a paragraph repeating it is the page's heading.
    title: Option<String>,
}

impl ChromeRules {
    /// Rules from a source's `strip` list. An entry is a CSS selector when it looks like one
    /// (starts with `.`, `#` or `[`, or is ASCII with selector syntax or an HTML tag name) and
    /// parses; anything else is a phrase. "Подписывайтесь на наш канал" parses as a selector
    /// too (CSS allows Cyrillic names), which is why parsing alone cannot decide.
    pub fn from_strip(strip: &[String]) -> ChromeRules {
        let mut rules = ChromeRules::default();
        for entry in strip {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            match looks_like_selector(entry)
                .then(|| Selector::parse(entry).ok())
                .flatten()
            {
                Some(selector) => rules.selectors.push(selector),
                None => rules.phrases.push(fold(entry)),
            }
        }
        rules
    }

    pub fn with_recurring(mut self, recurring: HashSet<u64>) -> ChromeRules {
        self.recurring = recurring;
        self
    }

    pub fn with_title(mut self, title: &str) -> ChromeRules {
        let title = fold(title);
        self.title = (!title.is_empty()).then_some(title);
        self
    }
}

fn looks_like_selector(entry: &str) -> bool {
    // Inline and embedded elements operators strip besides the block-level ones.
    const INLINE: &[&str] = &[
        "a", "span", "img", "small", "em", "strong", "b", "i", "noindex", "iframe", "video",
        "time", "script",
    ];
    let is_tag = |part: &str| {
        let part = part.to_ascii_lowercase();
        blocks::BLOCKS.contains(&part.as_str()) || INLINE.contains(&part.as_str())
    };
    entry.starts_with(['.', '#', '['])
        || (entry.is_ascii()
            && (entry.contains(['.', '#', '[', '>', ':'])
                || entry
                    .split([' ', ','])
                    .filter(|part| !part.is_empty())
                    .all(is_tag)))
}

/// An HTML fragment without its site chrome.
#[derive(Debug, Clone, PartialEq)]
pub struct WithoutChrome {
    pub html: String,
    /// The paragraphs that were kept, as [`super::text::paragraphs`] would read them from `html`,
    /// except that a paragraph boundary the removed chrome stood on stays one. Taken from the
    /// walk that found the chrome, so that the fragment is not parsed and walked a second time
    /// for its text (in perf, that second parse and walk were over a third of normalize's
    /// samples).
    pub paragraphs: Vec<String>,
}

/// Removes site chrome from an HTML fragment.
pub fn strip_chrome(html: &str, rules: &ChromeRules) -> WithoutChrome {
    let mut document = Html::parse_fragment(html);
    let mut doomed: Vec<NodeId> = Vec::new();
    for selector in &rules.selectors {
        doomed.extend(document.select(selector).map(|e| e.id()));
    }
    detach_all(&mut document, &doomed);
    let found = blocks::blocks(&document);
    let verdicts = classify(&found, rules);
    let mut doomed: Vec<NodeId> = Vec::new();
    let mut paragraphs = Vec::with_capacity(found.len());
    for (block, chrome) in found.into_iter().zip(verdicts) {
        if chrome {
            doomed.extend(block.nodes);
        } else if !block.text.is_empty() {
            paragraphs.push(block.text);
        }
    }
    if doomed.is_empty() && rules.selectors.is_empty() {
        return WithoutChrome {
            html: html.to_string(),
            paragraphs,
        };
    }
    detach_all(&mut document, &doomed);
    WithoutChrome {
        html: document.root_element().inner_html(),
        paragraphs,
    }
}

/// Detaches nodes, then the elements that were left holding neither text nor an image (the
/// `<p>` or `<div class="share">` around a removed block).
fn detach_all(document: &mut Html, ids: &[NodeId]) {
    let mut parents: Vec<NodeId> = Vec::new();
    for &id in ids {
        if let Some(mut node) = document.tree.get_mut(id) {
            if let Some(parent) = node.parent() {
                parents.push(parent.id());
            }
            node.detach();
        }
    }
    while let Some(id) = parents.pop() {
        let Some(node) = document.tree.get(id) else {
            continue;
        };
        let Some(element) = node.value().as_element() else {
            continue;
        };
        if matches!(
            element.name(),
            "html" | "body" | "br" | "hr" | "img" | "td" | "th"
        ) {
            continue;
        }
        let empty = !node.descendants().any(|d| match d.value() {
            scraper::Node::Text(t) => !t.trim().is_empty(),
            scraper::Node::Element(e) => matches!(e.name(), "img" | "video" | "audio"),
            _ => false,
        });
        if empty {
            let parent = node.parent().map(|p| p.id());
            if let Some(mut node) = document.tree.get_mut(id) {
                node.detach();
            }
            parents.extend(parent);
        }
    }
}

/// How one paragraph looks on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Text,
    /// Looks like chrome only in the company of chrome.
    Suspect,
    Chrome,
}

/// Says for each block whether it is chrome, with the rules above and the neighbourhood rule
/// for suspects.
pub fn classify(found: &[Block], rules: &ChromeRules) -> Vec<bool> {
    let looks: Vec<Look> = found.iter().map(|b| look(b, rules)).collect();
    let mut chrome: Vec<bool> = looks.iter().map(|l| *l == Look::Chrome).collect();
    // Spread from chrome over runs of suspects, both ways; image-only blocks neither stop nor
    // carry the spread.
    let text_blocks: Vec<usize> = (0..found.len())
        .filter(|&i| !found[i].text.is_empty())
        .collect();
    for order in [false, true] {
        let mut after_chrome = false;
        let indices: Box<dyn Iterator<Item = &usize>> = if order {
            Box::new(text_blocks.iter().rev())
        } else {
            Box::new(text_blocks.iter())
        };
        for &i in indices {
            match looks[i] {
                Look::Chrome => after_chrome = true,
                Look::Suspect if after_chrome => chrome[i] = true,
                Look::Suspect => {}
                Look::Text => after_chrome = false,
            }
        }
    }
    chrome
}

/// Judges one block by itself.
pub fn look(block: &Block, rules: &ChromeRules) -> Look {
    if block.text.is_empty() {
        return Look::Text;
    }
    let folded = fold(&block.text);
    if folded.is_empty() {
        // Only punctuation or symbols: separators, arrows, icons.
        return Look::Chrome;
    }
    if block.in_caption
        || rules.title.as_deref() == Some(folded.as_str())
        || rules.phrases.iter().any(|p| contains_words(&folded, p))
        || rules.recurring.contains(&folded_fingerprint(&folded))
        || is_chrome_text(&block.text, &folded)
    {
        return Look::Chrome;
    }
    if is_suspect_text(&block.text, &folded, block) {
        return Look::Suspect;
    }
    Look::Text
}

/// Lowercase letters and digits in single-spaced words, `ё` as `е`: the form rules compare.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        // ASCII and Russian letters first: Unicode's tables cost more than the rest of fold.
        let kept = match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '+' | '#' | 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' => {
                true
            }
            _ if c.is_ascii() => false,
            _ => c.is_alphanumeric(),
        };
        if kept {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            super::words::push_folded(&mut out, c);
        } else {
            space = true;
        }
    }
    out
}

/// `fold` of the text from its first letter or digit on, from the text's `fold`: the two differ
/// only in the `+` and `#` that `fold` keeps and that are neither, so folding twice is not needed.
fn lead_of(folded: &str) -> &str {
    folded.trim_start_matches(['+', '#', ' '])
}

/// A paragraph's identity for learning what recurs: folded, digits as `0` so that a counter
/// ("Всего подписчиков: 17491") is the same paragraph tomorrow.
pub fn fingerprint(text: &str) -> u64 {
    folded_fingerprint(&fold(text))
}

/// [`fingerprint`] of a text already folded.
fn folded_fingerprint(folded: &str) -> u64 {
    // Byte by byte: no byte of a multi-byte character is an ASCII digit.
    let digits_as_zero: Vec<u8> = folded
        .bytes()
        .map(|b| if b.is_ascii_digit() { b'0' } else { b })
        .collect();
    xxhash_rust::xxh3::xxh3_64(&digits_as_zero)
}

/// Phrases that make a short paragraph chrome when it begins with them, with the longest
/// paragraph (in words) each may begin. Russian, Belarusian and English. ("Жители могут
/// поделиться мнением" is text: "поделиться" counts only at the start.)
const LEADING_PHRASES: &[(&str, usize)] = &[
    ("поделиться", 12),
    ("поделитесь", 12),
    ("падзяліцца", 12),
    ("share this", 12),
    ("share on", 12),
    ("читайте также", 25),
    ("читайте еще", 25),
    ("смотрите также", 25),
    ("чытайце таксама", 25),
    ("see also", 25),
    ("read also", 25),
    ("read more", 10),
    ("подробнее", 3),
    ("читать далее", 6),
    ("читать полностью", 6),
    ("вернуться к списку", 12),
    ("вернуться назад", 8),
    ("вернуться в раздел", 12),
    ("назад к списку", 12),
    ("к списку новостей", 12),
    ("возврат к списку", 12),
    ("вярнуцца да спісу", 12),
    ("back to list", 12),
    ("back to news", 12),
    ("все новости", 6),
    ("другие новости", 8),
    ("другие материалы", 8),
    ("похожие новости", 8),
    ("похожие материалы", 8),
    ("похожие записи", 8),
    ("похожие статьи", 8),
    ("related posts", 8),
    ("related news", 8),
    ("новости по теме", 8),
    ("навигация по записям", 8),
    ("перейти к содержимому", 8),
    ("skip to content", 8),
    ("предыдущая запись", 12),
    ("следующая запись", 12),
    ("предыдущая новость", 12),
    ("следующая новость", 12),
    ("партнерский материал", 8),
    ("добавить комментарий", 8),
    ("оставить комментарий", 8),
    ("оставьте комментарий", 8),
    ("комментарии", 2),
    ("комментариев нет", 6),
    ("войдите чтобы", 15),
];

/// Phrases that make a short paragraph chrome wherever they stand in it.
const ANYWHERE_PHRASES: &[(&str, usize)] = &[
    ("версия для печати", 12),
    ("версия для слабовидящих", 12),
    ("размер шрифта", 12),
    ("всего подписчиков", 6),
    ("нашли ошибку", 20),
    ("заметили ошибку", 20),
    ("ctrl+enter", 20),
    ("ctrl enter", 20),
    ("на правах рекламы", 12),
    ("erid", 12),
    ("cookie", 40),
    ("куки", 40),
    ("все права защищены", 40),
    ("all rights reserved", 40),
    ("при использовании материалов", 40),
    ("при цитировании", 40),
    ("сетевое издание зарегистрировано", 60),
    ("свидетельство о регистрации", 60),
    ("мнение редакции может не совпадать", 30),
    ("made on tilda", 6),
];

/// Words that begin a label line ("Автор: …", "Просмотров: 418") and how long such a line may be.
const LABEL_PREFIXES: &[(&str, usize)] = &[
    ("фото", 20),
    ("фотографии", 20),
    ("фото и видео", 20),
    ("видео", 12),
    ("photo", 20),
    ("источник", 15),
    ("крыніца", 15),
    ("source", 12),
    ("по материалам", 10),
    ("автор", 10),
    ("аўтар", 10),
    ("текст", 10),
    ("текст и фото", 12),
    ("добавил", 8),
    ("опубликовано", 10),
    ("обновлено", 10),
    ("создано", 10),
    ("дата публикации", 10),
    ("дата", 8),
    ("категория", 10),
    ("рубрика", 10),
    ("раздел", 10),
    ("теги", 25),
    ("метки", 25),
    ("тэги", 25),
    ("ключевые слова", 25),
    ("tags", 25),
    ("рейтинг", 10),
    ("оценка", 10),
    ("просмотров", 10),
    ("просмотры", 10),
    ("прочитано", 10),
    ("праглядаў", 10),
    ("views", 10),
];

/// Short lines that are chrome as a whole.
const CHROME_LINES: &[&str] = &[
    "реклама",
    "рэклама",
    "advertisement",
    "ads",
    "реклама 18+",
    "поиск",
    "найти",
    "search",
    "подписка",
    "подписаться",
    "subscribe",
    "печать",
    "распечатать",
    "print",
    "e mail",
    "email",
    "информация",
    "подробности",
    "назад",
    "далее",
    "вперед",
    "главная",
    "новости",
    "меню",
    "закрыть",
    "похожее",
];

/// Words naming the networks and messengers promos send readers to.
const NETWORKS: &[&str] = &[
    "вконтакте",
    "vk",
    "вк",
    "vkontakte",
    "telegram",
    "телеграм",
    "телеграмм",
    "дзен",
    "дзене",
    "zen",
    "одноклассники",
    "одноклассниках",
    "ok",
    "ок",
    "youtube",
    "rutube",
    "whatsapp",
    "viber",
    "facebook",
    "instagram",
    "twitter",
    "max",
    "канал",
    "канале",
    "группе",
    "группу",
    "сообществе",
    "рассылку",
];

/// Verbs that call readers to follow, subscribe or join.
const CALLS_TO_ACTION: &[&str] = &[
    "подписывайтесь",
    "подпишитесь",
    "присоединяйтесь",
    "вступайте",
    "следите за нами",
    "читайте нас",
    "смотрите нас",
    "падпісвайцеся",
    "далучайцеся",
    "subscribe",
    "follow us",
    "join us",
];

fn is_chrome_text(text: &str, folded: &str) -> bool {
    let words = text.split_whitespace().count();
    if CHROME_LINES.contains(&folded) {
        return true;
    }
    let lead = text.trim_start_matches(|c: char| !c.is_alphanumeric());
    let lead_folded = lead_of(folded);
    if ANYWHERE
        .found(folded)
        .any(|phrase| words <= ANYWHERE_PHRASES[phrase].1)
        || LEADING_PHRASES.iter().any(|(phrase, max_words)| {
            words <= *max_words && starts_with_words(lead_folded, phrase)
        })
    {
        return true;
    }
    // Label lines: "Фото: …", "Источник: …", "Просмотров: 418", "Теги: …". Only at the start,
    // and "Фото" without a colon only in a short line ("Фото автора."): an article may begin
    // "Фото выставки можно увидеть…".
    for (prefix, max_words) in LABEL_PREFIXES {
        if words <= *max_words && starts_with_words(lead_folded, prefix) {
            let after = lead
                .chars()
                .skip(prefix.chars().count())
                .find(|c| !c.is_whitespace());
            // Credits and counters also come without a colon ("Фото автора.", "Просмотров 2045").
            let bare = matches!(
                *prefix,
                "фото" | "photo" | "просмотров" | "прочитано" | "по материалам"
            );
            let labelled = matches!(after, Some(':' | '—' | '-' | '–' | '|' | '/'))
                || after.is_some_and(|c| c.is_ascii_digit())
                || (bare && words <= 4);
            if labelled {
                return true;
            }
        }
    }
    // A caption or credit ending a short line: "… на улице Школьной Фото: Светлана Ильина".
    if words <= 20 && text.contains("Фото:") {
        return true;
    }
    if is_counter(folded, words)
        || is_call_to_action(folded, words)
        || is_hashtag_line(text)
        || is_age_mark(folded)
        || is_byline(text)
        || is_signature(text, lead_folded, words)
        || is_date_line(text, words)
    {
        return true;
    }
    false
}

fn is_suspect_text(text: &str, folded: &str, block: &Block) -> bool {
    let words = block.words();
    // Searched only where the answer counts, in short paragraphs, not in an article's every one.
    let mentions_network = || {
        folded.split(' ').any(|w| NETWORKS.contains(&w))
            || folded.contains("vk com")
            || folded.contains("t me ")
            || folded.contains("ok ru")
    };
    (words <= 8 && mentions_network())
        || (words <= 4 && text.trim_end().ends_with('!'))
        || (words <= 2 && !block.in_heading && !text.trim_end().ends_with(['.', '!', '?', '…']))
        || (words <= 15 && block.link_density() >= 0.7)
        || is_bare_url(text)
        || (words <= 15 && starts_with_date(text))
}

/// "Просмотров: 418", "1274 просмотра", "Прочитано: 312 раз".
fn is_counter(folded: &str, words: usize) -> bool {
    words <= 10
        && folded.chars().any(|c| c.is_ascii_digit())
        && folded.split(' ').any(|w| {
            [
                "просмотр",
                "прочитан",
                "праглядаў",
                "view",
                "комментари",
                "подписчик",
            ]
            .iter()
            .any(|stem| w.starts_with(stem))
        })
}

fn is_call_to_action(folded: &str, words: usize) -> bool {
    words <= 35
        && CALLS.found(folded).next().is_some()
        && (folded.split(' ').any(|w| {
            NETWORKS.contains(&w)
                || w.starts_with("telegram")
                || w.starts_with("канал")
                || w.starts_with("групп")
                || w.starts_with("страниц")
                || w.starts_with("сообществ")
                || w.starts_with("рассылк")
                || matches!(w, "нас" | "нам" | "наш" | "наши" | "нашу" | "нашим")
        }) || folded.contains("vk com")
            || folded.contains("t me"))
}

fn is_hashtag_line(text: &str) -> bool {
    let mut tokens = text.split_whitespace().peekable();
    tokens.peek().is_some() && tokens.all(|t| t.starts_with('#') && t.chars().count() > 1)
}

fn is_age_mark(folded: &str) -> bool {
    folded
        .strip_suffix('+')
        .is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()))
}

/// A signature in the Russian newspaper style: a first name and a surname in capitals,
/// "Николай ПЕТРОВ", "Ирина ЛЕВЧЕНКО.".
fn is_byline(text: &str) -> bool {
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_end_matches(['.', ',']))
        .collect();
    if !(2..=3).contains(&words.len()) {
        return false;
    }
    let capitalized = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    let shouting = |w: &str| {
        w.chars().count() >= 3
            && w.chars().all(|c| c.is_uppercase() || c == '-')
            && w.chars().any(char::is_alphabetic)
    };
    words
        .iter()
        .all(|w| capitalized(w) && w.chars().all(|c| c.is_alphabetic() || c == '-'))
        && words.iter().any(|w| shouting(w))
        && !words.iter().all(|w| shouting(w))
}

/// "Пресс-служба администрации района" standing alone under the text.
fn is_signature(text: &str, lead_folded: &str, words: usize) -> bool {
    words <= 8
        && ["пресс служба", "пресс центр", "редакция", "прес служба"]
            .iter()
            .any(|p| starts_with_words(lead_folded, p))
        && !text.contains(',')
        && !text.trim_end().ends_with(['.', '!', '?'])
}

/// A line that is only a date, perhaps after a label ("Новости · 21 ноября 2026").
fn is_date_line(text: &str, words: usize) -> bool {
    if words > 8 || !text.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let anchor: DateTime<Utc> = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
    let parses = |s: &str| dates::parse_date(s, chrono_tz::UTC, anchor).is_some();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    (0..tokens.len().min(3)).any(|skip| {
        let rest = tokens[skip..].join(" ");
        let rest = rest.trim_start_matches(|c: char| !c.is_alphanumeric());
        !rest.is_empty() && parses(rest)
    })
}

fn starts_with_date(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or("");
    let parts: Vec<&str> = first.split(['.', '/']).collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn is_bare_url(text: &str) -> bool {
    let text = text.trim();
    !text.contains(' ')
        && (text.starts_with("http://") || text.starts_with("https://") || text.starts_with("www."))
}

/// A list of folded phrases, searched for all at once: a `str::contains` a phrase built a
/// searcher and scanned the paragraph for each, about 4 % of the ingest bench's samples (1 %
/// with the automaton).
struct Phrases(AhoCorasick);

impl Phrases {
    fn new<'a>(phrases: impl IntoIterator<Item = &'a str>) -> Phrases {
        // Built from the constant lists above, which are far below any limit of the crate.
        Phrases(AhoCorasick::new(phrases).expect("the phrase lists are small"))
    }

    /// The indices of the phrases that occur in `folded` at word boundaries.
    fn found<'a>(&'a self, folded: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.0
            .find_overlapping_iter(folded)
            .filter(|found| at_word_boundaries(folded, found.start(), found.end()))
            .map(|found| found.pattern().as_usize())
    }
}

/// Whether `folded[start..end]` begins and ends at word boundaries: folded text separates its
/// words with single spaces.
fn at_word_boundaries(folded: &str, start: usize, end: usize) -> bool {
    let before = folded[..start].chars().next_back();
    let after = folded[end..].chars().next();
    before.is_none_or(|c| c == ' ') && after.is_none_or(|c| c == ' ')
}

/// Whether folded `phrase` occurs in `folded` as whole words: starts with them at one of the
/// text's word starts. (Searching for the phrase and then checking the boundaries missed a
/// whole-word occurrence that overlapped an earlier, part-word one.)
fn contains_words(folded: &str, phrase: &str) -> bool {
    let mut word_starts = std::iter::once(0).chain(folded.match_indices(' ').map(|(at, _)| at + 1));
    !phrase.is_empty() && word_starts.any(|start| starts_with_words(&folded[start..], phrase))
}

static ANYWHERE: LazyLock<Phrases> =
    LazyLock::new(|| Phrases::new(ANYWHERE_PHRASES.iter().map(|(phrase, _)| *phrase)));
static CALLS: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(CALLS_TO_ACTION.iter().copied()));

fn starts_with_words(folded: &str, phrase: &str) -> bool {
    folded
        .strip_prefix(phrase)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `fold` computed before its fast path: every character through Unicode's tables.
    fn fold_by_tables(text: &str) -> String {
        let mut out = String::new();
        let mut space = false;
        for c in text.chars() {
            if c.is_alphanumeric() || c == '+' || c == '#' {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                for lower in c.to_lowercase() {
                    out.push(if lower == 'ё' { 'е' } else { lower });
                }
            } else {
                space = true;
            }
        }
        out
    }

    #[test]
    fn the_lead_of_a_fold_is_the_fold_of_the_lead() {
        for text in [
            "Подписывайтесь на наш канал",
            "#тег #новости",
            "# тег",
            "+7 (999) 123-45-67",
            "+#",
            "— Фото: Ирина Петрова",
            "«Источник»: администрация",
            "№ 5 от 21.11.2026",
            "#-abc +18",
            "   ",
            "",
        ] {
            let lead = text.trim_start_matches(|c: char| !c.is_alphanumeric());
            assert_eq!(lead_of(&fold(text)), fold(lead), "{text:?}");
        }
    }

    #[test]
    fn fold_agrees_with_the_unicode_tables() {
        for text in [
            "Всего подписчиков: 17 491 — ПОДПИСЫВАЙТЕСЬ на «Вести»!",
            "ЁЛКА ёлка Ёжик, C++ и C# 2026",
            "Падзяліцца: Беларусь, ЎЗДЫМ, Іван і Ўладзімір",
            "Київ, Їжак, Ґанок; Straße, İstanbul, ΑΘΗΝΑ, №5, ½, x²",
            "",
            "  ...  ",
        ] {
            assert_eq!(fold(text), fold_by_tables(text), "{text}");
            let by_tables: String = fold_by_tables(text)
                .chars()
                .map(|c| if c.is_ascii_digit() { '0' } else { c })
                .collect();
            assert_eq!(
                fingerprint(text),
                xxhash_rust::xxh3::xxh3_64(by_tables.as_bytes()),
                "{text}"
            );
        }
    }

    fn strip(html: &str) -> Vec<String> {
        strip_chrome(html, &ChromeRules::default()).paragraphs
    }

    #[test]
    fn a_promo_after_the_text_goes_with_its_salutation() {
        let html = "<p>Первый абзац статьи о том, что случилось в районе вчера вечером.</p>\
            <p>Дорогие друзья!</p><p>Газета «Время» работает на просторах ВКонтакте!<br>\
            Присоединяйтесь – <a href='https://vk.com/club1'>https://vk.com/club1</a></p>\
            <p>И на просторах Telegram!</p><p>Присоединяйтесь - https://t.me/+abc</p>\
            <div class='share'>Поделиться</div><div>Всего подписчиков: 17491</div><div>Реклама</div>";
        assert_eq!(
            strip(html),
            ["Первый абзац статьи о том, что случилось в районе вчера вечером."]
        );
    }

    #[test]
    fn suspects_alone_stay() {
        let html = "<p>Дорогие друзья!</p><p>Поздравляем вас с праздником и желаем здоровья, счастья и благополучия вашим семьям.</p>";
        assert_eq!(strip(html).len(), 2);
        let html = "<p>График выездов опубликуют на сайте больницы и в группе районной газеты ВКонтакте.</p><p>Читайте также: <a href='/x'>Другая новость</a></p>";
        assert_eq!(
            strip(html),
            ["График выездов опубликуют на сайте больницы и в группе районной газеты ВКонтакте."]
        );
    }

    #[test]
    fn labels_credits_counters_and_signatures_go() {
        for chrome in [
            "Фото: пресс-служба администрации Кировского района",
            "Фото автора.",
            "Источник: пресс-служба губернатора Курганской области",
            "По материалам газеты «Адзінства»",
            "Просмотров: 418",
            "Праглядаў: 563",
            "19.11.2026 | Рубрика: Село | Прочитано: 312 раз",
            "#Здравоохранение53 #модернизация #СтараяРусса",
            "Николай ПЕТРОВ",
            "Ирина ЛЕВЧЕНКО.",
            "Пресс-служба администрации Подпорожского муниципального района",
            "Нашли ошибку? Выделите текст и нажмите Ctrl+Enter.",
            "- Реклама -",
            "Реклама 18+",
            "← Вернуться к списку новостей",
            "24.11.2026",
            "Новости · 21 ноября 2026",
            "Больше новостей Ленинградской области — в официальном Telegram-канале. Подписывайтесь!",
            "Мы используем cookie, чтобы сайт работал лучше.",
            "Следите за нами ВКонтакте: vk.com/tosno_adm",
        ] {
            let html = format!("<p>Настоящий абзац статьи, в котором есть и подлежащее, и сказуемое.</p><p>{chrome}</p>");
            assert_eq!(strip(&html).len(), 1, "{chrome}");
        }
    }

    #[test]
    fn article_sentences_that_resemble_chrome_stay() {
        for text in [
            "Фото выставки можно посмотреть в группе музея, где их выложили в пятницу вечером вместе с видео.",
            "Присоединяйтесь к акции «Чистый берег», говорят организаторы, и приносите с собой перчатки.",
            "По информации пресс-службы, работы завершат до конца года.",
            "Александр Дрозденко подписал соглашение.",
            "Жители могут поделиться мнением на сайте администрации.",
            // A phrase inside a longer word is not the phrase ("куки" in "кукиш").
            "Кукиш в кармане держать не будем, сказал глава района на сессии депутатов.",
            // "Все права защищены" makes chrome of a notice, not of a paragraph over 40 words.
            "Жители дома на улице Советской говорят, что все права защищены только на бумаге: \
             управляющая компания третий год не отвечает на обращения, подъезды не ремонтируются, \
             крыша течёт, а перерасчёт за отопление, обещанный ещё весной, так и не сделан, хотя \
             жилищная инспекция дважды выносила предписание и назначала новые сроки работ.",
        ] {
            let html = format!("<p>{text}</p>");
            assert_eq!(strip(&html), [text], "{text}");
        }
    }

    #[test]
    fn operator_selectors_and_phrases() {
        let rules = ChromeRules::from_strip(&[
            ".promo".to_string(),
            "aside".to_string(),
            "Наш канал в MAX".to_string(),
        ]);
        let html = "<p>Текст статьи, достаточно длинный, чтобы быть текстом.</p><div class='promo'><p>Купите слона</p></div><aside>Сбоку</aside><p>Наш канал в MAX: max.ru/x</p>";
        let out = strip_chrome(html, &rules).paragraphs;
        assert_eq!(
            out,
            ["Текст статьи, достаточно длинный, чтобы быть текстом."]
        );
        assert!(!looks_like_selector("Подписывайтесь на наш канал"));
        assert!(!looks_like_selector("Advertisement"));
    }

    #[test]
    fn operator_phrases_match_whole_words_only() {
        let rules = ChromeRules::from_strip(&["Реклама".to_string(), "18+".to_string()]);
        let html = "<p>Реклама</p>\
            <p>Реклама. ООО «Ромашка», ИНН 7800000000, erid: 2Vtzqx</p>\
            <p>Суд рассмотрел рекламации поставщиков к областной администрации.</p>\
            <p>Рекламная кампания фестиваля началась в районе в понедельник.</p>\
            <p>Спектакль для зрителей 18+ покажут в субботу.</p>\
            <p>В 118+ школах региона открылись кружки.</p>";
        let out = strip_chrome(html, &rules).paragraphs;
        assert_eq!(
            out,
            [
                "Суд рассмотрел рекламации поставщиков к областной администрации.",
                "Рекламная кампания фестиваля началась в районе в понедельник.",
                "В 118+ школах региона открылись кружки.",
            ]
        );
    }

    #[test]
    fn a_whole_word_phrase_is_found_where_a_part_word_match_overlaps_it() {
        assert!(contains_words("еда да да", "да да"));
        assert!(!contains_words("еда да", "да да"));
        assert!(!contains_words("да дает", "да да"));
        assert!(!contains_words("текст", ""));
    }

    #[test]
    fn recurring_paragraphs_and_the_title_go() {
        let recurring: HashSet<u64> = [fingerprint("Всего подписчиков: 17000")].into();
        let rules = ChromeRules::default()
            .with_recurring(recurring)
            .with_title("Заголовок новости");
        let html = "<h3>Заголовок новости</h3><p>Текст статьи о важном событии в районе.</p><p>Всего  подписчиков: 17491</p>";
        let out = strip_chrome(html, &rules).paragraphs;
        assert_eq!(out, ["Текст статьи о важном событии в районе."]);
    }

    #[test]
    fn removing_a_block_keeps_the_rest_of_the_markup() {
        let html = "<p>Текст <b>статьи</b> о событии, длинный и подробный.</p><div class=\"share\"><a href=\"/s\"><img src=\"vk.png\">Поделиться</a></div>";
        let out = strip_chrome(html, &ChromeRules::default());
        assert_eq!(
            out.html,
            "<p>Текст <b>статьи</b> о событии, длинный и подробный.</p>"
        );
        assert_eq!(out.paragraphs, super::super::text::paragraphs(&out.html));
    }

    #[test]
    fn the_paragraphs_kept_are_those_of_the_html_kept() {
        let pages = [
            // Nothing removed: the fragment comes back as it was.
            "<p>Первый абзац статьи.</p>Текст без абзаца<br>после переноса<ul><li>пункт</li></ul>",
            // Chrome at the start, the end and between paragraphs, with an image-only block.
            "<p>Поделиться</p><p>Губернатор открыл школу на 1375 мест в Мурине.</p><p><img src=\"a.jpg\"></p><p>Подписывайтесь на наш канал в Telegram</p><p>Первых учеников встретили учителя.</p><p>Реклама</p>",
            // A removed paragraph inside a container that then holds nothing.
            "<div><p>Текст новости о грантах для НКО района.</p><div class=\"share\"><a href=\"/s\">Поделиться</a></div></div>",
        ];
        for html in pages {
            let out = strip_chrome(html, &ChromeRules::default());
            assert_eq!(
                out.paragraphs,
                super::super::text::paragraphs(&out.html),
                "{html}"
            );
        }
        // Where removed chrome stood between two runs of text, they stay two paragraphs;
        // read back from the HTML kept they would run together.
        let out = strip_chrome(
            "Текст первой части новости.<div>Поделиться</div>Текст второй части новости.",
            &ChromeRules::default(),
        );
        assert_eq!(
            out.paragraphs,
            ["Текст первой части новости.", "Текст второй части новости."]
        );
    }
}
