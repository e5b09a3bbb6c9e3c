//! Publishing as readers and operators meet it: feeds checked by real parsers and by the feed
//! validator's rules, HTTP caching and compression, RFC 5005 archives, the XSLT, export and OPML.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::{fixture_sources, load, write_config, Upstream};
use vestnik::daemon;
use vestnik::publish::Format;

/// The fixture sources carry 17 items; the seed press release is one story of three.
const ALL_STORIES: usize = 15;
const PER_PAGE: usize = 4;

struct Setup {
    dir: tempfile::TempDir,
    upstream: Upstream,
    config: vestnik::config::Config,
    store: Arc<vestnik::store::Store>,
    base: String,
}

/// Fixture sources polled into a temp store, served by Vestnik on loopback, `PER_PAGE` stories
/// per feed so that the fixtures fill archive pages.
async fn setup(extra_settings: &str) -> Setup {
    let sources = fixture_sources();
    let (upstream, named) = common::start_sources(&sources).await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let path = write_config(
        dir.path(),
        &listen,
        &named,
        "[[topic]]\nid = \"ngo\"\ntitle = \"НКО\"\nquery = 'НКО OR волонтер*'\n",
    );
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "interval = \"15m\"\n",
        &format!("interval = \"15m\"\nmax_items = {PER_PAGE}\n{extra_settings}"),
        1,
    );
    std::fs::write(&path, text).unwrap();
    let config = load(&path);
    let store = daemon::open_store(&config).unwrap();
    let topics = daemon::compile_topics(&config).unwrap();
    daemon::poll_once(&config, &store, &topics, &config.sources.clone(), |_| {})
        .await
        .unwrap();
    // Serve on the port the config names, so that self links are the URLs fetched.
    let state = vestnik::serve::AppState::new(Arc::new(config.clone()), topics, Arc::clone(&store));
    let listener = tokio::net::TcpListener::bind(&listen).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, vestnik::serve::router(state)).await });
    Setup {
        dir,
        upstream,
        config,
        store,
        base: format!("http://{listen}"),
    }
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .gzip(false)
        .brotli(false)
        .build()
        .unwrap()
}

async fn fetch(url: &str) -> Vec<u8> {
    let response = plain_client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.unwrap().to_vec()
}

/// The feeds a reader can fetch: every format of `all` and `ngo`, and archive pages.
const SERVED: [&str; 10] = [
    "all.rss",
    "all.atom",
    "all.json",
    "ngo.rss",
    "ngo.atom",
    "ngo.json",
    "all.rss?page=1",
    "all.atom?page=1",
    "all.rss?page=3",
    "all.atom?page=2",
];

/// Where `.ci/run` installs feedparser (a venv) and the npm parsers.
fn parsers_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VESTNIK_PARSERS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("parsers")))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/parsers"));
    let ready = dir.join("venv/bin/python").exists()
        && dir.join("node_modules/rss-parser").exists()
        && dir.join("node_modules/feedsmith").exists();
    if ready {
        return Some(dir);
    }
    assert!(
        std::env::var_os("VESTNIK_REQUIRE_PARSERS").is_none(),
        "the real feed parsers are not installed in {}: run .ci/run",
        dir.display()
    );
    eprintln!(
        "skipped: feedparser, rss-parser and feedsmith are not installed in {}; .ci/run installs them",
        dir.display()
    );
    None
}

