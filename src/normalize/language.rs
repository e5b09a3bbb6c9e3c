//! The language of an entry, told from its own words; the feed's declared language when the
//! words are too few to tell. Belarusian outlets often declare `ru` for Belarusian text, and
//! Russian sites declare nothing at all, so the declaration alone is not enough.

use whatlang::Lang;

/// Characters of text looked at: enough for a reliable answer, bounded for long articles.
/// whatlang's cost grows with the sample, and at 2,000 it was a twentieth of a poll's CPU time;
/// 600 gave the same answer as 2,000 for all 100 texts of `tests/fixtures/clusters/` and the
/// seed article, 53 of them longer than 600.
const SAMPLE_CHARS: usize = 600;

/// ISO 639-1 code of the language of `title` and `text`, else `declared` (lower-cased, region
/// dropped: `ru-RU` → `ru`).
pub fn detect_language(title: &str, text: &str, declared: Option<&str>) -> Option<String> {
    let mut sample: String = title.chars().take(300).collect();
    sample.push('\n');
    sample.extend(text.chars().take(SAMPLE_CHARS));
    if is_plainly_russian(&sample) {
        return Some("ru".to_string());
    }
    whatlang::detect(&sample)
        .filter(whatlang::Info::is_reliable)
        .map(|info| iso_639_1(info.lang()).to_string())
        .or_else(|| declared.and_then(declared_code))
}

/// Letters of a Russian sample, at least: enough that a Belarusian or Ukrainian text would have
/// shown one of its own letters.
const PLAINLY_RUSSIAN_LETTERS: usize = 60;

/// Whether a sample is Russian beyond doubt, so whatlang (whose trigram scoring of every
/// Cyrillic language was a tenth of ingest's CPU time) need not be asked: mostly Cyrillic, only
/// letters of the Russian alphabet, with ы or э, which Bulgarian, Serbian and Macedonian lack,
/// and without і, ў, ї, є or ґ, one of which any Belarusian or Ukrainian text of this length has.
/// Kazakh, Tatar and the like fail the alphabet test (ә, қ, ө, ү...). Of the 144 texts of the
/// cluster and extraction fixtures and the seed article, 138 pass, and whatlang says Russian for
/// each of them.
fn is_plainly_russian(sample: &str) -> bool {
    let (mut russian, mut other, mut telling) = (0usize, 0usize, false);
    for c in sample.chars() {
        match c {
            'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' => {
                russian += 1;
                telling |= matches!(c, 'ы' | 'э' | 'Ы' | 'Э');
            }
            // Any other Cyrillic letter or mark.
            '\u{0400}'..='\u{04FF}' => return false,
            c if c.is_alphabetic() => other += 1,
            _ => {}
        }
    }
    telling && russian >= PLAINLY_RUSSIAN_LETTERS && russian > 4 * other
}

fn declared_code(declared: &str) -> Option<String> {
    let code = declared
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    (!code.is_empty() && code.chars().all(|c| c.is_ascii_alphabetic())).then_some(code)
}

/// The two-letter code feeds use, for the languages Vestnik's regions read; other languages
/// keep whatlang's three-letter code.
fn iso_639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Rus => "ru",
        Lang::Bel => "be",
        Lang::Ukr => "uk",
        Lang::Eng => "en",
        Lang::Deu => "de",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Ita => "it",
        Lang::Pol => "pl",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Fin => "fi",
        Lang::Bul => "bg",
        Lang::Srp => "sr",
        Lang::Cmn => "zh",
        Lang::Tur => "tr",
        Lang::Kat => "ka",
        Lang::Hye => "hy",
        Lang::Aze => "az",
        Lang::Uzb => "uz",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_russian_belarusian_and_english_apart() {
        assert_eq!(
            detect_language(
                "В Мурине открылась новая школа",
                "Школа на 1375 мест приняла первых учеников. На открытии выступил губернатор Ленинградской области.",
                None
            )
            .as_deref(),
            Some("ru")
        );
        assert_eq!(
            detect_language(
                "У аграгарадку адкрылі новую ферму",
                "Комплекс разлічаны на восемсот галоў. Штодня прадпрыемства плануе атрымліваць дваццаць пяць тон малака.",
                Some("ru")
            )
            .as_deref(),
            Some("be")
        );
        assert_eq!(
            detect_language(
                "Minsk hosts a trade forum",
                "More than three hundred companies from Belarus and China took part in the forum this week.",
                None
            )
            .as_deref(),
            Some("en")
        );
    }

    #[test]
    fn plainly_russian_text_needs_no_trigrams_and_agrees_with_them() {
        let russian = "Школа на 1375 мест приняла первых учеников. На открытии выступил губернатор Ленинградской области, который поздравил детей и учителей.";
        assert!(is_plainly_russian(russian));
        assert_eq!(whatlang::detect(russian).map(|i| i.lang()), Some(Lang::Rus));
        for not_plainly in [
            // Belarusian: і and ў.
            "Комплекс разлічаны на восемсот галоў. Штодня прадпрыемства плануе атрымліваць дваццаць пяць тон малака і сыроў.",
            // Ukrainian: і, ї, є.
            "Школа на тисячу місць прийняла перших учнів. На відкритті виступив голова області, який привітав дітей та їхніх батьків.",
            // Kazakh: letters outside the Russian alphabet.
            "Мектеп бірінші оқушыларын қабылдады. Ашылу салтанатында облыс әкімі сөз сөйлеп, балалар мен мұғалімдерді құттықтады.",
            // Bulgarian: no ы or э.
            "Училището с 1375 места прие първите си ученици. На откриването говори губернаторът на областта, който поздрави децата.",
            // Too short to be sure.
            "Погода на завтра: дожди",
            // Mostly English.
            "The Minsk trade forum opened on Tuesday with more than three hundred companies from Belarus and China; в Минске.",
        ] {
            assert!(!is_plainly_russian(not_plainly), "{not_plainly}");
        }
    }

    #[test]
    fn too_little_text_falls_back_to_the_declaration() {
        assert_eq!(
            detect_language("Погода", "", Some("ru-RU")).as_deref(),
            Some("ru")
        );
        assert_eq!(detect_language("", "", None), None);
        assert_eq!(detect_language("", "", Some(" ")), None);
    }
}
