//! Normalization through whole polls: a loopback upstream, a real sled store. Site chrome in feed
//! content, `yandex:full-text`, full-text fetching of article pages, HTML list pages, language.

mod common;

use std::sync::Arc;

use common::{fixture, load, Reply, Upstream};
use vestnik::daemon;
use vestnik::ingest::{PollReport, PollStatus};
use vestnik::store::{Store, StoredEntry};

struct Setup {
    _dir: tempfile::TempDir,
    config: vestnik::config::Config,
    store: Arc<Store>,
    topics: Arc<vestnik::topics::Topics>,
}

/// A config with the given `[[source]]` blocks (TOML text) and a store in a temp directory.
fn setup(sources: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[settings]\ndata_dir = \"data\"\ntimeout = \"5s\"\ntimezone = \"Europe/Moscow\"\n\n{sources}"
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    let config = load(&path);
    let store = daemon::open_store(&config).unwrap();
    let topics = daemon::compile_topics(&config).unwrap();
    Setup {
        _dir: dir,
        config,
        store,
        topics,
    }
}

async fn poll(setup: &Setup) -> Vec<PollReport> {
    daemon::poll_once(
        &setup.config,
        &setup.store,
        &setup.topics,
        &setup.config.sources,
        |_| {},
    )
    .await
    .unwrap()
}

fn stored(store: &Store) -> Vec<StoredEntry> {
    store.newest().map(|e| e.unwrap()).collect()
}

fn by_title<'a>(entries: &'a [StoredEntry], title: &str) -> &'a StoredEntry {
    entries
        .iter()
        .find(|e| e.entry.title == title)
        .unwrap_or_else(|| panic!("no entry «{title}»"))
}

fn expected_text(name: &str) -> String {
    String::from_utf8(fixture(&format!("extraction/{name}.expected.txt")))
        .unwrap()
        .trim_end()
        .to_string()
}

const SEED: [&str; 4] = [
    "Ленинградская область расширяет сотрудничество",
    "«Впервые в истории сотрудничества",
    "Пункты о взаимодействии НКО",
    "Подписанные документы предполагают",
];

#[tokio::test]
async fn feed_chrome_is_removed_and_learned_per_source() {
    let upstream = Upstream::start(vec![(
        "/vremya/rss",
        Reply::ok("text/xml", fixture("feeds/vremya.1251.rss.xml")),
    )])
    .await;
    let setup = setup(&format!(
        "[[source]]\nid = \"vremya\"\nurl = \"{}\"\n",
        upstream.url("/vremya/rss")
    ));
    let reports = poll(&setup).await;
    assert_eq!(reports[0].status, PollStatus::Ingested, "{:?}", reports[0]);
    let entries = stored(&setup.store);
    assert_eq!(entries.len(), 4);
    let nko = by_title(
        &entries,
        "Ленобласть и Беларусь будут обмениваться опытом поддержки НКО",
    );
    let paragraphs: Vec<&str> = nko.entry.text.split("\n\n").collect();
    assert_eq!(paragraphs.len(), 4, "{}", nko.entry.text);
    for (paragraph, start) in paragraphs.iter().zip(SEED) {
        assert!(paragraph.starts_with(start), "{paragraph}");
    }
    for entry in &entries {
        for chrome in [
            "Дорогие друзья",
            "Присоединяйтесь",
            "Поделиться",
            "Вернуться к списку",
            "Поиск",
            "Подписка",
            "подписчиков",
            "Реклама",
        ] {
            assert!(
                !entry.entry.text.contains(chrome) && !entry.entry.content_html.contains(chrome),
                "{chrome} in «{}»: {}",
                entry.entry.title,
                entry.entry.content_html
            );
        }
        assert_eq!(entry.entry.language.as_deref(), Some("ru"));
    }
    // Relative links in content are resolved against the item's link.
    let exhibition = by_title(
        &entries,
        "В центральной библиотеке открылась выставка «Ямбургские истории»",
    );
    assert!(
        exhibition
            .entry
            .content_html
            .contains("src=\"https://vremya-kingisepp.ru/upload/"),
        "{}",
        exhibition.entry.content_html
    );
    // The source's memory of recurring paragraphs is kept for the next poll.
    let memory = setup.store.recurring_blocks("vremya").unwrap();
    assert_eq!(memory.len(), 4);
    assert!(!memory.recurring().is_empty());
}

