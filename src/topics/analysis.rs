//! An entry's words, analysed once and then matched by every topic.

use std::collections::HashMap;

use crate::normalize::words::{self, Word, MIN_STEM};
use crate::normalize::Entry;

use super::query::{Field, TermKind, WordPattern};

/// The words of one field with indexes from stem, root and exact form to positions.
#[derive(Debug, Default)]
pub struct FieldWords {
    pub text: String,
    pub words: Vec<Word>,
    by_stem: HashMap<String, Vec<u32>>,
    by_root: HashMap<String, Vec<u32>>,
    by_form: HashMap<String, Vec<u32>>,
}

impl FieldWords {
    pub fn new(text: String) -> FieldWords {
        let words = words::words(&text);
        let mut field = FieldWords {
            by_stem: HashMap::with_capacity(words.len()),
            by_root: HashMap::with_capacity(words.len() * 2),
            by_form: HashMap::with_capacity(words.len()),
            words: Vec::new(),
            text: String::new(),
        };
        // Words repeat (prepositions, names); stem each form once.
        let mut analysed: HashMap<&str, (String, Vec<String>)> =
            HashMap::with_capacity(words.len());
        for (position, word) in words.iter().enumerate() {
            let position = position as u32;
            let (stem, roots) = analysed
                .entry(word.folded.as_str())
                .or_insert_with(|| (words::stem(&word.folded), words::roots(&word.folded)));
            push(&mut field.by_stem, stem.clone(), position);
            for root in roots.iter() {
                push(&mut field.by_root, root.clone(), position);
            }
            push(&mut field.by_form, word.folded.clone(), position);
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
            .filter_map(|root| self.by_root.get(root))
            .flatten()
            .copied()
            .collect();
        if pattern.stem.chars().count() >= MIN_STEM {
            if let Some(positions) = self.by_stem.get(&pattern.stem) {
                found.extend_from_slice(positions);
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Start positions of a term in this field.
    pub fn positions(&self, kind: &TermKind) -> Vec<u32> {
        match kind {
            TermKind::Word(pattern) => self.word_positions(pattern),
            TermKind::Exact(form) => self.by_form.get(form).cloned().unwrap_or_default(),
            TermKind::Prefix(prefix) => self
                .words
                .iter()
                .enumerate()
                .filter(|(_, w)| w.folded.starts_with(prefix.as_str()))
                .map(|(i, _)| i as u32)
                .collect(),
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

    /// The word at a position as written, for explanations.
    pub fn written(&self, position: u32) -> &str {
        self.words
            .get(position as usize)
            .and_then(|w| self.text.get(w.start..w.end))
            .unwrap_or("")
    }
}

fn push(index: &mut HashMap<String, Vec<u32>>, key: String, position: u32) {
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
    pub fn new(entry: &Entry, region: Option<&str>) -> EntryWords {
        EntryWords {
            source_id: entry.source_id.clone(),
            title: FieldWords::new(entry.title.clone()),
            text: FieldWords::new(entry.text.clone()),
            region: FieldWords::new(region.unwrap_or_default().to_string()),
            category: FieldWords::new(entry.categories.join(" \n ")),
        }
    }

    /// The fields a term looks in, with their names.
    pub fn fields(&self, field: Field) -> Vec<(&'static str, &FieldWords)> {
        match field {
            Field::Any => vec![("title", &self.title), ("text", &self.text)],
            Field::Title => vec![("title", &self.title)],
            Field::Text => vec![("text", &self.text)],
            Field::Region => vec![("region", &self.region)],
            Field::Category => vec![("category", &self.category)],
            Field::Source => Vec::new(),
        }
    }
}