#[tokio::test]
async fn served_feeds_parse_cleanly_in_feedparser_rss_parser_and_feedsmith() {
    let setup = setup("").await;
    let Some(parsers) = parsers_dir() else {
        return;
    };
    let out = setup.dir.path().join("served");
    std::fs::create_dir_all(&out).unwrap();
    let mut files = Vec::new();
    for name in SERVED {
        let bytes = fetch(&format!("{}/feeds/{name}", setup.base)).await;
        // all.rss?page=1 → all.page-1.rss: the scripts tell JSON from XML by the extension.
        let file = match name.split_once('?') {
            Some((feed, query)) => {
                let (topic, ext) = feed.rsplit_once('.').unwrap();
                out.join(format!("{topic}.{}.{ext}", query.replace("page=", "page-")))
            }
            None => out.join(name),
        };
        std::fs::write(&file, bytes).unwrap();
        files.push(file);
    }
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parsers");

    // feedparser 6 reads RSS and Atom; JSON Feed goes to feedsmith and the validator test.
    let xml_files: Vec<&PathBuf> = files
        .iter()
        .filter(|f| !f.to_string_lossy().ends_with(".json"))
        .collect();
    let python = Command::new(parsers.join("venv/bin/python"))
        .arg(scripts.join("feedparser_check.py"))
        .args(&xml_files)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&python.stdout);
    println!(
        "feedparser:\n{report}{}",
        String::from_utf8_lossy(&python.stderr)
    );
    assert!(python.status.success(), "feedparser: {report}");
    let lines: Vec<serde_json::Value> = report
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), xml_files.len());
    for line in &lines {
        assert_eq!(line["bozo"], false, "{line}");
        let ids: Vec<&str> = line["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        assert!(
            ids.iter().all(|id| id.starts_with("urn:vestnik:story:")),
            "{line}"
        );
        assert_eq!(
            ids.len(),
            ids.iter().collect::<HashSet<_>>().len(),
            "{line}"
        );
    }
    // Every item of the ngo feed is categorised under its topic, in RSS and Atom.
    for line in lines.iter().filter(|l| {
        let file = l["file"].as_str().unwrap();
        file.ends_with("ngo.rss") || file.ends_with("ngo.atom")
    }) {
        for categories in line["categories"].as_array().unwrap() {
            let terms: Vec<&str> = categories
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t.as_str())
                .collect();
            assert!(terms.contains(&"НКО") || terms.contains(&"ngo"), "{line}");
        }
    }

    // ES modules resolve packages beside the script: run a copy next to node_modules.
    let script = parsers.join("node_check.mjs");
    std::fs::copy(scripts.join("node_check.mjs"), &script).unwrap();
    let node = Command::new("node")
        .current_dir(&parsers)
        .arg(&script)
        .args(&files)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&node.stdout);
    println!(
        "rss-parser and feedsmith:\n{report}{}",
        String::from_utf8_lossy(&node.stderr)
    );
    assert!(node.status.success(), "node parsers: {report}");
    let reports = report.lines().count();
    assert_eq!(reports, files.len() + xml_files.len(), "{report}");
    assert!(!report.contains("\"error\""), "{report}");
}

fn is_absolute(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.scheme() == "http" || u.scheme() == "https")
}

