//! Story clustering quality on the labelled set in `tests/fixtures/clusters/`: every item goes
//! through normalize, identity, the real sled store and story placement, in publication order; the
//! stories that come out are compared pair by pair with the labels.
//!
//! `cargo test --test cluster_quality -- --nocapture` prints the figures recorded in
//! BENCHMARKS.md, and every pair it gets wrong.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vestnik::cluster::identity_keys;
use vestnik::cluster::story::{place_pending, stories_to_join, StoryIndex, StoryRules};
use vestnik::normalize::recurring::RecurringBlocks;
use vestnik::normalize::{normalize_items, SourceContext};
use vestnik::parse::RawItem;
use vestnik::store::Store;

#[derive(Deserialize)]
struct Item {
    id: String,
    source: String,
    story: String,
    title: String,
    link: String,
    published: String,
    content_html: String,
}

fn items() -> Vec<Item> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/clusters/items.jsonl"
    ))
    .unwrap();
    let mut items: Vec<Item> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    items.sort_by_key(published);
    items
}

fn published(item: &Item) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&item.published)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn stories_reach_pairwise_precision_0_98_and_recall_0_95() {
    let items = items();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rules = StoryRules::default();
    let mut stored_as: HashMap<String, vestnik::cluster::EntryId> = HashMap::new();
    let mut memories: HashMap<String, RecurringBlocks> = HashMap::new();
    for item in &items {
        let raw = RawItem {
            title: Some(item.title.clone()),
            link: Some(item.link.clone()),
            content_html: Some(item.content_html.clone()),
            published: Some(published(item)),
            ..RawItem::default()
        };
        // As ingest does: each source's memory of recurring paragraphs learns from its items.
        let context = SourceContext::new(&item.source, None, &[]);
        let memory = memories.entry(item.source.clone()).or_default();
        let entry = normalize_items(&[raw], &context, memory, Utc::now()).remove(0);
        let keys = identity_keys(&entry);
        let outcome = store.upsert(entry, &keys).unwrap();
        stored_as.insert(item.id.clone(), outcome.id().clone());
        place_pending(&store, &rules).unwrap();
    }
    let story_of = |item: &Item| store.entry(&stored_as[&item.id]).unwrap().unwrap().story_id;
    let stories: Vec<_> = items.iter().map(story_of).collect();
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut wrong = Vec::new();
    for a in 0..items.len() {
        for b in a + 1..items.len() {
            let predicted = stories[a] == stories[b];
            let actual = items[a].story == items[b].story;
            match (predicted, actual) {
                (true, true) => tp += 1,
                (true, false) => {
                    fp += 1;
                    wrong.push(format!(
                        "  merged   {} ~ {} ({} / {})",
                        items[a].id, items[b].id, items[a].story, items[b].story
                    ));
                }
                (false, true) => {
                    fn_ += 1;
                    wrong.push(format!(
                        "  missed   {} ~ {} ({})",
                        items[a].id, items[b].id, items[a].story
                    ));
                }
                (false, false) => {}
            }
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    let distinct = {
        let mut s = stories.clone();
        s.sort();
        s.dedup();
        s.len()
    };
    println!(
        "clusters: {} items -> {distinct} stories; pairwise precision {precision:.3} recall {recall:.3} (tp {tp} fp {fp} fn {fn_})",
        items.len()
    );
    println!("{}", wrong.join("\n"));
    assert!(items.len() >= 80);
    assert!(
        precision >= 0.98 && recall >= 0.95,
        "precision {precision:.3}, recall {recall:.3}"
    );
}

/// A big batch of pending entries (an archive's first fetch) is compared on all cores; the
/// stories must be the ones that placing the same entries one by one, in the same order, makes.
/// The labelled set three times over, a month apart (beyond the story window), is such a batch.
#[test]
fn a_big_batch_is_placed_as_one_by_one_placement_would() {
    let open = |dir: &tempfile::TempDir| {
        let store = Store::open(dir.path()).unwrap();
        for round in 0..3 {
            for item in items() {
                let raw = RawItem {
                    title: Some(item.title.clone()),
                    link: Some(format!("{}?copy={round}", item.link)),
                    content_html: Some(item.content_html.clone()),
                    published: Some(published(&item) + chrono::Duration::days(30 * round)),
                    ..RawItem::default()
                };
                let context = SourceContext::new(&item.source, None, &[]);
                let mut memory = RecurringBlocks::default();
                let entry = normalize_items(&[raw], &context, &mut memory, Utc::now()).remove(0);
                let keys = identity_keys(&entry);
                store.upsert(entry, &keys).unwrap();
            }
        }
        store
    };
    let rules = StoryRules::default();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (batch, one_by_one) = (open(&dir_a), open(&dir_b));
    let pending = one_by_one.pending_story_entries().unwrap();
    assert!(pending.len() >= vestnik::parallel::PARALLEL_FROM);

    assert_eq!(place_pending(&batch, &rules).unwrap(), pending.len());
    for id in &pending {
        let entry = one_by_one.entry(id).unwrap().unwrap().entry;
        let stories = stories_to_join(&entry, id, &one_by_one, &rules).unwrap();
        one_by_one.join(id, &stories).unwrap();
    }

    let story = |store: &Store, id| store.entry(id).unwrap().unwrap().story_id;
    let mut distinct: Vec<_> = pending.iter().map(|id| story(&batch, id)).collect();
    for id in &pending {
        assert_eq!(story(&batch, id), story(&one_by_one, id), "{id}");
    }
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() < pending.len() * 2 / 3, "copies were merged");
    assert!(batch.pending_story_entries().unwrap().is_empty());
}
