//! How alike two entries' texts are, for telling copies of one story from different stories.
//!
//! Texts are compared as sets of shingles: three consecutive word stems (`ё` = `е`, case folded),
//! hashed to 64 bits. Stems make «сообщила»/«сообщает» and «провёл»/«провел» the same word; three
//! words keep generic pairs such as «Ленинградской области» from making unrelated texts alike.
//!
//! Copies are recognised by *containment* — the share of the shorter text's shingles found in the
//! longer one — so a copy of only the lead matches its full original. Candidates are found through
//! a few fingerprints per text chosen by winnowing ([`Fingerprints::of`]): the smallest shingle
//! hash in every window of [`WINNOW_WINDOW`] consecutive shingles. Any run of words two texts
//! share that is at least `WINNOW_WINDOW + 2` words long yields a fingerprint in both, whatever
//! surrounds it, so a shared passage of two sentences is always found while only about one
//! shingle in eight is indexed.

use crate::normalize::words;

/// A text's shingles, sorted and without repeats: each the low 32 bits of its 64-bit hash.
///
/// 32 bits are plenty for comparing two texts of a few hundred shingles (a chance collision
/// between them is about one in 50,000 pairs of texts, and moves containment by one shingle),
/// and they halve what every entry's stored and cached features weigh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shingles(Vec<u32>);

/// Words per shingle.
const SHINGLE_WORDS: usize = 3;

/// Shingles per winnowing window; a shared run of this many shingles is always fingerprinted.
///
/// Every fingerprint is a row written with the entry and a range scan when it is placed in a
/// story, so the window trades store work for the shortest shared run that is always found.
/// On the labelled set (`tests/cluster_quality.rs`) recall stays 1.0 up to 24 and falls to
/// 0.92 at 32; 16 halves the rows of 8 (the ingest bench: 10.8 → 9.6 s) and keeps that margin.
pub const WINNOW_WINDOW: usize = 16;

/// Shingle hashes in text order.
fn shingle_sequence(text: &str) -> Vec<u64> {
    let stems: Vec<std::rc::Rc<str>> = words::words(text)
        .iter()
        .map(|w| std::rc::Rc::clone(&words::forms(&w.folded).stem))
        .collect();
    match stems.len() {
        0 => Vec::new(),
        // A text of one or two words is one shingle.
        n if n < SHINGLE_WORDS => vec![hash(&stems)],
        _ => stems.windows(SHINGLE_WORDS).map(hash).collect(),
    }
}

/// The fingerprints a text is indexed under for finding candidate copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprints(pub Vec<u64>);

impl Fingerprints {
    /// Winnowing: the smallest hash of every window of [`WINNOW_WINDOW`] shingles (a text shorter
    /// than one window gives its smallest), without repeats.
    pub fn of(text: &str) -> Fingerprints {
        Fingerprints::of_sequence(&shingle_sequence(text))
    }

    fn of_sequence(sequence: &[u64]) -> Fingerprints {
        let mut chosen: Vec<u64> = if sequence.len() <= WINNOW_WINDOW {
            sequence.iter().min().copied().into_iter().collect()
        } else {
            sequence
                .windows(WINNOW_WINDOW)
                .filter_map(|window| window.iter().min().copied())
                .collect()
        };
        chosen.sort_unstable();
        chosen.dedup();
        Fingerprints(chosen)
    }
}

impl Shingles {
    /// The shingles of a text.
    pub fn of(text: &str) -> Shingles {
        Shingles::of_sequence(shingle_sequence(text))
    }

    /// A text's shingles and its fingerprints, from one pass over its words.
    pub fn with_fingerprints(text: &str) -> (Shingles, Fingerprints) {
        let sequence = shingle_sequence(text);
        let fingerprints = Fingerprints::of_sequence(&sequence);
        (Shingles::of_sequence(sequence), fingerprints)
    }

    fn of_sequence(sequence: Vec<u64>) -> Shingles {
        // Truncating on purpose: see the type's doc.
        let mut hashes: Vec<u32> = sequence.into_iter().map(|hash| hash as u32).collect();
        hashes.sort_unstable();
        hashes.dedup();
        Shingles(hashes)
    }

