//! The operator's dashboard as a browser renders it: headless Chromium loads `/` from Vestnik's
//! server on loopback and the test reads the DOM it built.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{fixture_sources, load, serve, write_config, Reply};
use vestnik::daemon;

/// A feed whose item title is markup: it must stay text on the dashboard.
const HOSTILE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile</title><link>http://127.0.0.1/</link><description>x</description>
<item><title>&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; Взлом</title>
<link>http://127.0.0.1/hostile/1</link><guid>h1</guid><pubDate>Tue, 24 Nov 2026 10:00:00 +0300</pubDate>
<description>НКО и волонтеры</description></item></channel></rss>"#;

fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("VESTNIK_REQUIRE_CHROMIUM").is_none(),
            "chromium is not installed: .ci/run installs Debian's package"
        );
        eprintln!("skipped: chromium is not installed; .ci/run installs it");
    }
    found
}

#[tokio::test]
async fn the_dashboard_renders_in_chromium_and_keeps_source_text_as_text() {
    let Some(browser) = chromium() else {
        return;
    };
    let mut sources = fixture_sources();
    sources.push((
        "hostile",
        "/hostile/rss",
        Reply::ok("application/rss+xml", HOSTILE.as_bytes().to_vec()),
    ));
    sources.push(("gone", "/gone/rss", Reply::status(404)));
    let (_upstream, named) = common::start_sources(&sources).await;
    let dir = tempfile::tempdir().unwrap();
    let config = load(&write_config(
        dir.path(),
        "127.0.0.1:8080",
        &named,
        "[[topic]]\nid = \"ngo\"\ntitle = \"НКО <i>и</i> волонтёры\"\nquery = 'НКО OR волонтер*'\n",
    ));
    let store = daemon::open_store(&config).unwrap();
    let topics = daemon::compile_topics(&config).unwrap();
    daemon::poll_once(&config, &store, &topics, &config.sources.clone(), |_| {})
        .await
        .unwrap();
    let base = serve(config.clone(), Arc::clone(&store)).await;

    let profile = tempfile::tempdir().unwrap();
    let url = format!("{base}/");
    let output = tokio::task::spawn_blocking({
        let profile = profile.path().to_path_buf();
        move || {
            Command::new(browser)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg("--dump-dom")
                .arg(&url)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && dom.contains("<h1>Vestnik</h1>"),
        "chromium: {}\n{dom}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The page's title is the one Vestnik wrote: the hostile script never ran.
    assert!(dom.contains("<title>Vestnik</title>"), "{dom}");
    assert!(!dom.contains("pwned</title>"));
    // The hostile title keeps its words and loses its markup (normalize strips markup from
    // titles until none is left); nothing of it became an element.
    assert!(dom.contains(">Взлом</a>"), "{dom}");
    assert!(!dom.contains("<script"), "{dom}");
    assert!(!dom.contains("<img src=\"x\""), "{dom}");
    assert!(dom.contains("НКО &lt;i&gt;и&lt;/i&gt; волонтёры"), "{dom}");
    // Every source has its row; the failing one shows its error.
    assert!(dom.contains("<table id=\"sources\">"), "{dom}");
    for (id, _, _) in &sources {
        assert!(dom.contains(&format!("data-source=\"{id}\"")), "{id}");
    }
    let gone = dom.split("data-source=\"gone\"").nth(1).unwrap();
    let gone = gone.split("</tr>").next().unwrap();
    assert!(gone.contains("failing") && gone.contains("404"), "{gone}");
    // Topic feed links.
    for ext in ["rss", "atom", "json"] {
        assert!(dom.contains(&format!("href=\"/feeds/ngo.{ext}\"")), "{ext}");
        assert!(dom.contains(&format!("href=\"/feeds/all.{ext}\"")), "{ext}");
    }
    assert!(dom.contains("href=\"/opml\""));
}
