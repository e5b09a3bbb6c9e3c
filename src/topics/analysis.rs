//! An entry's words, analysed once and then matched by every topic.

use std::collections::HashSet;
use std::rc::Rc;

// Seeded per process, so text written to collide cannot slow analysis down.
use foldhash::HashMap;
use foldhash::HashMapExt;

use crate::normalize::words::{self, Word, MIN_STEM};
use crate::normalize::Entry;

use super::query::{Field, TermKind, WordPattern};

/// The words of one field with indexes from stem and root to positions. Exact forms and
/// prefixes are found by scanning the words: few queries use them, and indexing every word's
/// form cost an allocation and a hash insert per word of every entry.
#[derive(Debug, Default)]
pub struct FieldWords {
    pub text: String,
    pub words: Vec<Word>,
    by_stem: HashMap<Rc<str>, Vec<u32>>,
    by_root: HashMap<Rc<str>, Vec<u32>>,
}

/// The first letters of every word form any topic could match, so that analysing an entry
/// stems only the words that could matter. Stems and roots are prefixes of their word (at least
/// in their first [`KEY_LETTERS`] letters), so a word whose first letters are not here can only
/// be matched by its exact form.
#[derive(Debug, Clone, Default)]
pub struct WordFilter {
    keys: HashSet<String>,
    /// A prefix term shorter than the key length makes every word a candidate.
    everything: bool,
}

const KEY_LETTERS: usize = 3;

fn key(word: &str) -> &str {
    match word.char_indices().nth(KEY_LETTERS) {
        Some((at, _)) => &word[..at],
        None => word,
    }
}

impl WordFilter {
    pub fn add_pattern(&mut self, pattern: &WordPattern) {
        self.keys.insert(key(&pattern.stem).to_string());
        for root in &pattern.roots {
            self.keys.insert(key(root).to_string());
        }
    }

    pub fn add_prefix(&mut self, prefix: &str) {
        if prefix.chars().count() < KEY_LETTERS {
            self.everything = true;
        } else {
            self.keys.insert(key(prefix).to_string());
        }
    }

    fn admits(&self, folded: &str) -> bool {
        self.everything || self.keys.contains(key(folded))
    }
}

impl FieldWords {
    /// Analyses every word, or with a filter only the words some topic could match.
    pub fn new(text: String, filter: Option<&WordFilter>) -> FieldWords {
        let words = words::words(&text);
        let mut field = FieldWords {
            by_stem: HashMap::with_capacity(words.len()),
            by_root: HashMap::with_capacity(words.len() * 2),
            words: Vec::new(),
            text: String::new(),
        };
        for (position, word) in words.iter().enumerate() {
            let position = position as u32;
            if filter.is_some_and(|f| !f.admits(&word.folded)) {
                continue;
            }
            let forms = words::forms(&word.folded);
            push(&mut field.by_stem, Rc::clone(&forms.stem), position);
            for root in &forms.roots {
                push(&mut field.by_root, Rc::clone(root), position);
            }
        }
        field.words = words;
        field.text = text;
        field
    }

    /// Positions where a query word occurs, by root, or by a stem long enough to trust.
    fn word_positions(&self, pattern: &WordPattern) -> Vec<u32> {
        let mut found: Vec<u32> = pattern
            .roots
            .iter()
            .filter_map(|root| self.by_root.get(root.as_str()))
            .flatten()
            .copied()
            .collect();
        if pattern.stem.chars().count() >= MIN_STEM {
            if let Some(positions) = self.by_stem.get(pattern.stem.as_str()) {
                found.extend_from_slice(positions);
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Whether a term occurs in this field; cheaper than [`FieldWords::positions`] for words.
    pub fn contains(&self, kind: &TermKind) -> bool {
        match kind {
            TermKind::Word(pattern) => {
                pattern
                    .roots
                    .iter()
                    .any(|root| self.by_root.contains_key(root.as_str()))
                    || (pattern.stem.chars().count() >= MIN_STEM
                        && self.by_stem.contains_key(pattern.stem.as_str()))
            }
            TermKind::Exact(form) => self.words.iter().any(|w| w.folded == *form),
            TermKind::Prefix(prefix) => self
                .words
                .iter()
                .any(|w| w.folded.starts_with(prefix.as_str())),
            TermKind::Phrase(_) => !self.positions(kind).is_empty(),
        }
    }

    /// Start positions of a term in this field.
    pub fn positions(&self, kind: &TermKind) -> Vec<u32> {
        match kind {
            TermKind::Word(pattern) => self.word_positions(pattern),
            TermKind::Exact(form) => self.positions_where(|w| w.folded == *form),
            TermKind::Prefix(prefix) => {
                self.positions_where(|w| w.folded.starts_with(prefix.as_str()))
            }
            TermKind::Phrase(patterns) => {
                let Some((first, rest)) = patterns.split_first() else {
                    return Vec::new();
                };
                let following: Vec<Vec<u32>> =
                    rest.iter().map(|p| self.word_positions(p)).collect();
                self.word_positions(first)
                    .into_iter()
                    .filter(|&start| {
                        following.iter().enumerate().all(|(offset, positions)| {
                            positions
                                .binary_search(&(start + offset as u32 + 1))
                                .is_ok()
                        })
                    })
                    .collect()
            }
        }
    }

    fn positions_where(&self, found: impl Fn(&Word) -> bool) -> Vec<u32> {
        self.words
            .iter()
            .enumerate()
            .filter(|(_, w)| found(w))
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// The word at a position as written, for explanations.
    pub fn written(&self, position: u32) -> &str {
        self.words
            .get(position as usize)
            .and_then(|w| self.text.get(w.start..w.end))
            .unwrap_or("")
    }
}

fn push(index: &mut HashMap<Rc<str>, Vec<u32>>, key: Rc<str>, position: u32) {
    let positions = index.entry(key).or_default();
    if positions.last() != Some(&position) {
        positions.push(position);
    }
}

/// Everything topics look at in one entry.
#[derive(Debug)]
pub struct EntryWords {
    pub source_id: String,
    pub title: FieldWords,
    pub text: FieldWords,
    pub region: FieldWords,
    pub category: FieldWords,
}

impl EntryWords {
    /// Analyses every word of an entry (what explanations need).
    pub fn new(entry: &Entry, region: Option<&str>) -> EntryWords {
        EntryWords::filtered(entry, region, None)
    }

    /// Analyses the words of an entry that pass `filter` (what matching needs).
    pub fn filtered(
        entry: &Entry,
        region: Option<&str>,
        filter: Option<&WordFilter>,
    ) -> EntryWords {
        EntryWords {
            source_id: entry.source_id.clone(),
            title: FieldWords::new(entry.title.clone(), filter),
            text: FieldWords::new(entry.text.clone(), filter),
            region: FieldWords::new(region.unwrap_or_default().to_string(), filter),
            category: FieldWords::new(entry.categories.join(" \n "), filter),
        }
    }

    /// The fields a term looks in, with their names.
    pub fn fields(&self, field: Field) -> impl Iterator<Item = (&'static str, &FieldWords)> {
        let (first, second) = match field {
            Field::Any => (Some(("title", &self.title)), Some(("text", &self.text))),
            Field::Title => (Some(("title", &self.title)), None),
            Field::Text => (Some(("text", &self.text)), None),
            Field::Region => (Some(("region", &self.region)), None),
            Field::Category => (Some(("category", &self.category)), None),
            Field::Source => (None, None),
        };
        first.into_iter().chain(second)
    }
}
