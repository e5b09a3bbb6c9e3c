//! Publishing as readers and operators meet it: feeds checked by real parsers and by the feed
//! validator's rules, HTTP caching and compression, RFC 5005 archives, the XSLT, export and OPML.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::{fixture_sources, load, serve, write_config, Upstream};
use vestnik::daemon;

/// The fixture sources carry 17 items; the seed press release is one story of three.
const ALL_STORIES: usize = 15;
const PER_PAGE: usize = 4;

struct Setup {
    dir: tempfile::TempDir,
    _upstream: Upstream,
    config: vestnik::config::Config,
    store: Arc<vestnik::store::Store>,
    base: String,
}

/// Fixture sources polled into a temp store, served by Vestnik on loopback, `PER_PAGE` stories
/// per feed so that the fixtures fill archive pages.
async fn setup(extra_settings: &str) -> Setup {
    let sources = fixture_sources();
    let upstream = Upstream::start(
        sources
            .iter()
            .map(|(_, path, reply)| (*path, reply.clone()))
            .collect(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let named: Vec<(&str, String)> = sources
        .iter()
        .map(|(id, path, _)| (*id, upstream.url(path)))
        .collect();
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
        _upstream: upstream,
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
