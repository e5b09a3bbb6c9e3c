//! Whole flows: fixture sources on a loopback upstream, polled into a real sled store, read back
//! from Vestnik's own HTTP server by feed parsers.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::{fixture_sources, load, serve, write_config, Reply, Upstream};
use vestnik::daemon;
use vestnik::ingest::PollStatus;

const SEED_TITLE_LENOBL: &str = "Ленинградская область предложила Беларуси дружить НКО";
const SEED_TITLE_VREMYA: &str = "Ленобласть и Беларусь будут обмениваться опытом поддержки НКО";
const SEED_TITLE_NEWS47: &str =
    "Дрозденко договорился с Минской областью о сотрудничестве в сфере НКО";
const ALL_ITEMS: usize = 5 + 4 + 4 + 4;
/// The seed press release is carried by lenobl, vremya and news47: one story of three entries.
const ALL_STORIES: usize = ALL_ITEMS - 2;

struct Setup {
    _dir: tempfile::TempDir,
    upstream: Upstream,
    config: vestnik::config::Config,
    store: Arc<vestnik::store::Store>,
    topics: Arc<vestnik::topics::Topics>,
}

/// Polls the named sources once (all of them when none are named).
async fn poll(setup: &Setup, ids: &[&str]) -> Vec<vestnik::ingest::PollReport> {
    let sources: Vec<_> = if ids.is_empty() {
        setup.config.sources.clone()
    } else {
        ids.iter()
            .map(|id| setup.config.source(id).unwrap().clone())
            .collect()
    };
    daemon::poll_once(&setup.config, &setup.store, &setup.topics, &sources, |_| {})
        .await
        .unwrap()
}

async fn setup(extra_sources: Vec<(&'static str, &'static str, Reply)>) -> Setup {
    setup_with_topics(
        extra_sources,
        "[[topic]]\nid = \"ngo\"\ntitle = \"НКО\"\nquery = 'НКО OR волонтер*'\n",
    )
    .await
}