#[tokio::test]
async fn yandex_full_text_is_stored_instead_of_the_lead() {
    let upstream = Upstream::start(vec![(
        "/lenobl/rss",
        Reply::ok("application/rss+xml", fixture("feeds/lenobl.rss.xml")),
    )])
    .await;
    let setup = setup(&format!(
        "[[source]]\nid = \"lenobl\"\nurl = \"{}\"\n",
        upstream.url("/lenobl/rss")
    ));
    poll(&setup).await;
    let entries = stored(&setup.store);
    let nko = by_title(
        &entries,
        "Ленинградская область предложила Беларуси дружить НКО",
    );
    assert_eq!(nko.entry.text, expected_text("00-vremya-seed"));
    assert!(nko
        .entry
        .content_html
        .starts_with("<p>Ленинградская область"));
    assert_eq!(
        nko.entry.link.as_deref(),
        Some("https://lenobl.ru/ru/dlya-smi/news/58312/")
    );
    assert_eq!(
        nko.entry.canonical_url.as_deref(),
        Some("https://lenobl.ru/ru/dlya-smi/news/58312")
    );
}

/// A feed of leads whose items link to article pages on the same upstream.
fn lead_feed(upstream: &Upstream, pages: &[(&str, &str)]) -> Vec<u8> {
    let mut rss = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Вестник</title>");
    for (i, (path, title)) in pages.iter().enumerate() {
        rss.push_str(&format!(
            "<item><title>{title}</title><link>{}?utm_source=rss</link><guid>p-{i}</guid><pubDate>2{i} Nov 2026 10:00:00 MSK</pubDate><description>Короткий лид.</description></item>",
            upstream.url(path)
        ));
    }
    rss.push_str("</channel></rss>");
    rss.into_bytes()
}

#[tokio::test]
async fn full_text_sources_fetch_each_new_page_once() {
    let upstream = Upstream::start(vec![
        (
            "/news/fap.html",
            Reply::ok(
                "text/html; charset=utf-8",
                fixture("extraction/03-bitrix-krestcy-fap.html"),
            ),
        ),
        (
            "/news/sambo.html",
            Reply::ok("text/html", fixture("extraction/05-bitrix-luga-sambo.html")),
        ),
        ("/news/broken.html", Reply::status(500)),
    ])
    .await;
    let pages = [
        (
            "/news/fap.html",
            "В Новом Рахине открылся новый фельдшерско-акушерский пункт",
        ),
        (
            "/news/sambo.html",
            "Лужские самбисты завоевали пять медалей первенства СЗФО",
        ),
        ("/news/broken.html", "Страница с ошибкой"),
    ];
    upstream.set(
        "/feed.xml",
        Reply::ok("application/rss+xml", lead_feed(&upstream, &pages)),
    );
    let setup = setup(&format!(
        "[[source]]\nid = \"vestnik\"\nurl = \"{}\"\nfull_text = true\n",
        upstream.url("/feed.xml")
    ));
    let reports = poll(&setup).await;
    assert_eq!(reports[0].status, PollStatus::Ingested, "{:?}", reports[0]);
    assert_eq!(reports[0].inserted, 3);
    let entries = stored(&setup.store);
    let fap = by_title(&entries, pages[0].1);
    assert_eq!(fap.entry.text, expected_text("03-bitrix-krestcy-fap"));
    // The windows-1251 page, announced only in its <meta>, is decoded as feeds are.
    let sambo = by_title(&entries, pages[1].1);
    assert_eq!(sambo.entry.text, expected_text("05-bitrix-luga-sambo"));
    // A page that fails leaves the feed's text.
    assert_eq!(by_title(&entries, pages[2].1).entry.text, "Короткий лид.");
    // Dates: "MSK" is +03:00.
    assert_eq!(
        fap.entry.published.to_rfc3339(),
        "2026-11-20T07:00:00+00:00"
    );
    for (path, _) in pages {
        let seen = upstream.requests_to(path);
        assert_eq!(seen.len(), 1, "{path}");
        assert!(seen[0].headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("vestnik/"));
    }

    // The next poll fetches no page again and keeps the full text.
    let again = poll(&setup).await;
    assert_eq!(again[0].unchanged, 3, "{:?}", again[0]);
    for (path, _) in pages {
        assert_eq!(upstream.requests_to(path).len(), 1, "{path}");
    }
    let entries = stored(&setup.store);
    assert_eq!(
        by_title(&entries, pages[0].1).entry.text,
        expected_text("03-bitrix-krestcy-fap")
    );
}

