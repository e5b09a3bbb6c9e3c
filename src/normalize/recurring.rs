//! Chrome learned per source: a paragraph that recurs in many of a source's items is the site's,
//! not an article's ("Всего подписчиков: 17491", a promo no built-in rule knows).
//!
//! The memory is small — the paragraph fingerprints of the source's last [`WINDOW`] distinct
//! items — and normalize only defines it; ingest loads and saves it through the store. Items are
//! told apart by their id, so a feed that shows the same twenty items on every poll counts each
//! of them once, however often it is polled.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

/// How many recent items a source's memory holds.
pub const WINDOW: usize = 60;
/// A paragraph must be in at least this many items…
pub const MIN_ITEMS: usize = 3;
/// …and in at least this share of the remembered items before it counts as chrome. With few
/// items (a first poll of a small feed) this keeps real text safe; with many it takes a
/// paragraph that is on most pages.
pub const MIN_SHARE: f64 = 0.4;
/// Paragraphs longer than this (in words) are never learned: chrome is short, and a long
/// paragraph repeated across items (a background "Напомним, …") is text.
pub const MAX_WORDS: usize = 60;

/// The paragraph fingerprints of a source's recent items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecurringBlocks {
    items: VecDeque<SeenItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SeenItem {
    id: u64,
    fingerprints: Vec<u64>,
}

/// The fingerprints an item is remembered by: of its short paragraphs, sorted, without repeats.
fn fingerprints_of(paragraphs: &[String]) -> Vec<u64> {
    let mut fingerprints: Vec<u64> = paragraphs
        .iter()
        .filter(|p| p.split_whitespace().count() <= MAX_WORDS)
        .map(|p| super::chrome::fingerprint(p))
        .collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    fingerprints
}

impl RecurringBlocks {
    /// Remembers the paragraphs of one item (replacing what an earlier poll saw of it).
    pub fn observe(&mut self, item_id: u64, paragraphs: &[String]) {
        let fingerprints = fingerprints_of(paragraphs);
        if let Some(seen) = self.items.iter_mut().find(|s| s.id == item_id) {
            seen.fingerprints = fingerprints;
            return;
        }
        self.items.push_back(SeenItem {
            id: item_id,
            fingerprints,
        });
        while self.items.len() > WINDOW {
            self.items.pop_front();
        }
    }

    /// [`RecurringBlocks::observe`] of each of a poll's items in turn, with the same result, but
    /// `paragraphs(i)` (parsing item `i`'s HTML, the costly part) is asked only for the items the
    /// memory keeps. What the memory holds afterwards depends on the items' ids alone, and each
    /// kept item on its last observation: so of an archive's first poll, thousands of items,
    /// only the last [`WINDOW`] are parsed here (a 5,000-item poll spent 60 ms of its 0.7 s in
    /// this pass, on one core).
    pub fn observe_all(&mut self, ids: &[u64], paragraphs: impl Fn(usize) -> Vec<String>) {
        /// Where a remembered item's fingerprints come from: kept as they are, or item `i`.
        enum Origin {
            Kept(Vec<u64>),
            Item(usize),
        }
        let mut order: VecDeque<(u64, Origin)> = std::mem::take(&mut self.items)
            .into_iter()
            .map(|seen| (seen.id, Origin::Kept(seen.fingerprints)))
            .collect();
        for (i, &id) in ids.iter().enumerate() {
            if let Some(seen) = order.iter_mut().find(|(seen, _)| *seen == id) {
                seen.1 = Origin::Item(i);
                continue;
            }
            order.push_back((id, Origin::Item(i)));
            while order.len() > WINDOW {
                order.pop_front();
            }
        }
        self.items = order
            .into_iter()
            .map(|(id, from)| SeenItem {
                id,
                fingerprints: match from {
                    Origin::Kept(fingerprints) => fingerprints,
                    Origin::Item(i) => fingerprints_of(&paragraphs(i)),
                },
            })
            .collect();
    }

