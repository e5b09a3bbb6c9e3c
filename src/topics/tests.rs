//! Morphology, precedence and restriction tests for topic matching.

use crate::store::Store;

use super::*;
use crate::config::Location;

fn entry(title: &str, text: &str) -> Entry {
    Entry {
        categories: vec!["Общество".into()],
        language: Some("ru".into()),
        ..Entry::from_text("lenobl", title, text)
    }
}

fn topic(query: &str) -> TopicFeed {
    TopicFeed::compile(&Topic {
        id: "t".into(),
        title: "t".into(),
        query: query.into(),
        query_location: Location { line: 1, column: 1 },
        sources: vec![],
        regions: vec![],
    })
    .unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn matches(query: &str, text: &str) -> bool {
    let words = EntryWords::new(&entry("", text), Some("Ленинградская область"));
    topic(query).matches(&words, Some("Ленинградская область"))
}

/// Every form of the shipped topics' words, and the names every regional topic needs.
#[test]
fn morphology_table() {
    let table: &[(&str, &[&str])] = &[
        (
            "\"некоммерческая организация\"",
            &[
                "некоммерческая организация",
                "некоммерческой организации",
                "некоммерческую организацию",
                "некоммерческой организацией",
                "о некоммерческой организации",
                "некоммерческие организации",
                "некоммерческих организаций",
                "некоммерческим организациям",
                "некоммерческими организациями",
                "о некоммерческих организациях",
            ],
        ),
        (
            "\"социально ориентированная некоммерческая организация\"",
            &[
                "социально ориентированных некоммерческих организаций",
                "социально ориентированным некоммерческим организациям",
            ],
        ),
        (
            "волонтер",
            &[
                "волонтёр",
                "волонтера",
                "волонтёру",
                "волонтером",
                "о волонтёре",
                "волонтёры",
                "волонтёров",
                "волонтерам",
                "волонтёрами",
                "о волонтерах",
            ],
        ),
        (
            "доброволец",
            &[
                "доброволец",
                "добровольца",
                "добровольцу",
                "добровольцем",
                "добровольцы",
                "добровольцев",
                "добровольцам",
            ],
        ),
        (
            "\"общественная палата\"",
            &[
                "Общественная палата",
                "Общественной палаты",
                "Общественной палате",
                "Общественную палату",
                "Общественной палатой",
                "общественные палаты",
                "общественных палат",
            ],
        ),
        (
            "благотворительный",
            &[
                "благотворительный фонд",
                "благотворительного фонда",
                "благотворительному",
                "благотворительным",
                "благотворительной акции",
                "благотворительные",
                "благотворительных",
            ],
        ),
        (
            "\"гражданское общество\"",
            &[
                "гражданское общество",
                "гражданского общества",
                "гражданскому обществу",
                "гражданским обществом",
                "о гражданском обществе",
            ],
        ),
        (
            "Беларусь",
            &["Беларусь", "Беларуси", "Беларусью", "о Беларуси"],
        ),
        (
            "\"Республика Беларусь\"",
            &[
                "Республика Беларусь",
                "Республики Беларусь",
                "Республике Беларусь",
                "Республику Беларусь",
                "Республикой Беларусь",
            ],
        ),
        (
            "\"Минская область\"",
            &[
                "Минская область",
                "Минской области",
                "Минскую область",
                "Минской областью",
                "о Минской области",
            ],
        ),
        ("Китай", &["Китай", "Китая", "Китаю", "Китаем", "о Китае"]),
        (
            "визит",
            &[
                "визит",
                "визита",
                "визиту",
                "визитом",
                "о визите",
                "визиты",
                "визитов",
                "визитам",
                "визитами",
                "о визитах",
            ],
        ),
        (
            "посол",
            &[
                "посол",
                "посла",
                "послу",
                "послом",
                "о после",
                "послы",
                "послов",
                "послам",
                "послами",
            ],
        ),
        (
            "саммит",
            &[
                "саммит",
                "саммита",
                "саммиту",
                "саммитом",
                "о саммите",
                "саммиты",
                "саммитов",
            ],
        ),
        (
            "делегация",
            &[
                "делегация",
                "делегации",
                "делегацию",
                "делегацией",
                "делегаций",
                "делегациям",
                "делегациями",
                "делегациях",
            ],
        ),
        (
            "сотрудничество",
            &[
                "сотрудничество",
                "сотрудничества",
                "сотрудничеству",
                "сотрудничеством",
                "о сотрудничестве",
            ],
        ),
        (
            "международный",
            &[
                "международный",
                "международного",
                "международному",
                "международным",
                "международном",
                "международная",
                "международной",
                "международную",
                "международное",
                "международные",
                "международных",
                "международными",
            ],
        ),
        (
            "меморандум",
            &[
                "меморандум",
                "меморандума",
                "меморандуму",
                "меморандумом",
                "меморандуме",
                "меморандумы",
                "меморандумов",
            ],
        ),
        (
            "Казахстан",
            &[
                "Казахстан",
                "Казахстана",
                "Казахстану",
                "Казахстаном",
                "о Казахстане",
            ],
        ),
        ("НКО", &["НКО", "нко", "НКО-сектор", "СО НКО", "«НКО»"]),
        ("ЕАЭС", &["ЕАЭС", "странами ЕАЭС"]),
        ("ООН", &["ООН", "в ООН"]),
        (
            "Санкт-Петербург",
            &[
                "Санкт-Петербург",
                "Санкт-Петербурга",
                "Санкт-Петербурге",
                "Санкт-Петербургом",
            ],
        ),
    ];
    for (query, forms) in table {
        for form in *forms {
            assert!(matches(query, form), "{query} should match «{form}»");
        }
    }
}

#[test]
fn what_must_not_match() {
    let table: &[(&str, &[&str])] = &[
        ("визит", &["виза", "визы", "визовый режим"]),
        ("Китай", &["кит", "китовый"]),
        ("НКО", &["нк", "энко"]),
        (
            "\"Минская область\"",
            &["область Минская", "Минская районная область"],
        ),
        ("посол", &["посёлок", "поселок", "поселка"]),
        (
            "\"некоммерческая организация\"",
            &["некоммерческое товарищество организации"],
        ),
    ];
    for (query, forms) in table {
        for form in *forms {
            assert!(!matches(query, form), "{query} should not match «{form}»");
        }
    }
}

#[test]
fn exact_is_the_remedy_for_a_stem_that_catches_too_much() {
    // Stems join «организация» with «организации» — and with «организациях» of road traffic.
    assert!(matches("организация", "организация дорожного движения"));
    assert!(matches("=организация", "организация дорожного движения"));
    assert!(!matches("=организация", "организации дорожного движения"));
    // «общественный» catches «общественный транспорт»; a phrase or NOT is the remedy there.
    assert!(matches("общественный", "общественный транспорт"));
    assert!(!matches(
        "общественный NOT транспорт",
        "общественный транспорт"
    ));
    assert!(!matches("=посол", "послом"));
    // «посол» (ambassador) and «посолить» (to salt) share a Snowball stem.
    assert!(matches("посол", "посолить рыбу"));
    assert!(!matches("=посол", "посолить рыбу"));
}

#[test]
fn prefixes_phrases_and_near() {
    assert!(matches("волонт*", "волонтёрское движение"));
    assert!(!matches("волонт*", "доброволец"));
    assert!(matches("\"поддержка НКО\"", "о поддержке НКО"));
    assert!(!matches("\"поддержка НКО\"", "НКО поддержка"));
    assert!(matches(
        "визит NEAR/3 Беларусь",
        "визит делегации в Беларусь"
    ));
    assert!(!matches(
        "визит NEAR/1 Беларусь",
        "визит делегации в Беларусь"
    ));
    assert!(matches(
        "Беларусь NEAR/3 визит",
        "визит делегации в Беларусь"
    ));
}

#[test]
fn operators_combine() {
    let text = "Волонтёры помогли НКО в Беларуси";
    assert!(matches("НКО AND Беларусь", text));
    assert!(matches("НКО Беларусь", text));
    assert!(!matches("НКО AND Китай", text));
    assert!(matches("Китай OR Беларусь", text));
    assert!(matches("(Китай OR Беларусь) волонтер", text));
    assert!(!matches("НКО NOT Беларусь", text));
    assert!(matches("NOT Китай", text));
    assert!(matches("Китай OR НКО AND волонтер", text));
}

#[test]
fn fields_scope_where_a_term_looks() {
    let words = EntryWords::new(
        &entry("Волонтёры Гатчины", "Текст о субботнике"),
        Some("Ленинградская область"),
    );
    let region = Some("Ленинградская область");
    assert!(topic("title:волонтер").matches(&words, region));
    assert!(!topic("text:волонтер").matches(&words, region));
    assert!(topic("text:субботник").matches(&words, region));
    assert!(topic("source:lenobl").matches(&words, region));
    assert!(!topic("source:belta").matches(&words, region));
    assert!(topic("region:\"Ленинградская область\"").matches(&words, region));
    assert!(topic("region:ленинградской").matches(&words, region));
    assert!(!topic("region:Беларусь").matches(&words, region));
    assert!(topic("category:общество").matches(&words, region));
    assert!(topic("title:(Китай OR волонтер)").matches(&words, region));
}

#[test]
fn restrictions_by_source_and_region() {
    let mut feed = topic("волонтер");
    let words = EntryWords::new(&entry("Волонтёры", ""), None);
    feed.sources = vec!["belta".into()];
    assert!(!feed.matches(&words, Some("Ленинградская область")));
    feed.sources = vec!["lenobl".into()];
    assert!(feed.matches(&words, Some("Ленинградская область")));
    feed.regions = vec!["Беларусь".into()];
    assert!(!feed.matches(&words, Some("Ленинградская область")));
    let explanation = feed.explain(&words, Some("Ленинградская область"));
    assert!(explanation.restriction.unwrap().contains("region"));
}

#[test]
fn explanations_name_terms_fields_and_words() {
    let words = EntryWords::new(
        &entry("Послы Китая", "Посол Китая посетил волонтёров."),
        None,
    );
    let explanation = topic("посол NEAR/2 Китай OR =НКО").explain(&words, None);
    assert!(explanation.matched);
    assert_eq!(explanation.terms.len(), 3);
    assert_eq!(explanation.terms[0].term, "посол");
    assert_eq!(
        explanation.terms[0].hits,
        [
            ("title", 0, "Послы".to_string()),
            ("text", 0, "Посол".to_string())
        ]
    );
    assert_eq!(
        explanation.terms[1].hits,
        [
            ("title", 1, "Китая".to_string()),
            ("text", 1, "Китая".to_string())
        ]
    );
    assert!(explanation.terms[2].hits.is_empty());
}

#[test]
fn query_errors_point_into_the_config_file() {
    let text = "[[topic]]\nid = \"ngo\"\ntitle = \"НКО\"\nquery = '(НКО OR волонтер'\n\n[[topic]]\nid = \"x\"\ntitle = \"x\"\nquery = '''\nНКО OR\n  author:Иванов'''\n";
    let config = Config::parse(std::path::Path::new("feeds.toml"), text).unwrap();
    let errors: Vec<String> = Topics::compile(&config)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "feeds.toml:4:26: in the query of topic \"ngo\": expected ')' to close the '(' at column 1",
            "feeds.toml:11:3: in the query of topic \"x\": unknown field 'author:': expected title:, text:, source:, region: or category:",
        ]
    );
}

