//! Words as Vestnik compares them: folded, stemmed, and reduced to candidate roots.
//!
//! Topics and clustering both read words this way, so it lives here, before both.
//!
//! Snowball stemming fails Russian news words where they are short: «визит» → `виз` but
//! «визита» → `визит`; «Беларусь» → `белар` but «Беларуси» → `беларус`; «посол» → `посол` but
//! «посла» → `посл` (`../shared/research/morphology.md`). [`roots`] adds what a reader knows: a
//! word minus one inflectional ending (and minus a fleeting vowel, «посол» → «посл»). Two word
//! forms are taken for one word when their root sets meet, or when their stems are equal and at
//! least [`MIN_STEM`] letters long (a three-letter stem joins «визит» with «виза»).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// Lower case, `ё` read as `е` (Russian writers use them interchangeably).
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        push_folded(&mut out, c);
    }
    out
}

/// Appends a character folded; ASCII and Cyrillic, nearly all of our text, skip Unicode tables.
pub(super) fn push_folded(out: &mut String, c: char) {
    match c {
        'A'..='Z' => out.push(c.to_ascii_lowercase()),
        'a'..='z' | '0'..='9' => out.push(c),
        'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
        'а'..='я' => out.push(c),
        'Ё' | 'ё' => out.push('е'),
        _ => {
            for lower in c.to_lowercase() {
                out.push(if lower == 'ё' { 'е' } else { lower });
            }
        }
    }
}

fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | '\u{0400}'..='\u{04FF}' => true,
        _ if c.is_ascii() => false,
        _ => c.is_alphanumeric() || is_combining_mark(c),
    }
}

/// A word of a text, folded, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub folded: String,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
}

/// The words of a text in order. A word is a run of letters and digits; a hyphen or apostrophe
/// between two letters splits «НКО-сектор» into `нко`, `сектор` at adjacent positions, so both
/// «НКО» and the phrase «НКО сектор» find it.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::with_capacity(text.len() / 8);
    let mut start = None;
    for (i, c) in text.char_indices() {
        if is_word_char(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push(Word::at(text, s, i));
        }
    }
    if let Some(s) = start {
        out.push(Word::at(text, s, text.len()));
    }
    out
}

impl Word {
    /// The word at `text[start..end]`, folded into a string allocated once: folding keeps the
    /// length of ASCII and Cyrillic letters, nearly all of our text. Growing one string a
    /// letter at a time cost about three allocations a word: splitting a 1.26 KB text took
    /// 7.2 µs, now 4.5 µs (`cargo bench --bench topics`).
    fn at(text: &str, start: usize, end: usize) -> Word {
        let written = &text[start..end];
        let mut folded = String::with_capacity(written.len());
        for c in written.chars() {
            push_folded(&mut folded, c);
        }
        Word { folded, start, end }
    }
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

fn is_cyrillic(word: &str) -> bool {
    word.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}'))
}

/// The Snowball stem of a folded word: Russian for Cyrillic, English for the rest.
pub fn stem(folded: &str) -> String {
    static RUSSIAN: OnceLock<Stemmer> = OnceLock::new();
    static ENGLISH: OnceLock<Stemmer> = OnceLock::new();
    if folded.chars().any(|c| c.is_ascii_digit()) {
        return folded.to_string();
    }
    let stemmer = if is_cyrillic(folded) {
        RUSSIAN.get_or_init(|| Stemmer::create(Algorithm::Russian))
    } else {
        ENGLISH.get_or_init(|| Stemmer::create(Algorithm::English))
    };
    stemmer.stem(folded).into_owned()
}

/// A word form's stem and roots, shared between every place the form occurs.
#[derive(Debug)]
pub struct WordForms {
    pub stem: Rc<str>,
    pub roots: Vec<Rc<str>>,
}

/// How many word forms each thread remembers; news vocabulary repeats, so most lookups hit. Kept
/// per thread (ingest runs on one thread per core, and a big poll on one more per core), so kept
/// modest (see `FEATURES_CACHE_LIMIT` in cluster for what a generous cache once cost).
const FORMS_CACHE_LIMIT: usize = 20_000;

/// The stem and roots of a folded word, computed once per thread and then remembered:
/// Snowball stemming costs about a microsecond a word, a cache hit a hash lookup.
pub fn forms(folded: &str) -> Rc<WordForms> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Rc<WordForms>>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        if let Some(found) = cache.borrow().get(folded) {
            return Rc::clone(found);
        }
        let computed = Rc::new(WordForms {
            stem: Rc::from(stem(folded)),
            roots: roots(folded).into_iter().map(Rc::from).collect(),
        });
        let mut cache = cache.borrow_mut();
        if cache.len() >= FORMS_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(folded.to_string(), Rc::clone(&computed));
        computed
    })
}