    /// Shingles as [`Shingles::hashes`] gave them; `None` unless sorted without repeats,
    /// which containment relies on.
    pub fn from_hashes(hashes: Vec<u32>) -> Option<Shingles> {
        hashes
            .windows(2)
            .all(|pair| pair[0] < pair[1])
            .then_some(Shingles(hashes))
    }

    /// The hashes, sorted.
    pub fn hashes(&self) -> &[u32] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many shingles two sets share.
    pub fn shared(&self, other: &Shingles) -> usize {
        let (mut i, mut j, mut shared) = (0, 0, 0);
        while i < self.0.len() && j < other.0.len() {
            match self.0[i].cmp(&other.0[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    shared += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        shared
    }

    /// The share of the smaller set found in the larger: 1.0 when one text contains the other.
    pub fn containment(&self, other: &Shingles) -> f64 {
        let smaller = self.len().min(other.len());
        if smaller == 0 {
            return 0.0;
        }
        self.shared(other) as f64 / smaller as f64
    }
}

fn hash(stems: &[std::rc::Rc<str>]) -> u64 {
    let mut joined = String::with_capacity(stems.iter().map(|s| s.len() + 1).sum());
    for stem in stems {
        joined.push_str(stem);
        joined.push(' ');
    }
    xxhash_rust::xxh3::xxh3_64(joined.as_bytes())
}

/// A title's distinct stems, sorted.
pub fn title_stems(title: &str) -> Vec<String> {
    let mut stems: Vec<String> = words::words(title)
        .iter()
        .map(|w| words::forms(&w.folded).stem.to_string())
        .collect();
    stems.sort_unstable();
    stems.dedup();
    stems
}

/// Word overlap of two titles (Jaccard over stems), 0.0 to 1.0.
pub fn title_similarity(a: &str, b: &str) -> f64 {
    stem_overlap(&title_stems(a), &title_stems(b))
}

/// Jaccard similarity of two sorted stem sets.
pub fn stem_overlap(a: &[String], b: &[String]) -> f64 {
    let shared = a.iter().filter(|s| b.binary_search(s).is_ok()).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// The numbers a text states (dates, amounts, counts), which tell apart reports cut from one
/// template: «ветер до 20 м/с 21 ноября» and «ветер до 25 м/с 26 ноября».
pub fn numbers(text: &str) -> Vec<String> {
    // Not `into_iter().map().collect()`: collected in place, the result would keep the whole
    // allocation of the text's words, kilobytes for a few numbers, in every cached feature set.
    let mut found: Vec<String> = Vec::new();
    for word in words::words(text) {
        if word.folded.chars().all(|c| c.is_ascii_digit()) {
            found.push(word.folded);
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// Whether two sets of numbers disagree: both state numbers and fewer than half are shared.
pub fn numbers_conflict(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let shared = a.iter().filter(|n| b.binary_search(n).is_ok()).count();
    (shared as f64) < 0.5 * a.len().min(b.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "Губернатор Ленинградской области Александр Дрозденко провёл совещание о подготовке к зиме. \
        Проверены более двух тысяч котельных, отремонтировано 120 километров тепловых сетей.\n\n\
        Подача тепла начнётся, когда среднесуточная температура опустится ниже восьми градусов.";

    #[test]
    fn a_lead_only_copy_is_contained_in_its_original() {
        let lead = "Губернатор Ленинградской области Александр Дрозденко провел совещание о подготовке к зиме.";
        let (a, b) = (Shingles::of(ORIGINAL), Shingles::of(lead));
        assert!(a.containment(&b) > 0.99, "{}", a.containment(&b));
        assert_eq!(a.containment(&b), b.containment(&a));
    }

    #[test]
    fn inflection_changes_do_not_break_shingles() {
        let edited = ORIGINAL
            .replace("провёл совещание", "провел совещания")
            .replace("Проверены", "Проверено");
        let c = Shingles::of(ORIGINAL).containment(&Shingles::of(&edited));
        assert!(c > 0.75, "{c}");
    }

    #[test]
    fn unrelated_texts_share_nothing() {
        let other = "В Луге открылся новый мост через реку после ремонта, движение восстановлено в обе стороны.";
        assert!(Shingles::of(ORIGINAL).containment(&Shingles::of(other)) < 0.05);
    }

    #[test]
    fn a_shared_passage_always_shares_a_fingerprint() {
        // Eighteen words: the shortest run winnowing promises to find.
        let sentence =
            "Проверены более двух тысяч котельных района, отремонтировано 120 километров \
            тепловых сетей и заменены насосы на четырёх подстанциях Луги";
        assert_eq!(sentence.split_whitespace().count(), WINNOW_WINDOW + 2);
        let a = Fingerprints::of(&format!(
            "Совсем другое начало заметки о погоде и дорогах района. {sentence}. И другой конец."
        ));
        let b = Fingerprints::of(&format!(
            "{sentence}, сообщает пресс-служба. Редакция благодарит читателей за письма."
        ));
        assert!(a.0.iter().any(|f| b.0.contains(f)), "{a:?} {b:?}");
        let (shingles, whole) = Shingles::with_fingerprints(ORIGINAL);
        assert_eq!(whole, Fingerprints::of(ORIGINAL));
        assert_eq!(shingles, Shingles::of(ORIGINAL));
        assert!(
            whole.0.len() < shingles.len() / 2,
            "winnowing keeps a fraction"
        );
    }

    #[test]
    fn every_shared_run_of_window_plus_two_words_is_fingerprinted() {
        // The guarantee, checked over many random texts around a shared run of exactly
        // WINNOW_WINDOW + 2 words (this fails if the window or the winnowing changes meaning).
        let vocabulary: Vec<String> = (0..500).map(|i| format!("слово{i}")).collect();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            vocabulary[(seed >> 33) as usize % vocabulary.len()].as_str()
        };
        for _ in 0..200 {
            let shared: Vec<&str> = (0..WINNOW_WINDOW + 2).map(|_| next()).collect();
            let a: Vec<&str> = (0..30)
                .map(|_| next())
                .chain(shared.iter().copied())
                .collect();
            let b: Vec<&str> = shared
                .iter()
                .copied()
                .chain((0..30).map(|_| next()))
                .collect();
            let (a, b) = (
                Fingerprints::of(&a.join(" ")),
                Fingerprints::of(&b.join(" ")),
            );
            assert!(a.0.iter().any(|f| b.0.contains(f)), "{shared:?}");
        }
    }

    #[test]
    fn numbers_tell_template_reports_apart() {
        let a = numbers("МЧС: 21 ноября ветер до 20 м/с, порывы до 25");
        let b = numbers("МЧС: 26 ноября ветер до 15 м/с, порывы до 18");
        assert_eq!(a, ["20", "21", "25"]);
        assert!(numbers_conflict(&a, &b));
        assert!(!numbers_conflict(
            &a,
            &numbers("21 ноября, ветер 20 м/с и порывы 25 м/с")
        ));
        assert!(!numbers_conflict(&a, &[]));
    }

    #[test]
    fn numbers_do_not_keep_the_texts_words_allocated() {
        // Features are cached by the thousand; a long text's two numbers must not
        // hold on to the memory of all its words.
        let text = format!("{} 2026 года 15 ноября", "слово ".repeat(2_000));
        let found = numbers(&text);
        assert_eq!(found, ["15", "2026"]);
        assert!(found.capacity() < 16, "capacity {}", found.capacity());
    }

    #[test]
    fn titles_compare_by_stems() {
        assert!(
            title_similarity(
                "Ленобласть предложила Беларуси дружить НКО",
                "Ленобласть предлагает Беларуси дружбу НКО"
            ) > 0.4
        );
        assert!(title_similarity("Открылась поликлиника", "Закрыт мост") < 0.01);
    }
}