fn topics_for(query: &str) -> Topics {
    let text = format!("[[topic]]\nid = \"ngo\"\ntitle = \"НКО\"\nquery = '{query}'\n");
    Topics::compile(&Config::parse(std::path::Path::new("feeds.toml"), &text).unwrap()).unwrap()
}

fn titles(store: &Store, topic: &str) -> Vec<String> {
    store
        .topic_newest(topic)
        .map(|e| e.unwrap().entry.title)
        .collect()
}

#[test]
fn the_index_follows_entries_and_topic_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let topics = topics_for("НКО OR волонтер*");
    for (title, link) in [
        ("НКО получили гранты", "https://a.ru/1"),
        ("Делегация из Китая", "https://a.ru/2"),
    ] {
        let mut e = entry(title, "");
        e.canonical_url = Some(link.into());
        let keys = crate::cluster::identity_keys(&e);
        store.upsert(e, &keys).unwrap();
    }
    assert_eq!(store.pending_topic_entries().unwrap().len(), 2);
    assert_eq!(topics.reindex_if_changed(&store).unwrap(), 2);
    assert!(store.pending_topic_entries().unwrap().is_empty());
    assert_eq!(titles(&store, "ngo"), ["НКО получили гранты"]);

    // Nothing changed: only pending entries are looked at.
    assert_eq!(topics.reindex_if_changed(&store).unwrap(), 0);

    // An entry edited so that it no longer matches leaves the topic.
    let mut edited = entry("Гранты получили фонды", "");
    edited.canonical_url = Some("https://a.ru/1".into());
    let keys = crate::cluster::identity_keys(&edited);
    store.upsert(edited, &keys).unwrap();
    assert_eq!(topics.index_pending(&store).unwrap(), 1);
    assert!(titles(&store, "ngo").is_empty());

    // A changed query re-evaluates every stored entry.
    let changed = topics_for("Китай");
    assert_eq!(changed.reindex_if_changed(&store).unwrap(), 2);
    assert_eq!(titles(&store, "ngo"), ["Делегация из Китая"]);

    // A removed topic leaves no rows behind.
    let none =
        Topics::compile(&Config::parse(std::path::Path::new("feeds.toml"), "").unwrap()).unwrap();
    none.reindex_if_changed(&store).unwrap();
    assert!(titles(&store, "ngo").is_empty());
}