/// The fixture sources (and any extra ones) on a loopback upstream, a config naming them with
/// `topics`, and a store in a temp dir.
async fn setup_with_topics(
    extra_sources: Vec<(&'static str, &'static str, Reply)>,
    topics: &str,
) -> Setup {
    let mut sources = fixture_sources();
    sources.extend(extra_sources);
    let (upstream, named) = common::start_sources(&sources).await;
    let dir = tempfile::tempdir().unwrap();
    let config = load(&write_config(dir.path(), "127.0.0.1:8080", &named, topics));
    let store = daemon::open_store(&config).unwrap();
    let topics = daemon::compile_topics(&config).unwrap();
    Setup {
        topics,
        _dir: dir,
        upstream,
        config,
        store,
    }
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn every_format_goes_in_and_comes_out_of_the_store() {
    let setup = setup(vec![]).await;
    let reports = poll(&setup, &[]).await;
    for report in &reports {
        assert_eq!(report.status, PollStatus::Ingested, "{report:?}");
    }
    assert_eq!(reports.iter().map(|r| r.inserted).sum::<usize>(), ALL_ITEMS);
    assert_eq!(setup.store.entry_count(), ALL_ITEMS);

    let base = serve(setup.config.clone(), Arc::clone(&setup.store)).await;

    // RSS, read back by feed-rs.
    let response = get(&format!("{base}/feeds/all.rss")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let rss = feed_rs::parser::parse(&response.bytes().await.unwrap()[..]).unwrap();
    assert_eq!(rss.entries.len(), ALL_STORIES);
    let titles: Vec<String> = rss
        .entries
        .iter()
        .map(|e| e.title.clone().unwrap().content)
        .collect();
    // The seed press release, carried by three outlets, is one item under the earliest outlet.
    assert_eq!(
        titles.iter().filter(|t| *t == SEED_TITLE_LENOBL).count(),
        1,
        "{titles:#?}"
    );
    for copy in [SEED_TITLE_VREMYA, SEED_TITLE_NEWS47] {
        assert!(
            !titles.iter().any(|t| t == copy),
            "{copy} should be folded into the story"
        );
    }
    // Newest first.
    let dates: Vec<_> = rss.entries.iter().map(|e| e.published.unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    let seed = rss
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content == SEED_TITLE_LENOBL)
        .unwrap();
    assert_eq!(
        seed.links[0].href,
        "https://lenobl.ru/ru/dlya-smi/news/58312/"
    );
    assert_eq!(seed.published, Some(utc("2026-11-24T07:15:00Z")));
    let description = seed.summary.as_ref().unwrap().content.clone();
    assert!(description.contains("Также сообщают:"), "{description}");
    assert!(description.contains(r#"<a href="https://vremya-kingisepp.ru/news/2026/11/24/lenoblast-belarus-nko.html">Источник vremya</a>"#), "{description}");
    assert!(
        description.contains(r#"<a href="https://47news.ru/articles/260114/">Источник news47</a>"#),
        "{description}"
    );
    // A windows-1251 item of its own, decoded.
    assert!(
        titles
            .iter()
            .any(|t| t == "Волонтёры очистили берег Луги от мусора"),
        "{titles:#?}"
    );

    // Atom, read back by atom_syndication: the other outlets as related links.
    let atom_bytes = get(&format!("{base}/feeds/all.atom"))
        .await
        .bytes()
        .await
        .unwrap();
    let atom = atom_syndication::Feed::read_from(&atom_bytes[..]).unwrap();
    assert_eq!(atom.entries.len(), ALL_STORIES);
    let seed = atom
        .entries
        .iter()
        .find(|e| e.title.value == SEED_TITLE_LENOBL)
        .unwrap();
    assert_eq!(seed.links[0].rel, "alternate");
    let related: Vec<(String, Option<String>)> = seed
        .links
        .iter()
        .filter(|l| l.rel == "related")
        .map(|l| (l.href.clone(), l.title.clone()))
        .collect();
    assert_eq!(
        related,
        [
            (
                "https://47news.ru/articles/260114/".to_string(),
                Some("Источник news47".to_string())
            ),
            (
                "https://vremya-kingisepp.ru/news/2026/11/24/lenoblast-belarus-nko.html"
                    .to_string(),
                Some("Источник vremya".to_string())
            ),
        ]
    );
    let news47_own = atom.entries.iter().find(|e| e.title.value == "Форум некоммерческих организаций Ленобласти собрал в Гатчине более 500 участников").unwrap();
    assert_eq!(
        news47_own.published.unwrap().with_timezone(&Utc),
        utc("2026-11-23T16:40:00Z")
    );
    assert!(atom
        .links
        .iter()
        .any(|l| l.rel == "self" && l.href == "http://127.0.0.1:8080/feeds/all.atom"));

    // JSON Feed, read back as JSON: the outlets in the _vestnik extension.
    let json: serde_json::Value = get(&format!("{base}/feeds/all.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), ALL_STORIES);
    assert!(items.iter().any(|i| i["title"] == "Минская и Ленинградская области подписали дорожную карту гуманитарного сотрудничества"));
    let seed = items
        .iter()
        .find(|i| i["title"] == SEED_TITLE_LENOBL)
        .unwrap();
    let outlets: Vec<&str> = seed["_vestnik"]["outlets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["source"].as_str().unwrap())
        .collect();
    assert_eq!(outlets, ["lenobl", "news47", "vremya"]);
    assert_eq!(seed["_vestnik"]["outlets"][0]["primary"], true);
    // Every format names each story by the same stable id.
    let rss_ids: std::collections::BTreeSet<String> =
        rss.entries.iter().map(|e| e.id.clone()).collect();
    let json_ids: std::collections::BTreeSet<String> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rss_ids, json_ids);

    // A topic feed carries only what matches; an unknown topic is 404.
    let ngo = feed_rs::parser::parse(
        &get(&format!("{base}/feeds/ngo.rss"))
            .await
            .bytes()
            .await
            .unwrap()[..],
    )
    .unwrap();
    assert!(
        !ngo.entries.is_empty() && ngo.entries.len() < ALL_STORIES,
        "{}",
        ngo.entries.len()
    );
    assert!(ngo
        .entries
        .iter()
        .any(|e| e.title.as_ref().unwrap().content == SEED_TITLE_LENOBL));
    assert_eq!(get(&format!("{base}/feeds/nope.rss")).await.status(), 404);
    assert_eq!(get(&format!("{base}/feeds/all.xml")).await.status(), 404);
}

#[tokio::test]
async fn a_second_poll_is_conditional_and_a_304_changes_nothing() {
    let setup = setup(vec![]).await;
    setup.upstream.set(
        "/lenobl/rss",
        Reply::ok(
            "application/rss+xml",
            common::fixture("feeds/lenobl.rss.xml"),
        )
        .with_etag("\"lenobl-v1\""),
    );
    let first = poll(&setup, &["lenobl"]).await;
    assert_eq!(first[0].status, PollStatus::Ingested);
    assert_eq!(first[0].inserted, 5);
    let state = setup.store.source_state("lenobl").unwrap().unwrap();
    assert_eq!(state.etag.as_deref(), Some("\"lenobl-v1\""));

    let second = poll(&setup, &["lenobl"]).await;
    assert_eq!(second[0].status, PollStatus::NotModified);
    assert_eq!(second[0].http_status, Some(304));
    let requests = setup.upstream.requests_to("/lenobl/rss");
    assert_eq!(requests.len(), 2);
    assert!(requests[0].headers.get("if-none-match").is_none());
    assert_eq!(requests[1].headers["if-none-match"], "\"lenobl-v1\"");
    assert!(requests[1].headers["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("vestnik/"));
    assert_eq!(setup.store.entry_count(), 5);
    let state = setup.store.source_state("lenobl").unwrap().unwrap();
    assert!(state.last_success.is_some() && state.consecutive_failures == 0);
}

#[tokio::test]
async fn a_repeated_item_is_not_stored_twice() {
    let setup = setup(vec![]).await;
    poll(&setup, &[]).await;
    let again = poll(&setup, &[]).await;
    assert_eq!(again.iter().map(|r| r.inserted).sum::<usize>(), 0);
    assert_eq!(again.iter().map(|r| r.unchanged).sum::<usize>(), ALL_ITEMS);
    assert_eq!(setup.store.entry_count(), ALL_ITEMS);
    // The same item under a tracking-decorated link is the same entry too.
    let decorated = String::from_utf8(common::fixture("feeds/lenobl.rss.xml"))
        .unwrap()
        .replace(
            "utm_source=rss&amp;utm_medium=feed",
            "utm_source=vk&amp;utm_campaign=x",
        );
    setup.upstream.set(
        "/lenobl/rss",
        Reply::ok("application/rss+xml", decorated.into_bytes()),
    );
    let third = poll(&setup, &["lenobl"]).await;
    assert_eq!(third[0].inserted, 0, "{:?}", third[0]);
    assert_eq!(setup.store.entry_count(), ALL_ITEMS);
}

#[tokio::test]
async fn windows_1251_announced_only_by_http_is_decoded() {
    let body = common::fixture("feeds/vremya.1251.rss.xml");
    let text_start = body.windows(2).position(|w| w == b"?>").unwrap() + 2;
    let undeclared = body[text_start..].to_vec();
    let setup = setup(vec![(
        "vremya-bare",
        "/vremya/bare",
        Reply::ok("text/xml; charset=windows-1251", undeclared),
    )])
    .await;
    let reports = poll(&setup, &["vremya-bare"]).await;
    assert_eq!(reports[0].status, PollStatus::Ingested, "{:?}", reports[0]);
    let titles: Vec<String> = setup
        .store
        .newest()
        .map(|e| e.unwrap().entry.title)
        .collect();
    assert!(titles.iter().any(|t| t == SEED_TITLE_VREMYA), "{titles:?}");
}

#[tokio::test]
async fn a_failing_source_leaves_the_others_flowing() {
    let setup = setup(vec![
        ("broken", "/broken/rss", Reply::status(500)),
        (
            "garbage",
            "/garbage/rss",
            Reply::ok(
                "text/xml",
                b"\x00\x01<rss><channel><item><title>\xff\xfe".to_vec(),
            ),
        ),
    ])
    .await;
    let reports = poll(&setup, &[]).await;
    let by_id = |id: &str| reports.iter().find(|r| r.source_id == id).unwrap().clone();
    assert_eq!(by_id("broken").status, PollStatus::Failed);
    assert_eq!(by_id("broken").http_status, Some(500));
    assert_eq!(by_id("garbage").status, PollStatus::Failed);
    for id in ["lenobl", "vremya", "news47", "belta"] {
        assert_eq!(by_id(id).status, PollStatus::Ingested, "{id}");
    }
    assert_eq!(setup.store.entry_count(), ALL_ITEMS);

    let base = serve(setup.config.clone(), Arc::clone(&setup.store)).await;
    let health: serde_json::Value = get(&format!("{base}/healthz")).await.json().await.unwrap();
    assert_eq!(health["status"], "degraded");
    let sources = health["sources"].as_array().unwrap();
    let broken = sources.iter().find(|s| s["id"] == "broken").unwrap();
    assert_eq!(broken["status"], "failing");
    assert_eq!(broken["consecutive_failures"], 1);
    assert_eq!(broken["last_error"], "HTTP status 500");
    let lenobl = sources.iter().find(|s| s["id"] == "lenobl").unwrap();
    assert_eq!(lenobl["status"], "ok");
    assert_eq!(lenobl["items_seen"], 5);
}

#[tokio::test]
async fn feeds_answer_conditional_requests_and_compress() {
    let setup = setup(vec![]).await;
    poll(&setup, &[]).await;
    let base = serve(setup.config.clone(), Arc::clone(&setup.store)).await;
    let client = reqwest::Client::builder()
        .gzip(false)
        .brotli(false)
        .build()
        .unwrap();
    let url = format!("{base}/feeds/all.atom");
    let first = client.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let last_modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    let body = first.bytes().await.unwrap();

    let again = client.get(&url).send().await.unwrap();
    assert_eq!(
        again.headers()["etag"].to_str().unwrap(),
        etag,
        "rendering is deterministic"
    );
    assert_eq!(again.bytes().await.unwrap(), body);

    let not_modified = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    assert!(not_modified.bytes().await.unwrap().is_empty());
    let by_date = client
        .get(&url)
        .header("if-modified-since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(by_date.status(), 304);
    let stale = client
        .get(&url)
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);

    for encoding in ["gzip", "br"] {
        let compressed = client
            .get(&url)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(compressed.headers()["content-encoding"], encoding);
        assert!(compressed.bytes().await.unwrap().len() < body.len() / 2);
    }

    // A new entry changes the ETag.
    setup.upstream.set("/belta/feed.json", Reply::ok("application/feed+json", r#"{"version":"https://jsonfeed.org/version/1.1","title":"BelTA","items":[{"id":"new-1","url":"https://www.belta.by/new-1","title":"Новая новость","content_html":"<p>Текст</p>","date_published":"2026-11-25T20:00:00+03:00"}]}"#.as_bytes().to_vec()));
    poll(&setup, &["belta"]).await;
    let changed = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
}

/// The shipped topics' feeds carry exactly the stored entries their queries match.
#[tokio::test]
async fn topic_feeds_carry_exactly_their_matching_entries() {
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds.toml")).unwrap();
    let setup = setup_with_topics(vec![], &shipped[shipped.find("[[topic]]").unwrap()..]).await;
    poll(&setup, &[]).await;
    let (store, topics) = (&setup.store, &setup.topics);
    let base = serve(setup.config.clone(), Arc::clone(store)).await;

    let feed_titles = |topic: &'static str| {
        let base = base.clone();
        async move {
            let bytes = get(&format!("{base}/feeds/{topic}.rss"))
                .await
                .bytes()
                .await
                .unwrap();
            let feed = feed_rs::parser::parse(&bytes[..]).unwrap();
            feed.entries
                .into_iter()
                .map(|e| e.title.unwrap().content)
                .collect::<std::collections::BTreeSet<_>>()
        }
    };
    for topic_id in ["ngo", "intl"] {
        let topic = topics.find(topic_id).unwrap();
        // The independent path: every stored entry, fully analysed, evaluated directly; a story
        // is in the feed when any of its entries matches, under its primary entry's title.
        let expected: std::collections::BTreeSet<String> = store
            .newest()
            .map(|e| e.unwrap())
            .filter(|e| topic.explain(&topics.analyse_fully(&e.entry), None).matched)
            .map(|e| {
                vestnik::topics::StoryView::load(store, e, topics.priorities())
                    .unwrap()
                    .primary
                    .entry
                    .title
            })
            .collect();
        assert_eq!(feed_titles(topic_id).await, expected, "{topic_id}");
    }
    let ngo = feed_titles("ngo").await;
    let intl = feed_titles("intl").await;
    assert!(ngo.contains(SEED_TITLE_LENOBL) && intl.contains(SEED_TITLE_LENOBL));
    assert!(
        ngo.contains("Стартовал конкурс субсидий для социально ориентированных НКО на 2027 год")
    );
    assert!(
        !intl.contains("Стартовал конкурс субсидий для социально ориентированных НКО на 2027 год")
    );
    assert!(
        intl.contains("Ленинградская область и провинция Хэйлунцзян обсудили рост товарооборота")
    );
    assert!(
        !ngo.contains("В Мурине открылась новая школа на 1375 мест")
            && !intl.contains("В Мурине открылась новая школа на 1375 мест")
    );
}

/// The outlet of highest priority is a story's primary, whenever it published; the story keeps
/// its id (the first entry's) so readers never see it twice.
#[tokio::test]
async fn the_highest_priority_outlet_leads_a_story_and_its_id_stays() {
    let setup = setup(vec![]).await;
    poll(&setup, &["lenobl"]).await;
    let base = serve(setup.config.clone(), Arc::clone(&setup.store)).await;
    let first: serde_json::Value = get(&format!("{base}/feeds/all.json"))
        .await
        .json()
        .await
        .unwrap();
    let seed_id = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == SEED_TITLE_LENOBL)
        .unwrap()["id"]
        .clone();

    poll(&setup, &["vremya", "news47"]).await;
    let mut config = setup.config.clone();
    config
        .sources
        .iter_mut()
        .find(|s| s.id == "vremya")
        .unwrap()
        .priority = 10;
    let base = serve(config, Arc::clone(&setup.store)).await;
    let json: serde_json::Value = get(&format!("{base}/feeds/all.json"))
        .await
        .json()
        .await
        .unwrap();
    let items = json["items"].as_array().unwrap();
    let seed = items
        .iter()
        .find(|i| i["id"] == seed_id)
        .expect("the story keeps its id");
    assert_eq!(
        seed["title"], SEED_TITLE_VREMYA,
        "the priority outlet is primary"
    );
    assert_eq!(
        seed["url"],
        "https://vremya-kingisepp.ru/news/2026/11/24/lenoblast-belarus-nko.html"
    );
    let outlets: Vec<&str> = seed["_vestnik"]["outlets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["source"].as_str().unwrap())
        .collect();
    assert_eq!(outlets, ["vremya", "lenobl", "news47"]);
    assert_eq!(
        items
            .iter()
            .filter(|i| i["_vestnik"]["outlets"].as_array().unwrap().len() > 1)
            .count(),
        1
    );
}

/// An archive's first fetch, far larger than a usual poll (more than two of the slices ingest
/// stores at a time, normalized on all cores): every item is stored once, placed in its story
/// and indexed under its topics, however far down the feed it stands.
#[tokio::test]
async fn an_archive_of_a_thousand_items_is_stored_placed_and_indexed_whole() {
    const ITEMS: usize = 1_100;
    const COPY_AT: usize = 1_093;
    let lenobl = String::from_utf8(common::fixture("feeds/lenobl.rss.xml")).unwrap();
    let seed_text = {
        let start = lenobl.find("<yandex:full-text>").unwrap() + "<yandex:full-text>".len();
        let end = start + lenobl[start..].find("</yandex:full-text>").unwrap();
        lenobl[start..end].to_string()
    };
    let mut feed = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Архив районной газеты</title><link>https://rayon.example/</link>\n",
    );
    let mentions_ngo = |k: usize| k.is_multiple_of(10);
    for k in 0..ITEMS {
        let (title, text) = if k == COPY_AT {
            (
                "Ленобласть и Беларусь обменяются опытом".to_string(),
                seed_text.clone(),
            )
        } else {
            let topic = if mentions_ngo(k) {
                "поддержке НКО"
            } else {
                "ремонту дорог"
            };
            (
                format!("Заседание комиссии №{k}"),
                format!("В администрации района прошло заседание комиссии №{k} по {topic}. Обсудили {k} обращений жителей посёлка и план работ на {} год.", 2000 + k),
            )
        };
        feed.push_str(&format!(
            "<item><title>{title}</title><link>https://rayon.example/news/{k}</link><guid>rayon-{k}</guid><pubDate>{:02} Nov 2026 {:02}:{:02}:00 +0300</pubDate><description>{text}</description></item>\n",
            20 + k / 1440,
            k / 60 % 24,
            k % 60,
        ));
    }
    feed.push_str("</channel></rss>\n");
    let setup = setup(vec![(
        "archive",
        "/archive/rss",
        Reply::ok("application/rss+xml", feed.into_bytes()),
    )])
    .await;
    poll(&setup, &["lenobl"]).await;
    let report = poll(&setup, &["archive"]).await.remove(0);
    assert_eq!(report.status, PollStatus::Ingested, "{report:?}");
    assert_eq!((report.items, report.inserted), (ITEMS, ITEMS));

    let store = &setup.store;
    assert_eq!(store.pending_story_entries().unwrap(), vec![]);
    assert_eq!(store.pending_topic_entries().unwrap(), vec![]);
    let archive: Vec<_> = store
        .newest()
        .map(|e| e.unwrap())
        .filter(|e| e.entry.source_id == "archive")
        .collect();
    assert_eq!(archive.len(), ITEMS);

    // The copy near the end joined the press release polled before it.
    let copy = archive
        .iter()
        .find(|e| e.entry.title == "Ленобласть и Беларусь обменяются опытом")
        .unwrap();
    let story = store.story(&copy.story_id).unwrap().unwrap();
    let mut sources: Vec<_> = story.members.iter().map(|m| m.source_id.as_str()).collect();
    sources.sort();
    assert_eq!(sources, ["archive", "lenobl"]);

    // Exactly the items that mention НКО are in the topic, from the first slice to the last.
    let indexed: std::collections::BTreeSet<String> = store
        .topic_newest("ngo")
        .map(|e| e.unwrap())
        .filter(|e| e.entry.source_id == "archive")
        .map(|e| e.entry.title)
        .collect();
    let expected: std::collections::BTreeSet<String> = (0..ITEMS)
        .filter(|&k| k != COPY_AT && mentions_ngo(k))
        .map(|k| format!("Заседание комиссии №{k}"))
        .chain(["Ленобласть и Беларусь обменяются опытом".to_string()])
        .collect();
    assert_eq!(indexed, expected);
}