    /// The fingerprints that recur enough to be chrome.
    pub fn recurring(&self) -> HashSet<u64> {
        let needed = MIN_ITEMS.max((MIN_SHARE * self.items.len() as f64).ceil() as usize);
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for item in &self.items {
            for &fingerprint in &item.fingerprints {
                *counts.entry(fingerprint).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|(_, count)| *count >= needed)
            .map(|(fingerprint, _)| fingerprint)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::chrome::fingerprint;

    /// A word for an id: fingerprints count digits as equal, so ids must be spelled in letters.
    fn word(id: u64) -> String {
        format!(
            "{}-{}",
            char::from(b'a' + (id % 26) as u8),
            char::from(b'a' + (id / 26) as u8)
        )
    }

    fn paragraphs(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_paragraph_in_most_items_is_learned() {
        let mut memory = RecurringBlocks::default();
        for id in 0..4 {
            memory.observe(
                id,
                &paragraphs(&[&format!("Статья {} о разном.", word(id)), "Поиск по сайту"]),
            );
        }
        let recurring = memory.recurring();
        assert!(recurring.contains(&fingerprint("Поиск по сайту")));
        assert_eq!(recurring.len(), 1);
    }

    #[test]
    fn the_same_item_polled_again_counts_once() {
        let mut memory = RecurringBlocks::default();
        for _ in 0..5 {
            memory.observe(7, &paragraphs(&["Напомним, что мост закрыт на ремонт."]));
        }
        assert_eq!(memory.len(), 1);
        assert!(memory.recurring().is_empty());
    }

    #[test]
    fn two_items_never_teach_anything_and_rare_repeats_are_text() {
        let mut memory = RecurringBlocks::default();
        memory.observe(1, &paragraphs(&["Общий абзац."]));
        memory.observe(2, &paragraphs(&["Общий абзац."]));
        assert!(memory.recurring().is_empty());
        for id in 3..20 {
            let own = format!("Своя статья {}.", word(id));
            let shared = if id < 5 {
                "Общий абзац."
            } else {
                own.as_str()
            };
            memory.observe(id, &paragraphs(&[shared, &own]));
        }
        // Four of nineteen items: under the 40 % share.
        assert!(memory.recurring().is_empty());
    }

    /// Observing a poll's items at once leaves the memory as observing them one by one does,
    /// and parses only the items it keeps.
    #[test]
    fn observing_a_poll_at_once_is_observing_its_items_in_turn() {
        // Ids repeat (an item listed twice, an item remembered from an earlier poll) and the
        // poll is longer than the window.
        let earlier: Vec<u64> = (0..50).collect();
        let poll: Vec<u64> = (30..130).chain([125, 40, 129, 7]).chain(130..140).collect();
        let text = |i: usize| paragraphs(&[&format!("Абзац {}.", word(i as u64 % 7)), "Реклама"]);
        let mut one_by_one = RecurringBlocks::default();
        for &id in &earlier {
            one_by_one.observe(id, &paragraphs(&[&format!("Старый {}.", word(id))]));
        }
        let mut at_once = one_by_one.clone();
        for (i, &id) in poll.iter().enumerate() {
            one_by_one.observe(id, &text(i));
        }
        let asked = std::cell::RefCell::new(Vec::new());
        at_once.observe_all(&poll, |i| {
            asked.borrow_mut().push(i);
            text(i)
        });
        assert_eq!(at_once, one_by_one);
        assert_eq!(at_once.len(), WINDOW);
        let asked = asked.into_inner();
        assert_eq!(
            asked.len(),
            WINDOW,
            "only the kept items are parsed: {asked:?}"
        );
        // A short poll is parsed whole, and the memory keeps what it had besides.
        let mut small = RecurringBlocks::default();
        small.observe(1, &paragraphs(&["Раньше."]));
        let mut expected = small.clone();
        expected.observe(2, &paragraphs(&["Сейчас."]));
        small.observe_all(&[2], |_| paragraphs(&["Сейчас."]));
        assert_eq!(small, expected);
    }

    #[test]
    fn the_window_forgets_old_items() {
        let mut memory = RecurringBlocks::default();
        for id in 0..(WINDOW as u64 + 10) {
            memory.observe(id, &paragraphs(&["x"]));
        }
        assert_eq!(memory.len(), WINDOW);
    }
}
