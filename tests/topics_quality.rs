//! Quality of the shipped `ngo` and `intl` topics on the labelled set in
//! `tests/fixtures/topics/`, against a plain substring match of the same words.
//!
//! `cargo test --test topics_quality -- --nocapture` prints the figures recorded in
//! BENCHMARKS.md, and the items each topic gets wrong.

use std::path::Path;

use serde::Deserialize;
use vestnik::config::Config;
use vestnik::normalize::Entry;
use vestnik::topics::query::{self, Query};
use vestnik::topics::Topics;

#[derive(Deserialize)]
struct Item {
    id: String,
    title: String,
    text: String,
    source: String,
    region: String,
    categories: Vec<String>,
    labels: Vec<String>,
}

fn items() -> Vec<Item> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/topics/items.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn entry(item: &Item) -> Entry {
    Entry {
        categories: item.categories.clone(),
        ..Entry::from_text(&item.source, &item.title, &item.text)
    }
}

fn shipped() -> Config {
    Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml")).unwrap()
}

#[derive(Default, Debug)]
struct Score {
    true_positive: usize,
    false_positive: usize,
    false_negative: usize,
    wrong: Vec<String>,
}

impl Score {
    fn add(&mut self, item: &Item, predicted: bool, wanted: bool) {
        match (predicted, wanted) {
            (true, true) => self.true_positive += 1,
            (true, false) => {
                self.false_positive += 1;
                self.wrong.push(format!("  + {} {}", item.id, item.title));
            }
            (false, true) => {
                self.false_negative += 1;
                self.wrong.push(format!("  - {} {}", item.id, item.title));
            }
            (false, false) => {}
        }
    }

    fn precision(&self) -> f64 {
        self.true_positive as f64 / (self.true_positive + self.false_positive).max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.true_positive as f64 / (self.true_positive + self.false_negative).max(1) as f64
    }
}

/// The baseline: an item matches when the text contains any of the query's positive words as
/// a plain case-insensitive substring (`*` and `=` dropped) and none of its NOT words.
fn substring_match(query: &Query, text: &str) -> bool {
    fn words(query: &Query, negated: bool, out: &mut Vec<(String, bool)>) {
        match query {
            Query::Or(parts) | Query::And(parts) => {
                parts.iter().for_each(|p| words(p, negated, out))
            }
            Query::Not(inner) => words(inner, !negated, out),
            Query::Near { left, right, .. } => {
                out.push((left.written.clone(), negated));
                out.push((right.written.clone(), negated));
            }
            Query::Term(t) => out.push((t.written.clone(), negated)),
        }
    }
    let mut all = Vec::new();
    words(query, false, &mut all);
    let text = text.to_lowercase();
    let contains = |w: &str| text.contains(&w.trim_matches(['"', '*', '=']).to_lowercase());
    all.iter().any(|(w, negated)| !negated && contains(w))
        && !all.iter().any(|(w, negated)| *negated && contains(w))
}

#[test]
fn shipped_topics_reach_precision_and_recall_of_0_9() {
    let config = shipped();
    let topics = Topics::compile(&config).unwrap();
    let items = items();
    let mut failures = Vec::new();
    for topic_id in ["ngo", "intl"] {
        let topic = topics.find(topic_id).unwrap();
        let query = query::parse(&config.topic(topic_id).unwrap().query).unwrap();
        let (mut ours, mut baseline) = (Score::default(), Score::default());
        for item in &items {
            let wanted = item.labels.iter().any(|l| l == topic_id);
            let words = topics.analyse(&entry(item));
            ours.add(item, topic.matches(&words, Some(&item.region)), wanted);
            baseline.add(
                item,
                substring_match(&query, &format!("{}\n{}", item.title, item.text)),
                wanted,
            );
        }
        println!(
            "{topic_id}: vestnik precision {:.3} recall {:.3} (tp {} fp {} fn {}); substring precision {:.3} recall {:.3} (tp {} fp {} fn {})",
            ours.precision(),
            ours.recall(),
            ours.true_positive,
            ours.false_positive,
            ours.false_negative,
            baseline.precision(),
            baseline.recall(),
            baseline.true_positive,
            baseline.false_positive,
            baseline.false_negative,
        );
        println!("{}", ours.wrong.join("\n"));
        if ours.precision() < 0.9 || ours.recall() < 0.9 {
            failures.push(format!(
                "{topic_id}: precision {:.3}, recall {:.3}",
                ours.precision(),
                ours.recall()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn the_labelled_set_is_large_enough() {
    let items = items();
    assert!(items.len() >= 150, "{}", items.len());
    let count = |label: &str| {
        items
            .iter()
            .filter(|i| i.labels.iter().any(|l| l == label))
            .count()
    };
    assert!(count("ngo") >= 40 && count("intl") >= 40);
}

/// Matching stems only the words some topic could match; that must never change a result.
#[test]
fn filtered_analysis_matches_exactly_like_full_analysis() {
    let config = shipped();
    let topics = Topics::compile(&config).unwrap();
    for item in items() {
        let entry = entry(&item);
        let (filtered, full) = (topics.analyse(&entry), topics.analyse_fully(&entry));
        for topic in topics.feeds() {
            assert_eq!(
                topic.matches(&filtered, Some(&item.region)),
                topic.matches(&full, Some(&item.region)),
                "{} {}",
                topic.id,
                item.id
            );
        }
    }
}
