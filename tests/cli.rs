//! The `vestnik` binary as operators run it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture_sources, free_port, write_config, Upstream};

/// Kills a process by id when dropped, unless it was disarmed.
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

fn vestnik() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vestnik"))
}

#[test]
fn check_accepts_the_shipped_config() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/feeds.toml");
    let output = vestnik()
        .args(["--config", shipped, "check"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn check_reports_each_error_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, "[settings]\ninterval = \"15 minutes\"\n").unwrap();
    let output = vestnik()
        .current_dir(dir.path())
        .args(["--config", "feeds.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        "feeds.toml:2:12: expected a duration such as \"30s\", \"15m\", \"6h\" or \"180d\", found \"15 minutes\""
    );

    std::fs::write(
        &path,
        "[[source]]\nid = \"ok\"\nurl = \"https://a.ru/rss\"\n\n[[source]]\nid = \"ok\"\nurl = \"not a url\"\n",
    )
    .unwrap();
    let output = vestnik()
        .current_dir(dir.path())
        .args(["--config", "feeds.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "feeds.toml:6:6: duplicate source id \"ok\"");
    assert!(
        lines[1].starts_with("feeds.toml:7:7: expected an http or https URL"),
        "{}",
        lines[1]
    );
}

/// The daemon polls at start, serves the feeds, and exits 0 on SIGTERM after flushing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_feeds_and_stops_cleanly_on_sigterm() {
    let sources = fixture_sources();
    let upstream = Upstream::start(sources.iter().map(|(_, p, r)| (*p, r.clone())).collect()).await;
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let named: Vec<(&str, String)> = sources
        .iter()
        .map(|(id, p, _)| (*id, upstream.url(p)))
        .collect();
    let config = write_config(dir.path(), &listen, &named, "");
    let child = vestnik()
        .args(["--config", config.to_str().unwrap(), "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A failed assertion must not leave the daemon running.
    let mut guard = KillOnDrop(Some(child.id()));

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut items = 0;
    while Instant::now() < deadline {
        if let Ok(response) = reqwest::get(format!("http://{listen}/feeds/all.json")).await {
            if let Ok(json) = response.json::<serde_json::Value>().await {
                items = json["items"].as_array().map(Vec::len).unwrap_or(0);
                if items == 15 {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        items, 15,
        "the daemon should have polled all four sources at start (17 entries, 15 stories)"
    );
    let dashboard = reqwest::get(format!("http://{listen}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("Источник lenobl"), "{dashboard}");

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    guard.0 = None; // reaped: its pid may belong to another process soon
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // Everything it stored is there for the next start: poll again finds nothing new.
    let output = vestnik()
        .args(["--config", config.to_str().unwrap(), "poll"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    for line in stdout.lines().skip(1) {
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(columns[1], "ingested", "{line}");
        assert_eq!(columns[4], "0", "no new entries expected: {line}");
    }
}

#[test]
fn inspect_shows_a_windows_1251_file_as_json() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/feeds/vremya.1251.rss.xml"
    );
    let output = vestnik()
        .args([
            "--config",
            "/nonexistent/feeds.toml",
            "inspect",
            path,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(
        entries[0]["title"],
        "Ленобласть и Беларусь будут обмениваться опытом поддержки НКО"
    );
    assert_eq!(
        entries[0]["canonical_url"],
        "https://vremya-kingisepp.ru/news/2026/11/24/lenoblast-belarus-nko.html"
    );
    assert_eq!(entries[0]["published"], "2026-11-24T11:40:00+00:00");
    assert!(json["feed"]["title"].as_str().unwrap().contains("Время"));
}

#[test]
fn export_writes_every_feed() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "127.0.0.1:8080",
        &[],
        "[[topic]]\nid = \"ngo\"\ntitle = \"НКО\"\nquery = 'НКО'\n",
    );
    let out = dir.path().join("public");
    let output = vestnik()
        .args([
            "--config",
            config.to_str().unwrap(),
            "export",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in [
        "all.rss", "all.atom", "all.json", "ngo.rss", "ngo.atom", "ngo.json",
    ] {
        let bytes = std::fs::read(out.join("feeds").join(name)).unwrap();
        if name.ends_with(".json") {
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
        } else {
            feed_rs::parser::parse(&bytes[..]).unwrap();
        }
    }
}

#[test]
fn check_reports_query_errors_at_their_place_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("feeds.toml"),
        "[[topic]]\nid = \"ngo\"\ntitle = \"НКО\"\nquery = '(НКО OR \"некоммерческая организация\"'\n",
    )
    .unwrap();
    let output = vestnik()
        .current_dir(dir.path())
        .args(["check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        "feeds.toml:4:46: in the query of topic \"ngo\": expected ')' to close the '(' at column 1"
    );
}

#[test]
fn topic_explain_shows_which_terms_matched_where() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/feeds.toml");
    let text =
        "Губернатор поддержал социально ориентированные некоммерческие организации и волонтёров.";
    let output = vestnik()
        .args([
            "--config", shipped, "topic", "explain", "ngo", "--text", text,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.starts_with("topic ngo «НКО и гражданское общество»: matches"),
        "{stdout}"
    );
    let line = |term: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(term))
            .unwrap_or_else(|| panic!("{term} in {stdout}"))
            .to_string()
    };
    assert!(
        line("\"некоммерческая организация\"").contains("text word 5: некоммерческие"),
        "{stdout}"
    );
    assert!(
        line("волонтер*").contains("text word 8: волонтёров"),
        "{stdout}"
    );
    assert!(line("СНТ").ends_with('—'), "{stdout}");

    let output = vestnik()
        .args([
            "--config",
            shipped,
            "topic",
            "explain",
            "ngo",
            "--text",
            "Садоводческое некоммерческое товарищество провело собрание",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("does not match"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_explain_reads_a_stored_entry_by_its_feed_id() {
    let sources = fixture_sources();
    let upstream = Upstream::start(sources.iter().map(|(_, p, r)| (*p, r.clone())).collect()).await;
    let dir = tempfile::tempdir().unwrap();
    let named: Vec<(&str, String)> = sources
        .iter()
        .map(|(id, p, _)| (*id, upstream.url(p)))
        .collect();
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds.toml")).unwrap();
    let config = write_config(
        dir.path(),
        "127.0.0.1:8080",
        &named,
        &shipped[shipped.find("[[topic]]").unwrap()..],
    );
    let config = config.to_str().unwrap().to_string();
    let run = |args: Vec<String>| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            vestnik()
                .arg("--config")
                .arg(config)
                .args(args)
                .output()
                .unwrap()
        })
    };
    assert!(run(vec!["poll".into()]).await.unwrap().status.success());
    let out = dir.path().join("public");
    assert!(run(vec![
        "export".into(),
        "--out".into(),
        out.display().to_string()
    ])
    .await
    .unwrap()
    .status
    .success());
    let feed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("feeds/intl.json")).unwrap()).unwrap();
    let item = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["title"] == "Ленинградская область и провинция Хэйлунцзян обсудили рост товарооборота"
        })
        .unwrap();
    let output = run(vec![
        "topic".into(),
        "explain".into(),
        "intl".into(),
        "--entry".into(),
        item["id"].as_str().unwrap().into(),
    ])
    .await
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("matches"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("провинция") && l.contains("title word")),
        "{stdout}"
    );
    let output = run(vec![
        "topic".into(),
        "explain".into(),
        "intl".into(),
        "--entry".into(),
        "no-such-entry".into(),
    ])
    .await
    .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no entry \"no-such-entry\""));
}

/// `vestnik poll` tells the operator what to do: a source moved for good, one gone for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_shows_moves_gone_sources_and_the_schedule() {
    let (_, feed_path, feed_reply) = fixture_sources().remove(0);
    let upstream = Upstream::start(vec![
        ("/old", common::Reply::redirect(301, feed_path)),
        (feed_path, feed_reply),
        ("/gone", common::Reply::status(410)),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        ("moved", upstream.url("/old")),
        ("gone", upstream.url("/gone")),
    ];
    let config = write_config(dir.path(), "127.0.0.1:8080", &sources, "");
    let poll = move |json: bool| {
        let mut command = vestnik();
        command.args(["--config", config.to_str().unwrap(), "poll"]);
        if json {
            command.arg("--json");
        }
        command.output().unwrap()
    };
    let second_poll = poll.clone();

    let output = tokio::task::spawn_blocking(move || poll(false))
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a source gone is the operator's business"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = |id: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no line for {id} in {stdout}"))
            .to_string()
    };
    let header: Vec<&str> = stdout.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[8..], ["fails", "every", "next", "note"]);
    let moved = line("moved");
    let columns: Vec<&str> = moved.split_whitespace().collect();
    assert_eq!(columns[1], "ingested", "{moved}");
    assert_eq!(columns[8], "0", "{moved}");
    assert!(columns[10].starts_with("20"), "next due: {moved}");
    let new_url = upstream.url(feed_path);
    assert!(
        moved.contains(&format!(
            "moved permanently to {new_url}: update feeds.toml"
        )),
        "{moved}"
    );
    let gone = line("gone");
    assert!(gone.contains("FAILED") && gone.contains(" 410 "), "{gone}");
    assert!(gone.contains("disabled until its url changes"), "{gone}");

    let output = tokio::task::spawn_blocking(move || second_poll(true))
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let report = |id: &str| {
        json["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source_id"] == id)
            .unwrap()
            .clone()
    };
    let moved = report("moved");
    assert_eq!(
        moved["url"], new_url,
        "the second poll goes straight to the new URL"
    );
    assert_eq!(moved["state"]["current_url"], new_url);
    assert_eq!(moved["source_status"], "ok");
    for key in [
        "next_due",
        "last_success",
        "interval_secs",
        "items_seen",
        "last_status",
    ] {
        assert!(!moved["state"][key].is_null(), "{key}: {moved}");
    }
    let gone = report("gone");
    assert_eq!(gone["status"], "disabled");
    assert!(gone["state"]["disabled"]
        .as_str()
        .unwrap()
        .contains("410 Gone"));
    assert_eq!(upstream.requests_to("/gone").len(), 1);
    assert_eq!(upstream.requests_to("/old").len(), 1);
}