/// Russian noun and adjective endings, longest first within each length.
const ENDINGS: &[&str] = &[
    "иями", "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими", "иях", "ией", "ию", "ия", "ие",
    "ий", "ей", "ях", "ах", "ов", "ев", "ом", "ем", "ам", "ям", "ой", "ый", "ые", "ых", "их", "ым",
    "им", "ая", "яя", "ое", "ее", "ую", "юю", "ию", "а", "я", "у", "ю", "е", "и", "ы", "о", "ь",
    "й",
];

/// Consonants after which Russian drops a fleeting vowel: «посол»/«посла», «рынок»/«рынка».
const FLEETING_AFTER: &[char] = &['л', 'к', 'ц', 'н', 'р'];

/// Shorter Snowball stems say too little to join two words by themselves.
pub const MIN_STEM: usize = 4;

/// Whether two folded word forms are taken for one word (see the module documentation); for
/// one-off comparisons — matching many words against many uses precomputed stems and roots.
pub fn same_word(a: &str, b: &str) -> bool {
    let (stem_a, stem_b) = (stem(a), stem(b));
    (stem_a == stem_b && stem_a.chars().count() >= MIN_STEM)
        || roots(a).iter().any(|r| roots(b).contains(r))
}

/// A root keeps at least this many letters; shorter ones would join unrelated words.
const MIN_ROOT: usize = 3;

/// Candidate roots of a folded Cyrillic word: the word itself, the word minus each ending that
/// fits, and those minus a fleeting vowel. Other scripts have only themselves.
pub fn roots(folded: &str) -> Vec<String> {
    let mut roots = vec![folded.to_string()];
    if !is_cyrillic(folded) {
        return roots;
    }
    let letters = folded.chars().count();
    for ending in ENDINGS {
        if let Some(root) = folded.strip_suffix(ending) {
            if letters - ending.chars().count() >= MIN_ROOT && !roots.iter().any(|r| r == root) {
                roots.push(root.to_string());
            }
        }
    }
    let mut fleeting = Vec::new();
    for root in &roots {
        let chars: Vec<char> = root.chars().collect();
        if let [.., before, vowel, last] = chars[..] {
            if matches!(vowel, 'о' | 'е')
                && FLEETING_AFTER.contains(&last)
                && !is_vowel(before)
                && chars.len() > MIN_ROOT
            {
                let stem = &chars[..chars.len() - 2];
                fleeting.push(stem.iter().chain([&last]).collect::<String>());
                // After a consonant, a dropped «е» often leaves a soft sign: «доброволец» → «добровольца».
                if vowel == 'е' {
                    fleeting.push(stem.iter().chain([&'ь', &last]).collect::<String>());
                }
            }
        }
    }
    for root in fleeting {
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    roots
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'а' | 'е' | 'и' | 'о' | 'у' | 'ы' | 'э' | 'ю' | 'я')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        same_word(&fold(a), &fold(b))
    }

    #[test]
    fn folds_case_and_yo() {
        assert_eq!(fold("ЁЛКА Волонтёр"), "елка волонтер");
    }

    #[test]
    fn splits_hyphenated_words_at_adjacent_positions() {
        let found: Vec<String> = words("«НКО-сектор» Санкт-Петербурга, 10,5 т.е.")
            .into_iter()
            .map(|w| w.folded)
            .collect();
        assert_eq!(
            found,
            ["нко", "сектор", "санкт", "петербурга", "10", "5", "т", "е"]
        );
    }

    #[test]
    fn each_word_is_folded_with_its_place_in_the_text() {
        let text = "ЁЛКИ у İstanbul, ДЕЛЕГАЦИЯ Ünal";
        let found = words(text);
        let folded: Vec<&str> = found.iter().map(|w| w.folded.as_str()).collect();
        assert_eq!(
            folded,
            ["елки", "у", "i\u{307}stanbul", "делегация", "ünal"]
        );
        let written: Vec<&str> = found.iter().map(|w| &text[w.start..w.end]).collect();
        assert_eq!(written, ["ЁЛКИ", "у", "İstanbul", "ДЕЛЕГАЦИЯ", "Ünal"]);
    }

    #[test]
    fn short_words_snowball_misses_still_meet() {
        for (a, b) in [
            ("визит", "визита"),
            ("Китай", "Китая"),
            ("Беларусь", "Беларуси"),
            ("посол", "посла"),
            ("саммит", "саммита"),
            ("рынок", "рынка"),
            ("доброволец", "добровольцы"),
            ("некоммерческая", "некоммерческих"),
            ("организация", "организаций"),
        ] {
            assert!(same(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn unrelated_words_stay_apart() {
        for (a, b) in [
            ("визит", "виза"),
            ("Китай", "кит"),
            ("мир", "мирный"),
            ("посол", "посёлок"),
            ("НКО", "нк"),
        ] {
            assert!(!same(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn latin_words_use_the_english_stemmer() {
        assert_eq!(stem("cooperation"), stem("cooperations"));
        assert_eq!(roots("brics"), ["brics"]);
    }
}