/// The W3C feed validator's rules that matter, checked here offline (the validator itself is not
/// on PyPI in a form that runs without the network): required elements, RFC 822 and RFC 3339
/// dates, absolute URLs, unique ids, a self link equal to the URL fetched.
#[tokio::test]
async fn feeds_keep_the_feed_validator_rules() {
    let setup = setup("hub = \"http://127.0.0.1:9/hub\"\n").await;
    for topic in ["all", "ngo"] {
        let url = format!("{}/feeds/{topic}.rss", setup.base);
        let channel = rss::Channel::read_from(&fetch(&url).await[..]).unwrap();
        assert!(!channel.title.is_empty() && !channel.description.is_empty());
        assert!(is_absolute(&channel.link));
        assert_eq!(channel.language.as_deref(), Some("ru"));
        let built = channel.last_build_date.as_deref().unwrap();
        chrono::DateTime::parse_from_rfc2822(built).unwrap();
        let links = &channel.atom_ext.as_ref().unwrap().links;
        assert!(
            links.iter().any(|l| l.rel == "self" && l.href == url),
            "{links:?}"
        );
        assert!(links
            .iter()
            .any(|l| l.rel == "hub" && l.href == "http://127.0.0.1:9/hub"));
        let mut guids = HashSet::new();
        assert_eq!(channel.items.len(), PER_PAGE);
        for item in &channel.items {
            assert!(item.title.is_some() && item.description.is_some());
            assert!(is_absolute(item.link.as_deref().unwrap()));
            let guid = item.guid.as_ref().unwrap();
            assert!(!guid.permalink, "a urn is not a permalink");
            assert!(
                guids.insert(guid.value.clone()),
                "duplicate guid {}",
                guid.value
            );
            chrono::DateTime::parse_from_rfc2822(item.pub_date.as_deref().unwrap()).unwrap();
            let source = item.source.as_ref().unwrap();
            assert!(is_absolute(&source.url) && source.title.is_some());
            if topic == "ngo" {
                assert!(item
                    .categories
                    .iter()
                    .any(|c| c.name == "НКО" && c.domain.as_deref().is_some_and(is_absolute)));
            }
        }

        let url = format!("{}/feeds/{topic}.atom", setup.base);
        let feed = atom_syndication::Feed::read_from(&fetch(&url).await[..]).unwrap();
        assert!(is_absolute(&feed.id) && !feed.title.value.is_empty());
        assert!(!feed.authors.is_empty());
        assert!(feed.links.iter().any(|l| l.rel == "self" && l.href == url));
        assert!(feed.links.iter().any(|l| l.rel == "hub"));
        let mut ids = HashSet::new();
        for entry in &feed.entries {
            assert!(ids.insert(entry.id.clone()) && !entry.title.value.is_empty());
            assert!(
                entry.published.is_some() && entry.summary.is_some() && entry.content.is_some()
            );
            assert!(entry.published.unwrap() <= entry.updated);
            let alternate = entry.links.iter().find(|l| l.rel == "alternate").unwrap();
            assert!(is_absolute(&alternate.href));
            if topic == "ngo" {
                assert!(entry.categories.iter().any(|c| c.term == "ngo"));
            }
        }

        let url = format!("{}/feeds/{topic}.json", setup.base);
        let json: serde_json::Value = serde_json::from_slice(&fetch(&url).await).unwrap();
        assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(json["feed_url"], url.as_str());
        assert_eq!(json["hubs"][0]["type"], "WebSub");
        let items = json["items"].as_array().unwrap();
        let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), items.len());
        for item in items {
            chrono::DateTime::parse_from_rfc3339(item["date_published"].as_str().unwrap()).unwrap();
        }
    }
}

#[tokio::test]
async fn feeds_are_cached_compressed_once_and_answer_head() {
    let setup = setup("").await;
    let client = plain_client();
    for (name, content_type) in [
        ("all.rss", "application/rss+xml; charset=utf-8"),
        ("all.atom", "application/atom+xml; charset=utf-8"),
        ("all.json", "application/feed+json"),
    ] {
        let url = format!("{}/feeds/{name}", setup.base);
        let plain = client.get(&url).send().await.unwrap();
        assert_eq!(plain.headers()["content-type"], content_type);
        assert_eq!(plain.headers()["cache-control"], "public, max-age=900");
        assert_eq!(plain.headers()["vary"], "accept-encoding");
        assert!(plain.headers().get("content-encoding").is_none());
        let etag = plain.headers()["etag"].to_str().unwrap().to_string();
        let body = plain.bytes().await.unwrap();

        let head = client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(head.headers()["content-type"], content_type);
        assert!(head.bytes().await.unwrap().is_empty());

        for (coding, suffix) in [("gzip", "-gz\""), ("br", "-br\"")] {
            let response = client
                .get(&url)
                .header("accept-encoding", format!("{coding}, identity;q=0.5"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.headers()["content-encoding"], coding);
            let coded_etag = response.headers()["etag"].to_str().unwrap().to_string();
            assert!(coded_etag.ends_with(suffix), "{coded_etag}");
            let compressed = response.bytes().await.unwrap();
            let mut decoded = Vec::new();
            if coding == "gzip" {
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(&compressed[..]),
                    &mut decoded,
                )
                .unwrap();
            } else {
                brotli::BrotliDecompress(&mut &compressed[..], &mut decoded).unwrap();
            }
            assert_eq!(decoded, body, "{coding} decodes to the same bytes");
            // A cache holding the compressed copy revalidates with its own ETag.
            let revalidated = client
                .get(&url)
                .header("accept-encoding", coding)
                .header("if-none-match", &coded_etag)
                .send()
                .await
                .unwrap();
            assert_eq!(revalidated.status(), 304);
            assert_eq!(revalidated.headers()["vary"], "accept-encoding");
            assert_eq!(revalidated.headers()["etag"].to_str().unwrap(), coded_etag);
            assert_eq!(
                revalidated.headers()["cache-control"],
                "public, max-age=900"
            );
            assert!(revalidated.headers().contains_key("last-modified"));
        }
        let refused = client
            .get(&url)
            .header("accept-encoding", "br;q=0, gzip;q=0")
            .send()
            .await
            .unwrap();
        assert!(refused.headers().get("content-encoding").is_none());
    }

    // The compressed bodies are made when the feed is rendered, and kept while nothing changes.
    let topics = daemon::compile_topics(&setup.config).unwrap();
    let state = vestnik::serve::AppState::new(
        Arc::new(setup.config.clone()),
        topics,
        Arc::clone(&setup.store),
    );
    let first = state
        .feed("all", vestnik::publish::Format::Rss, None)
        .unwrap()
        .unwrap();
    let again = state
        .feed("all", vestnik::publish::Format::Rss, None)
        .unwrap()
        .unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    use vestnik::serve::Coding;
    assert!(!first.body(Coding::Gzip).is_empty() && !first.body(Coding::Brotli).is_empty());
}

