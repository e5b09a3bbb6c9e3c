//! Extraction quality on the labelled set in `tests/fixtures/extraction/`: article pages in the
//! layouts of Russian regional CMSs, each with the text an ideal extractor returns.
//!
//! Each page goes through the pipeline a `full_text` source or `vestnik inspect --kind html`
//! uses: charset decision, main-content extraction, chrome removal, plain text. Two figures,
//! summed over the whole set (see BENCHMARKS.md):
//! - **article sentences kept**: of the sentences of the expected paragraphs (split after `.`,
//!   `!`, `?` or `…` before a capital, a digit, a quote or a dash), the share found in the
//!   output (within one output paragraph);
//! - **chrome lines removed**: of the page's distinct visible text blocks (`normalize::blocks`
//!   over the whole page: paragraphs and other block elements, split at `<br>`) that are not part
//!   of the expected text, the share not found in the output.
//!
//! `cargo test --test extraction -- --nocapture` prints the figures per page.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use scraper::Html;
use url::Url;
use vestnik::normalize::{self, article, blocks, SourceContext};
use vestnik::parse::DateParser;

const THRESHOLD: f64 = 0.97;

struct Page {
    name: String,
    html: String,
    expected: Vec<String>,
}

fn pages() -> Vec<Page> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extraction");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let html = vestnik::fetch::decode(&std::fs::read(&path).unwrap(), None).text;
            let expected = std::fs::read_to_string(dir.join(format!("{name}.expected.txt")))
                .unwrap()
                .trim_end()
                .split("\n\n")
                .map(normalize::text::clean_line)
                .collect();
            Page {
                name,
                html,
                expected,
            }
        })
        .collect()
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The page's article text as Vestnik extracts it: paragraphs.
fn extract(page: &Page) -> Vec<String> {
    let url = Url::parse(&format!("https://example.ru/news/{}.html", page.name)).unwrap();
    let dates: DateParser =
        Arc::new(|s| normalize::dates::parse_date(s, chrono_tz::Europe::Moscow, now()));
    let item = article::extract_article(&page.html, Some(&url), &dates)
        .unwrap_or_else(|e| panic!("{}: {e}", page.name))
        .into_item();
    let context = SourceContext::new("fixture", Some(&url), &[]);
    let entry = normalize::normalize(&item, &context, now())
        .unwrap_or_else(|| panic!("{}: no entry", page.name));
    entry
        .text
        .split("\n\n")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Sentences of a paragraph: split after `.`, `!`, `?` or `…` (and closing quotes) where the
/// next word starts with a capital, a digit or an opening quote.
fn sentences(paragraph: &str) -> Vec<String> {
    let chars: Vec<char> = paragraph.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        let ends = matches!(chars[i], '.' | '!' | '?' | '…')
            || (matches!(chars[i], '»' | '"' | ')')
                && i > 0
                && matches!(chars[i - 1], '.' | '!' | '?' | '…'));
        let next_starts = chars.get(i + 1) == Some(&' ')
            && chars
                .get(i + 2)
                .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || matches!(c, '«' | '"'));
        if ends && next_starts {
            out.push(chars[start..=i].iter().collect::<String>());
            start = i + 2;
        }
    }
    if start < chars.len() {
        out.push(chars[start..].iter().collect::<String>());
    }
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// The page's distinct visible text blocks that are not part of the expected article text.
fn chrome_lines(page: &Page) -> BTreeSet<String> {
    let expected = page.expected.join("\n");
    blocks::blocks(&Html::parse_document(&page.html))
        .into_iter()
        .map(|b| b.text)
        .filter(|t| !t.is_empty() && !expected.contains(t.as_str()))
        .collect()
}

struct Score {
    name: String,
    sentences: usize,
    kept: usize,
    chrome: usize,
    removed: usize,
    lost: Vec<String>,
    leaked: Vec<String>,
}

fn score(page: &Page) -> Score {
    let output = extract(page);
    let joined = output.join("\n");
    let expected_sentences: Vec<String> = page.expected.iter().flat_map(|p| sentences(p)).collect();
    let lost: Vec<String> = expected_sentences
        .iter()
        .filter(|s| !joined.contains(s.as_str()))
        .cloned()
        .collect();
    let chrome = chrome_lines(page);
    let leaked: Vec<String> = chrome
        .iter()
        .filter(|line| joined.contains(line.as_str()))
        .cloned()
        .collect();
    Score {
        name: page.name.clone(),
        sentences: expected_sentences.len(),
        kept: expected_sentences.len() - lost.len(),
        chrome: chrome.len(),
        removed: chrome.len() - leaked.len(),
        lost,
        leaked,
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

#[test]
fn sentences_kept_and_chrome_removed_reach_the_threshold() {
    let pages = pages();
    assert!(pages.len() >= 20, "the set has {} pages", pages.len());
    let scores: Vec<Score> = pages.iter().map(score).collect();
    let mut report = format!(
        "{:<36} {:>9} {:>7} {:>9} {:>7}\n",
        "page", "sentences", "kept", "chrome", "removed"
    );
    for s in &scores {
        report.push_str(&format!(
            "{:<36} {:>9} {:>7.3} {:>9} {:>7.3}\n",
            s.name,
            s.sentences,
            ratio(s.kept, s.sentences),
            s.chrome,
            ratio(s.removed, s.chrome)
        ));
        for lost in &s.lost {
            report.push_str(&format!("    lost:   {lost}\n"));
        }
        for leaked in &s.leaked {
            report.push_str(&format!("    leaked: {leaked}\n"));
        }
    }
    let total = |f: fn(&Score) -> usize| scores.iter().map(f).sum::<usize>();
    let kept = ratio(total(|s| s.kept), total(|s| s.sentences));
    let removed = ratio(total(|s| s.removed), total(|s| s.chrome));
    report.push_str(&format!(
        "{} pages: article sentences kept {:.4} ({} of {}), chrome lines removed {:.4} ({} of {})\n",
        scores.len(),
        kept,
        total(|s| s.kept),
        total(|s| s.sentences),
        removed,
        total(|s| s.removed),
        total(|s| s.chrome)
    ));
    println!("{report}");
    assert!(
        kept >= THRESHOLD && removed >= THRESHOLD,
        "below {THRESHOLD}:\n{report}"
    );
}

#[test]
fn the_seed_page_comes_out_as_exactly_its_four_paragraphs() {
    let page = pages()
        .into_iter()
        .find(|p| p.name == "00-vremya-seed")
        .unwrap();
    assert_eq!(page.expected.len(), 4);
    assert_eq!(extract(&page), page.expected);
}

#[test]
fn the_sentence_splitter_splits_where_a_reader_would() {
    assert_eq!(
        sentences("Первое. Второе! «Третье?» — спросил он. 25 учеников приехали."),
        [
            "Первое.",
            "Второе!",
            "«Третье?» — спросил он.",
            "25 учеников приехали."
        ]
    );
    assert_eq!(
        sentences("Гимназии № 30 и № 47, т. е. две."),
        ["Гимназии № 30 и № 47, т. е. две."]
    );
}