/// Runs `vestnik --config feeds.toml ARGS` in `dir`.
fn in_dir(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    vestnik()
        .current_dir(dir)
        .args(["--config", "feeds.toml"])
        .args(args)
        .output()
        .unwrap()
}

/// A reader's OPML export (Miniflux's and Feedly's nesting) becomes `[[source]]` blocks that
/// `check` accepts next to the sources already configured, and `opml export` lists them all.
#[test]
fn opml_import_appends_valid_sources_and_export_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    // Taken: "lenobl" is configured already, so the imported lenobl.ru feed needs another id.
    std::fs::write(
        &config,
        "[settings]\ndata_dir = \"data\"\n\n[[source]]\nid = \"lenobl\"\nurl = \"https://lenobl.ru/news/rss\"\n\n",
    )
    .unwrap();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/opml");
    let mut imported = String::new();
    for file in ["miniflux.opml", "feedly.opml"] {
        let output = in_dir(
            dir.path(),
            &["opml", "import", &format!("{fixtures}/{file}")],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let blocks = String::from_utf8(output.stdout).unwrap();
        // Appended as an operator would, then checked before the next import.
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&blocks);
        std::fs::write(&config, text).unwrap();
        imported.push_str(&blocks);
        let check = in_dir(dir.path(), &["check"]);
        assert!(
            check.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&check.stdout),
            std::fs::read_to_string(&config).unwrap()
        );
    }
    assert!(
        imported.contains("# Ленинградская область\n[[source]]"),
        "{imported}"
    );
    assert!(imported.contains("# НКО / Фонды\n[[source]]"), "{imported}");
    assert!(
        imported.contains("title = \"Вести & Время (Кингисепп)\""),
        "{imported}"
    );

    let loaded = vestnik::config::Config::load(&config).unwrap();
    let ids: Vec<&str> = loaded.sources.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), 1 + 5 + 3, "{ids:?}");
    assert!(
        ids.contains(&"lenobl") && ids.contains(&"lenobl-2"),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"belta") && ids.contains(&"belta-2"),
        "{ids:?}"
    );

    // Export: every configured source, with its URL, readable as OPML again.
    let output = in_dir(dir.path(), &["opml", "export"]);
    assert!(output.status.success());
    let exported = vestnik::opml::read(&String::from_utf8(output.stdout).unwrap()).unwrap();
    let urls: Vec<String> = exported.iter().map(|f| f.url.clone()).collect();
    let configured: Vec<String> = loaded.sources.iter().map(|s| s.url.to_string()).collect();
    assert_eq!(urls, configured);
    assert!(exported
        .iter()
        .any(|f| f.title.as_deref() == Some("БелТА — Регионы")));
}

#[test]
fn opml_import_of_a_broken_file_names_it_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("subscriptions.opml");
    std::fs::write(
        &broken,
        "<opml><body><outline text=\"a\" xmlUrl=\"https://a.ru/rss\"",
    )
    .unwrap();
    let output = in_dir(dir.path(), &["opml", "import", "subscriptions.opml"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("subscriptions.opml"), "{stderr}");
    assert!(output.stdout.is_empty());
}