/// Following `prev-archive` from the subscription document reaches every story once.
#[tokio::test]
async fn archives_keep_every_story_reachable() {
    let setup = setup("").await;
    let mut url = Some(format!("{}/feeds/all.atom", setup.base));
    let mut seen = HashSet::new();
    let mut documents = 0;
    while let Some(next) = url.take() {
        let feed = atom_syndication::Feed::read_from(&fetch(&next).await[..]).unwrap();
        documents += 1;
        let archived = feed
            .extensions
            .get("fh")
            .is_some_and(|e| e.contains_key("archive"));
        assert_eq!(
            archived,
            documents > 1,
            "only archive pages carry fh:archive"
        );
        if documents > 1 {
            let current = feed.links.iter().find(|l| l.rel == "current").unwrap();
            assert_eq!(current.href, format!("{}/feeds/all.atom", setup.base));
        }
        assert!(feed.links.iter().any(|l| l.rel == "self" && l.href == next));
        for entry in &feed.entries {
            seen.insert(entry.id.clone());
        }
        url = feed
            .links
            .iter()
            .find(|l| l.rel == "prev-archive")
            .map(|l| l.href.clone());
        assert!(documents < 10, "archive links loop");
    }
    assert_eq!(documents, 1 + ALL_STORIES / PER_PAGE);
    assert_eq!(seen.len(), ALL_STORIES);
    // A complete archive page never changes; the subscription document may at any poll.
    let archive = plain_client()
        .get(format!("{}/feeds/all.rss?page=1", setup.base))
        .send()
        .await
        .unwrap();
    assert_eq!(archive.status(), 200);
    assert_eq!(archive.headers()["cache-control"], "public, max-age=86400");
    // RSS marks its archive pages as Atom does.
    let marked = |channel: &rss::Channel| {
        channel
            .extensions()
            .get("fh")
            .is_some_and(|e| e.contains_key("archive"))
    };
    let archive = rss::Channel::read_from(&archive.bytes().await.unwrap()[..]).unwrap();
    assert!(marked(&archive), "an RSS archive page without fh:archive");
    let current = fetch(&format!("{}/feeds/all.rss", setup.base)).await;
    assert!(!marked(&rss::Channel::read_from(&current[..]).unwrap()));
    let missing = plain_client()
        .get(format!("{}/feeds/all.rss?page=9", setup.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// A stranger can ask for any page number, and a reader following `prev-archive` links reads
/// every page: neither may make the server keep every page it rendered.
#[tokio::test]
async fn archive_pages_kept_rendered_are_bounded() {
    // One story a page: 15 pages of `all` in each of three formats, more than are kept.
    let setup = setup("").await;
    let mut config = setup.config.clone();
    config.settings.max_items = 1;
    let topics = daemon::compile_topics(&config).unwrap();
    let state = vestnik::serve::AppState::new(Arc::new(config), topics, Arc::clone(&setup.store));
    for page in 1..=ALL_STORIES {
        for format in [Format::Rss, Format::Atom, Format::Json] {
            let served = state.feed("all", format, Some(page)).unwrap();
            assert!(served.is_some(), "page {page} of {ALL_STORIES} is missing");
        }
    }
    let kept = state.cached_feeds();
    assert!(
        (1..=32).contains(&kept),
        "{kept} archive pages kept after 45 were read"
    );
    let last = |state: &vestnik::serve::AppState| {
        state
            .feed("all", Format::Json, Some(ALL_STORIES))
            .unwrap()
            .unwrap()
    };
    let last_read = last(&state);
    for page in ALL_STORIES + 1..ALL_STORIES + 1000 {
        assert!(state
            .feed("all", Format::Rss, Some(page))
            .unwrap()
            .is_none());
    }
    assert_eq!(
        state.cached_feeds(),
        kept,
        "pages that do not exist were kept"
    );
    assert!(
        Arc::ptr_eq(&last(&state), &last_read),
        "pages that do not exist pushed out a page that does"
    );
    // The subscription documents are kept beside them.
    state.feed("all", Format::Rss, None).unwrap().unwrap();
    assert_eq!(state.cached_feeds(), kept + 1);
}

#[tokio::test]
async fn browsers_get_a_stylesheet_and_readers_an_opml() {
    let setup = setup("").await;
    for name in ["all.rss", "ngo.atom"] {
        let text = String::from_utf8(fetch(&format!("{}/feeds/{name}", setup.base)).await).unwrap();
        let expected = format!(
            "<?xml-stylesheet type=\"text/xsl\" href=\"{}/feed.xsl\"?>",
            setup.base
        );
        assert!(
            text.starts_with("<?xml") && text.contains(&expected),
            "{name}"
        );
    }
    let xsl = plain_client()
        .get(format!("{}/feed.xsl", setup.base))
        .send()
        .await
        .unwrap();
    assert_eq!(xsl.headers()["content-type"], "text/xsl; charset=utf-8");
    let xsl = xsl.text().await.unwrap();
    assert!(xsl.contains("xsl:stylesheet") && xsl.contains("atom:entry"));

    let opml = String::from_utf8(fetch(&format!("{}/opml", setup.base)).await).unwrap();
    let feeds = vestnik::opml::read(&opml).unwrap();
    let urls: Vec<&str> = feeds.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(
        urls,
        vec![
            format!("{}/feeds/all.rss", setup.base),
            format!("{}/feeds/ngo.rss", setup.base)
        ]
    );
    assert_eq!(feeds[1].title.as_deref(), Some("НКО"));
}

#[tokio::test]
async fn export_writes_feeds_archives_opml_and_stylesheet_as_served() {
    let setup = setup("").await;
    let topics = daemon::compile_topics(&setup.config).unwrap();
    let out = setup.dir.path().join("site");
    let written = vestnik::export::export(&setup.config, &topics, &setup.store, &out).unwrap();
    for file in [
        "feeds/all.rss",
        "feeds/ngo.json",
        "feeds/all.page-3.atom",
        "feed.xsl",
        "opml.xml",
    ] {
        assert!(out.join(file).is_file(), "{file} in {written:?}");
    }
    assert!(!out.join("feeds/all.page-4.rss").exists());
    // Archive links name the exported files, relative to base_url.
    let current = std::fs::read(out.join("feeds/all.atom")).unwrap();
    let feed = atom_syndication::Feed::read_from(&current[..]).unwrap();
    let prev = feed.links.iter().find(|l| l.rel == "prev-archive").unwrap();
    let relative = prev.href.strip_prefix(&format!("{}/", setup.base)).unwrap();
    assert!(out.join(relative).is_file(), "{relative}");
    // The same stories as served.
    let served = fetch(&format!("{}/feeds/all.json", setup.base)).await;
    assert_eq!(std::fs::read(out.join("feeds/all.json")).unwrap(), served);
}

#[tokio::test]
async fn metrics_count_polls_requests_and_store_sizes() {
    let setup = setup("").await;
    fetch(&format!("{}/feeds/ngo.rss", setup.base)).await;
    let missing = plain_client()
        .get(format!("{}/feeds/nothing.rss", setup.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let response = plain_client()
        .get(format!("{}/metrics", setup.base))
        .send()
        .await
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    let value = |prefix: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    for source in ["lenobl", "vremya", "news47", "belta"] {
        let polls = format!("vestnik_polls_total{{source=\"{source}\",outcome=\"ingested\"}}");
        assert!(value(&polls) >= 1.0, "{polls}");
        assert!(
            value(&format!(
                "vestnik_fetched_bytes_total{{source=\"{source}\"}}"
            )) > 100.0
        );
        assert!(
            value(&format!(
                "vestnik_items_ingested_total{{source=\"{source}\"}}"
            )) >= 4.0
        );
        assert!(text.contains(&format!(
            "vestnik_fetch_seconds_bucket{{source=\"{source}\",le=\"0.5\"}}"
        )));
    }
    assert!(text.contains("vestnik_duplicates_merged_total"));
    assert_eq!(value("vestnik_stories "), ALL_STORIES as f64);
    assert_eq!(value("vestnik_entries "), 17.0);
    assert!(value("vestnik_topic_stories{topic=\"ngo\"}") >= 1.0);
    assert!(value("vestnik_store_bytes ") > 0.0);
    // ngo.rss is kept rendered; a topic that does not exist is not.
    assert_eq!(value("vestnik_cached_feeds "), 1.0);
    assert!(value("vestnik_http_requests_total{route=\"/feeds/{file}\",status=\"200\"}") >= 1.0);
    assert!(value("vestnik_http_requests_total{route=\"/feeds/{file}\",status=\"404\"}") >= 1.0);
}

/// A loopback hub: every ping's form body is recorded.
async fn start_hub() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let pings = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&pings);
    let app = axum::Router::new().route(
        "/hub",
        axum::routing::post(move |body: String| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hub", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, pings)
}

#[tokio::test]
async fn the_hub_is_pinged_when_a_feed_changes() {
    let (hub, pings) = start_hub().await;
    let setup = setup(&format!("hub = \"{hub}\"\n")).await;
    let topics = daemon::compile_topics(&setup.config).unwrap();
    let state = vestnik::serve::AppState::new(
        Arc::new(setup.config.clone()),
        Arc::clone(&topics),
        Arc::clone(&setup.store),
    );
    let mut notifier = vestnik::serve::websub::Notifier::new(Arc::clone(&state));
    assert!(
        notifier.check().await.is_empty(),
        "the first check only records"
    );
    assert!(notifier.check().await.is_empty(), "nothing changed");
    assert!(pings.lock().unwrap().is_empty());

    // A new item in one source changes `all` (and not `ngo`, which it does not match).
    setup.upstream.set("/belta/feed.json", common::Reply::ok("application/feed+json", r#"{"version":"https://jsonfeed.org/version/1.1","title":"BelTA","items":[{"id":"new-1","url":"https://www.belta.by/new-1","title":"Урожай льна","content_html":"<p>Лён убран</p>","date_published":"2030-11-25T20:00:00+03:00"}]}"#.as_bytes().to_vec()));
    let belta = setup.config.source("belta").unwrap().clone();
    daemon::poll_once(&setup.config, &setup.store, &topics, &[belta], |_| {})
        .await
        .unwrap();
    let pinged = notifier.check().await;
    let all: Vec<String> = ["rss", "atom", "json"]
        .iter()
        .map(|ext| format!("{}/feeds/all.{ext}", setup.base))
        .collect();
    assert_eq!(pinged, all);
    let bodies = pings.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3);
    assert!(bodies[0].contains("hub.mode=publish"), "{bodies:?}");
    let encoded: String = url::form_urlencoded::byte_serialize(all[0].as_bytes()).collect();
    assert!(
        bodies[0].contains(&format!("hub.url={encoded}")),
        "{bodies:?}"
    );
}
