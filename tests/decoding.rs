//! Every charset and every malformation a lenient reader copes with, end to end: fixtures served
//! over loopback HTTP, polled into a real store, titles read back. Feeds and HTML list pages.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{fixture, load, Reply, Upstream};
use vestnik::daemon;
use vestnik::fetch::{CharsetSource, Fetcher};
use vestnik::ingest::{self, PollStatus, Target};
use vestnik::store::Store;

/// A source to serve and poll: id, fixture file, `Content-Type`, and whether it is a list page.
struct Case {
    id: &'static str,
    file: &'static str,
    content_type: &'static str,
    page: bool,
}

const fn feed(id: &'static str, file: &'static str, content_type: &'static str) -> Case {
    Case {
        id,
        file,
        content_type,
        page: false,
    }
}

const fn page(id: &'static str, file: &'static str, content_type: &'static str) -> Case {
    Case {
        id,
        file,
        content_type,
        page: true,
    }
}

const SELECTORS: &str =
    "kind = \"html\"\n[source.html]\nitem = \".news-item\"\ntitle = \"a.title\"\nlink = \"a.title\"\ndate = \".date\"\n";

/// Serves and polls `cases`; returns each source's stored titles, sorted, and the store.
async fn poll_cases(
    cases: &[Case],
) -> (BTreeMap<String, Vec<String>>, Arc<Store>, tempfile::TempDir) {
    let paths: Vec<String> = cases.iter().map(|c| path_of(c.id)).collect();
    let upstream = Upstream::start(
        cases
            .iter()
            .zip(&paths)
            .map(|(case, path)| {
                (
                    path.as_str(),
                    Reply::ok(case.content_type, fixture(case.file)),
                )
            })
            .collect(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = "[settings]\ndata_dir = \"data\"\n".to_string();
    for case in cases {
        text.push_str(&format!(
            "[[source]]\nid = \"{}\"\nurl = \"{}\"\n{}\n",
            case.id,
            upstream.url(&path_of(case.id)),
            if case.page { SELECTORS } else { "" }
        ));
    }
    std::fs::write(dir.path().join("feeds.toml"), text).unwrap();
    let config = load(&dir.path().join("feeds.toml"));
    let store = daemon::open_store(&config).unwrap();
    let topics = daemon::compile_topics(&config).unwrap();
    let reports = daemon::poll_once(&config, &store, &topics, &config.sources, |_| {})
        .await
        .unwrap();
    for report in &reports {
        assert_eq!(report.status, PollStatus::Ingested, "{report:?}");
    }
    let mut titles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for stored in store.newest() {
        let entry = stored.unwrap().entry;
        titles.entry(entry.source_id).or_default().push(entry.title);
    }
    titles.values_mut().for_each(|t| t.sort());
    (titles, store, dir)
}

fn path_of(id: &str) -> String {
    format!("/{id}")
}

fn sorted(titles: &[&str]) -> Vec<String> {
    let mut titles: Vec<String> = titles.iter().map(|t| t.to_string()).collect();
    titles.sort();
    titles
}

#[tokio::test]
async fn every_charset_decodes_in_feeds_and_pages() {
    let cases = [
        feed(
            "w1251-declared",
            "charsets/rss.1251.declared.xml",
            "text/xml",
        ),
        feed(
            "w1251-undeclared",
            "charsets/rss.1251.undeclared.xml",
            "application/rss+xml",
        ),
        feed("koi8r", "charsets/rss.koi8r.xml", "application/xml"),
        feed(
            "bom-wrong-declaration",
            "charsets/rss.utf8-bom.declared-1251.xml",
            "text/xml; charset=windows-1251",
        ),
        feed("utf16le", "charsets/rss.utf16le.xml", "application/rss+xml"),
        feed("utf16be", "charsets/rss.utf16be.xml", "application/rss+xml"),
        feed(
            "utf16be-no-bom",
            "charsets/rss.utf16be.no-bom.xml",
            "application/rss+xml",
        ),
        feed(
            "leading-whitespace",
            "charsets/rss.1251.leading-whitespace.xml",
            "text/xml",
        ),
        page(
            "page-w1251-meta",
            "charsets/page.1251.meta.html",
            "text/html",
        ),
        page(
            "page-w1251-undeclared",
            "charsets/page.1251.undeclared.html",
            "text/html",
        ),
        page("page-koi8r", "charsets/page.koi8r.html", "text/html"),
        page(
            "page-bom-wrong-meta",
            "charsets/page.utf8-bom.meta-1251.html",
            "text/html",
        ),
        page("page-utf16le", "charsets/page.utf16le.html", "text/html"),
        page("page-utf16be", "charsets/page.utf16be.html", "text/html"),
    ];
    let (titles, _store, _dir) = poll_cases(&cases).await;
    let expected: [(&str, [&str; 2]); 14] = [
        (
            "w1251-declared",
            [
                "Ёлку на Октябрьской площади установят к 20 декабря",
                "Волонтёры «Доброго сердца» собрали 300 кг корма — спасибо всем",
            ],
        ),
        (
            "w1251-undeclared",
            [
                "В Луге отремонтируют мост через реку — движение ограничат",
                "Школьники из Толмачёва заняли первое место на олимпиаде «Эрудит»",
            ],
        ),
        (
            "koi8r",
            [
                "Жители Сланцев выбрали проект благоустройства сквера",
                "Ледовый каток в Ивангороде откроется в субботу",
            ],
        ),
        (
            "bom-wrong-declaration",
            [
                "Тосненская больница получила новый аппарат УЗИ",
                "Пенсионеры Никольского научатся финансовой грамотности — «Сбер» и соцзащита",
            ],
        ),
        (
            "utf16le",
            [
                "Выборгский замок закроют на реставрацию до весны",
                "Ёлочный базар на Красной площади Выборга откроется 15 декабря",
            ],
        ),
        (
            "utf16be",
            [
                "Гатчинский парк откроют после зимнего ремонта дорожек",
                "В Гатчине пройдёт ярмарка «Сделано в Ленобласти»",
            ],
        ),
        (
            "utf16be-no-bom",
            [
                "Киришский драмтеатр покажет премьеру «Ревизора»",
                "Новая котельная в Будогощи заработает до морозов",
            ],
        ),
        (
            "leading-whitespace",
            [
                "Тихвинский вагоностроительный завод набирает учеников",
                "Музей Римского-Корсакова приглашает на вечер романса",
            ],
        ),
        (
            "page-w1251-meta",
            [
                "Кингисеппский «Ростелеком» проведёт оптику в Усть-Лугу",
                "Ветераны получат продуктовые наборы к Новому году — список адресов",
            ],
        ),
        (
            "page-w1251-undeclared",
            [
                "Лужский район получит три новых автобуса для школьников",
                "В Оредеже открылся фельдшерско-акушерский пункт",
            ],
        ),
        (
            "page-koi8r",
            [
                "Сланцевский городской парк украсят к праздникам",
                "Водители автобусов получат новые форменные куртки",
            ],
        ),
        (
            "page-bom-wrong-meta",
            [
                "Тосненские спасатели напомнили о тонком льде — «не выходите на лёд»",
                "В Любани отреставрируют храм Петра и Павла",
            ],
        ),
        (
            "page-utf16le",
            [
                "Выборгские школьники сыграли в шахматы с гроссмейстером",
                "Приморск получит новый причал для рыбаков",
            ],
        ),
        (
            "page-utf16be",
            [
                "Гатчинские библиотеки продлили часы работы",
                "Коммунальщики Сиверского ответили на жалобы жильцов — «трубы заменим»",
            ],
        ),
    ];
    for (id, wanted) in expected {
        assert_eq!(titles.get(id), Some(&sorted(&wanted)), "{id}");
    }
}

/// Undeclared windows-1251 served with the charset in `Content-Type` only: the header decides,
/// for a feed and a page alike.
#[tokio::test]
async fn a_charset_given_only_in_the_http_header_is_used() {
    let cases = [
        feed(
            "w1251-header",
            "charsets/rss.1251.undeclared.xml",
            "text/xml; charset=windows-1251",
        ),
        page(
            "page-w1251-header",
            "charsets/page.1251.undeclared.html",
            "text/html; charset=windows-1251",
        ),
    ];
    let (titles, _store, _dir) = poll_cases(&cases).await;
    assert_eq!(
        titles["w1251-header"],
        sorted(&[
            "В Луге отремонтируют мост через реку — движение ограничат",
            "Школьники из Толмачёва заняли первое место на олимпиаде «Эрудит»"
        ])
    );
    assert_eq!(
        titles["page-w1251-header"],
        sorted(&[
            "Лужский район получит три новых автобуса для школьников",
            "В Оредеже открылся фельдшерско-акушерский пункт"
        ])
    );
    // And that is what decided: with the header, not the detector.
    let upstream = Upstream::start(vec![(
        "/bare",
        Reply::ok(
            "text/xml; charset=windows-1251",
            fixture("charsets/rss.1251.undeclared.xml"),
        ),
    )])
    .await;
    let url = url::Url::parse(&upstream.url("/bare")).unwrap();
    let fetcher = Fetcher::new(Default::default()).unwrap();
    let preview = ingest::preview(
        &Target::Url(url),
        ingest::Reading::Feed,
        chrono_tz::Europe::Moscow,
        &[],
        &fetcher,
    )
    .await
    .unwrap();
    assert_eq!(preview.charset, "windows-1251");
    assert_eq!(preview.charset_source, CharsetSource::HttpHeader);
}

#[tokio::test]
async fn malformed_feeds_are_read_as_a_lenient_reader_would() {
    let cases = [
        feed(
            "no-version",
            "malformed/rss-no-version.xml",
            "application/rss+xml",
        ),
        feed("atom03", "malformed/atom-0.3.xml", "application/atom+xml"),
        feed(
            "ampersand",
            "malformed/bare-ampersand.xml",
            "application/rss+xml",
        ),
        feed(
            "entities",
            "malformed/html-entities.xml",
            "application/rss+xml",
        ),
        feed(
            "control",
            "malformed/control-chars.xml",
            "application/rss+xml",
        ),
        feed(
            "truncated",
            "malformed/truncated.xml",
            "application/rss+xml",
        ),
    ];
    let (titles, store, _dir) = poll_cases(&cases).await;
    let expected: [(&str, &[&str]); 6] = [
        (
            "no-version",
            &[
                "В Волосове завершили ремонт улицы Хрустицкого",
                "Приём граждан главой района перенесён на пятницу",
            ],
        ),
        (
            "atom03",
            &[
                "Встреча с краеведом: «Невский пятачок» в документах",
                "Новые поступления: книги о блокаде",
            ],
        ),
        (
            "ampersand",
            &["Тарифы на воду & отопление вырастут с 1 июля"],
        ),
        ("entities", &["Фестиваль «Корела» — итоги сезона"]),
        (
            "control",
            &["Заголовокс управляющим символом: паром через Свирь снова ходит"],
        ),
        (
            "truncated",
            &[
                "На ГЭС Свирского каскада начали плановый ремонт",
                "Обрезанный фид: заседание совета депутатов",
            ],
        ),
    ];
    for (id, wanted) in expected {
        assert_eq!(titles.get(id), Some(&sorted(wanted)), "{id}");
    }
    let entries: Vec<_> = store.newest().map(|e| e.unwrap().entry).collect();
    let by_title = |title: &str| entries.iter().find(|e| e.title == title).unwrap();
    let atom = by_title("Встреча с краеведом: «Невский пятачок» в документах");
    assert_eq!(
        atom.link.as_deref(),
        Some("https://kirovsk-lib.ru/blog/2026/11/pyatachok")
    );
    assert_eq!(atom.published.to_rfc3339(), "2026-11-24T09:00:00+00:00");
    assert!(atom.text.contains("«Невский пятачок»"), "{}", atom.text);
    let entities = by_title("Фестиваль «Корела» — итоги сезона");
    assert_eq!(entities.text, "Крепость посетили 40 тысяч гостей…");
    let ampersand = by_title("Тарифы на воду & отопление вырастут с 1 июля");
    assert_eq!(
        ampersand.link.as_deref(),
        Some("https://tarif-lo.ru/news/?id=512&cat=zhkh")
    );
}