#[tokio::test]
async fn html_list_pages_give_items_with_links_and_dates() {
    let list = r#"<html><head><meta charset="utf-8"><title>Новости</title></head><body>
<div class="news-item"><a class="title" href="/news/1.html?utm_medium=list">Открыли школу</a><span class="date">24 ноября 2026, 10:30</span><p class="lead">В Кингисеппе открыли школу на 600 мест.</p></div>
<div class="news-item"><a class="title" href="news/2.html">Ремонт дорог</a><span class="date">23.11.2026 18:05</span></div>
</body></html>"#;
    let upstream = Upstream::start(vec![
        (
            "/list/",
            Reply::ok("text/html; charset=utf-8", list.as_bytes().to_vec()),
        ),
        (
            "/empty/",
            Reply::ok(
                "text/html",
                b"<html><body><p>Redesign</p></body></html>".to_vec(),
            ),
        ),
    ])
    .await;
    let setup = setup(&format!(
        "[[source]]\nid = \"list\"\nurl = \"{}\"\nkind = \"html\"\ntimezone = \"Europe/Minsk\"\n[source.html]\nitem = \".news-item\"\ntitle = \"a.title\"\nlink = \"a.title\"\ndate = \".date\"\nsummary = \".lead\"\n\n[[source]]\nid = \"empty\"\nurl = \"{}\"\nkind = \"html\"\n[source.html]\nitem = \".news-card\"\ntitle = \"a\"\nlink = \"a\"\n",
        upstream.url("/list/"),
        upstream.url("/empty/")
    ));
    let reports = poll(&setup).await;
    let list_report = reports.iter().find(|r| r.source_id == "list").unwrap();
    assert_eq!(list_report.status, PollStatus::Ingested, "{list_report:?}");
    let empty = reports.iter().find(|r| r.source_id == "empty").unwrap();
    assert_eq!(empty.status, PollStatus::Failed);
    assert_eq!(
        empty.error.as_deref(),
        Some("the item selector \".news-card\" matched nothing on the page")
    );
    let entries = stored(&setup.store);
    let school = by_title(&entries, "Открыли школу");
    assert_eq!(
        school.entry.link.as_deref(),
        Some(upstream.url("/news/1.html").as_str())
    );
    assert_eq!(school.entry.text, "В Кингисеппе открыли школу на 600 мест.");
    // Minsk is UTC+3: 10:30 local is 07:30 UTC.
    assert_eq!(
        school.entry.published.to_rfc3339(),
        "2026-11-24T07:30:00+00:00"
    );
    let roads = by_title(&entries, "Ремонт дорог");
    assert_eq!(
        roads.entry.link.as_deref(),
        Some(upstream.url("/list/news/2.html").as_str())
    );
    assert_eq!(
        roads.entry.published.to_rfc3339(),
        "2026-11-23T15:05:00+00:00"
    );
}