#[test]
fn a_listing_counts_each_story_once_and_pages_like_the_stories() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for k in 0..12 {
        let mut e = entry(&format!("Новость {k}"), "");
        e.canonical_url = Some(format!("https://a.ru/{k}"));
        e.published = chrono::Utc::now() - chrono::Duration::hours(12 - k);
        let keys = crate::cluster::identity_keys(&e);
        ids.push(store.upsert(e, &keys).unwrap().id().clone());
    }
    // Three stories of three entries each (3 + 4 + 5, 6 + 7 + 8, 9 + 10 + 11), three alone.
    for first in [3, 6, 9] {
        for k in first + 1..first + 3 {
            store.join_stories(&ids[k], &[ids[first].clone()]).unwrap();
        }
    }
    let all =
        Topics::compile(&Config::parse(std::path::Path::new("feeds.toml"), "").unwrap()).unwrap();
    let feed = all.feeds().iter().find(|t| t.is_all()).unwrap();
    let every = feed.stories(&store, usize::MAX).unwrap();
    assert_eq!(every.len(), 6);
    for skip in 0..8 {
        for take in [0, 1, 2, 6] {
            let listing = feed.listing(&store, skip, take).unwrap();
            assert_eq!(listing.stories, 6);
            let expected: Vec<_> = every.iter().skip(skip).take(take).cloned().collect();
            assert_eq!(listing.page, expected, "skip {skip}, take {take}");
        }
    }
}
