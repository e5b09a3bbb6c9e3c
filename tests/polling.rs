//! Polling against loopback upstreams with fault endpoints: each fault fails alone, in the way
//! the schedule expects, while the other sources flow. Timeouts and delays run on tokio's paused
//! clock, so a 2-minute stall costs no wall-clock time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{fixture_sources, load, serve, Reply, Upstream};
use vestnik::config::Config;
use vestnik::daemon;
use vestnik::ingest::{PollReport, PollStatus, StageTimes};
use vestnik::schedule::{Clock, SourceStatus};
use vestnik::store::Store;

const CAP: usize = 1024 * 1024;

fn rss(title: &str, items: &[(&str, &str)]) -> Vec<u8> {
    let items: String = items
        .iter()
        .map(|(title, link)| {
            format!("<item><title>{title}</title><link>{link}</link><guid>{link}</guid><pubDate>Tue, 24 Nov 2026 10:15:00 +0300</pubDate></item>")
        })
        .collect();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{title}</title><link>https://example.ru/</link>{items}</channel></rss>").into_bytes()
}

fn rss_reply(title: &str, link: &str) -> Reply {
    Reply::ok("application/rss+xml", rss(title, &[(title, link)]))
}

/// Sources as `(id, path, extra source lines)`, on `upstream`, with a 1 MiB body cap.
fn config_for(
    dir: &std::path::Path,
    upstream: &Upstream,
    sources: &[(&str, &str, &str)],
) -> Config {
    let mut text = format!(
        "[settings]\ndata_dir = \"data\"\ninterval = \"15m\"\ntimeout = \"5s\"\nmax_body_size = {CAP}\n\n"
    );
    for (id, path, extra) in sources {
        text.push_str(&format!(
            "[[source]]\nid = \"{id}\"\nurl = \"{}\"\n{extra}\n\n",
            upstream.url(path)
        ));
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    load(&path)
}

struct Polled {
    reports: Vec<PollReport>,
}

impl Polled {
    fn get(&self, id: &str) -> &PollReport {
        self.reports
            .iter()
            .find(|r| r.source_id == id)
            .unwrap_or_else(|| panic!("no report for {id}"))
    }
}

async fn poll_all(config: &Config, store: &Arc<Store>, clock: Clock) -> Polled {
    let topics = daemon::compile_topics(config).unwrap();
    let poller = daemon::poller(config, store, &topics, clock).unwrap();
    let reports = daemon::poll_once_with(&poller, &config.sources, |_| {})
        .await
        .unwrap();
    Polled { reports }
}

fn assert_failed(report: &PollReport, http: Option<u16>, error: &str) {
    assert_eq!(report.status, PollStatus::Failed, "{report:?}");
    assert_eq!(report.http_status, http, "{report:?}");
    let message = report.error.as_deref().unwrap_or_default();
    assert!(
        message.contains(error),
        "{}: {message:?} lacks {error:?}",
        report.source_id
    );
    assert_eq!(report.state.consecutive_failures, 1, "{report:?}");
    assert_eq!(report.source_status, SourceStatus::Failing, "{report:?}");
}

/// How long after its poll a source is due again. The schedule's `now` is the poll's
/// `last_attempt`; on a paused clock, time also jumps while the runtime waits on other threads
/// (sled, parsing), so a round's start and end say little about one source.
fn wait_after_poll(report: &PollReport) -> chrono::Duration {
    let due = report.state.next_due.expect("due again");
    due - report.state.last_attempt.expect("attempted")
}

/// A failure waits the starting interval (15 min), doubled per earlier failure, cut by jitter up
/// to 25 %.
fn assert_backs_off(report: &PollReport, failures: u32) {
    let full = chrono::Duration::minutes(15 * 2i64.pow(failures - 1));
    let wait = wait_after_poll(report);
    assert!(
        wait >= full * 3 / 4 && wait <= full,
        "{}: waits {wait}, expected up to {full}",
        report.source_id
    );
}

#[tokio::test(start_paused = true)]
async fn every_fault_fails_alone_and_as_the_schedule_expects() {
    let retry_at =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(7200));
    let bomb = Reply::gzip("application/rss+xml", &vec![0u8; 32 * CAP]);
    assert!(bomb.body.len() < CAP / 10, "the bomb is small on the wire");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut replies = vec![
        ("/e500", Reply::status(500)),
        (
            "/limited",
            Reply::status(429).with_header("retry-after", "3600"),
        ),
        (
            "/limited-date",
            Reply::status(503).with_header("retry-after", &retry_at),
        ),
        ("/unavailable", Reply::status(503)),
        (
            "/huge",
            Reply::ok("application/rss+xml", vec![b' '; 2 * CAP]),
        ),
        ("/bomb", bomb),
        ("/garbage", Reply::ok("application/rss+xml", garbage)),
        ("/loop/a", Reply::redirect(302, "/loop/b")),
        ("/loop/b", Reply::redirect(307, "/loop/a")),
        ("/gone", Reply::status(410)),
        (
            "/slow",
            rss_reply("Медленный", "https://slow.ru/1").delayed(Duration::from_secs(120)),
        ),
        (
            "/patient",
            rss_reply("Терпеливый", "https://patient.ru/1").delayed(Duration::from_secs(30)),
        ),
        (
            "/trickle",
            Reply::ok("application/rss+xml", vec![]).trickling(Duration::from_secs(1)),
        ),
        // A chain of five permanent redirects (the most allowed); one of six (/far0..6) is below.
        ("/m0", Reply::redirect(301, "/m1")),
        ("/m1", Reply::redirect(308, "/m2")),
        ("/m2", Reply::redirect(301, "/m3")),
        ("/m3", Reply::redirect(308, "/m4")),
        ("/m4", Reply::redirect(301, "/m5")),
        ("/m5", rss_reply("Переехавший", "https://moved.ru/1")),
        // Temporary redirects are followed but move nothing; permanent after temporary neither.
        ("/t0", Reply::redirect(302, "/t1")),
        ("/t1", Reply::redirect(307, "/t2")),
        ("/t2", rss_reply("Временный", "https://temp.ru/1")),
        ("/x0", Reply::redirect(301, "/x1")),
        ("/x1", Reply::redirect(302, "/x2")),
        ("/x2", rss_reply("Смешанный", "https://mixed.ru/1")),
    ];
    let fixtures = fixture_sources();
    replies.extend(
        fixtures
            .iter()
            .map(|(_, path, reply)| (*path, reply.clone())),
    );
    let upstream = Upstream::start(replies).await;
    for hop in 0..6 {
        upstream.set(
            &format!("/far{hop}"),
            Reply::redirect(301, &format!("/far{}", hop + 1)),
        );
    }
    upstream.set("/far6", rss_reply("Далёкий", "https://far.ru/1"));
    let mut sources = vec![
        ("e500", "/e500", ""),
        ("missing", "/nowhere", ""),
        ("limited", "/limited", ""),
        ("limited-date", "/limited-date", ""),
        ("unavailable", "/unavailable", ""),
        ("huge", "/huge", ""),
        ("bomb", "/bomb", ""),
        ("garbage", "/garbage", ""),
        ("loop", "/loop/a", ""),
        ("gone", "/gone", ""),
        ("slow", "/slow", ""),
        ("patient", "/patient", "timeout = \"1m\""),
        ("trickle", "/trickle", ""),
        ("moved", "/m0", ""),
        ("far", "/far0", ""),
        ("temp", "/t0", ""),
        ("mixed", "/x0", ""),
    ];
    sources.extend(fixtures.iter().map(|(id, path, _)| (*id, *path, "")));
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), &upstream, &sources);
    let store = daemon::open_store(&config).unwrap();
    let clock = Clock::tokio();

    let first = poll_all(&config, &store, clock).await;

    for id in [
        "lenobl", "vremya", "news47", "belta", "patient", "moved", "temp", "mixed",
    ] {
        let report = first.get(id);
        assert_eq!(report.status, PollStatus::Ingested, "{report:?}");
        assert_eq!(report.source_status, SourceStatus::Ok, "{report:?}");
        assert!(report.state.next_due.is_some() && report.state.interval_secs > 0);
    }
    for (id, http, error) in [
        ("e500", Some(500), "HTTP status 500"),
        ("missing", Some(404), "HTTP status 404"),
        ("unavailable", Some(503), "HTTP status 503"),
        ("huge", Some(200), "larger than the limit of 1048576 bytes"),
        ("bomb", Some(200), "larger than the limit of 1048576 bytes"),
        ("garbage", Some(200), "not a feed"),
        ("loop", None, "redirect loop"),
        ("far", None, "more than 5 redirects"),
        ("slow", None, "timed out after 5s"),
        ("trickle", None, "timed out after 5s"),
    ] {
        assert_failed(first.get(id), http, error);
        assert_backs_off(first.get(id), 1);
    }
    // The bomb was stopped at the cap, not inflated to its 32 MiB.
    assert!(store.entry_count() < 100);

    // Retry-After, in seconds and as an HTTP date, sets that source's next poll.
    let limited = first.get("limited");
    assert_failed(limited, Some(429), "HTTP status 429");
    assert_eq!(wait_after_poll(limited), chrono::Duration::hours(1));
    assert_eq!(limited.state.retry_after, limited.state.next_due);
    let by_date = first.get("limited-date");
    assert_failed(by_date, Some(503), "HTTP status 503");
    let due = by_date.state.next_due.unwrap();
    assert_eq!(httpdate::fmt_http_date(due.into()), retry_at);

    // 410 disables the source, with its reason.
    let gone = first.get("gone");
    assert_eq!(gone.status, PollStatus::Failed);
    assert_eq!(gone.http_status, Some(410));
    assert_eq!(gone.source_status, SourceStatus::Disabled);
    assert!(gone.state.disabled.as_deref().unwrap().contains("410 Gone"));
    assert_eq!(gone.state.next_due, None);

    // Permanent redirects move the source; temporary ones do not.
    assert_eq!(
        first.get("moved").state.current_url.as_deref(),
        Some(upstream.url("/m5").as_str())
    );
    assert_eq!(first.get("temp").state.current_url, None);
    assert_eq!(
        first.get("temp").final_url.as_deref(),
        Some(upstream.url("/t2").as_str())
    );
    assert_eq!(
        first.get("mixed").state.current_url.as_deref(),
        Some(upstream.url("/x1").as_str())
    );

    // The second round: the moved source is polled where it moved to, the gone one not at all,
    // a temporary redirect from its configured URL again, and an unchanged feed answers 304.
    upstream.set(
        "/lenobl/rss",
        Reply::ok(
            "application/rss+xml",
            common::fixture("feeds/lenobl.rss.xml"),
        )
        .with_etag("\"l1\""),
    );
    let lenobl = vec![config.source("lenobl").unwrap().clone()];
    let topics = daemon::compile_topics(&config).unwrap();
    let poller = daemon::poller(&config, &store, &topics, clock).unwrap();
    daemon::poll_once_with(&poller, &lenobl, |_| {})
        .await
        .unwrap();
    let second = poll_all(&config, &store, clock).await;
    assert_eq!(upstream.requests_to("/m0").len(), 1);
    assert_eq!(upstream.requests_to("/m5").len(), 2);
    assert_eq!(second.get("moved").status, PollStatus::Ingested);
    // An ingested poll says where its time went, within the poll's own time; a poll that
    // ingested nothing has no stages. (Placing and indexing one entry can take under 1 µs.)
    let moved = second.get("moved");
    let stages = moved.stages;
    for (stage, us) in [
        ("parse", stages.parse_us),
        ("normalize", stages.normalize_us),
        ("store", stages.store_us),
    ] {
        assert!(us > 0, "{stage} took no time: {stages:?}");
    }
    let total = stages.parse_us
        + stages.normalize_us
        + stages.store_us
        + stages.stories_us
        + stages.topics_us
        + stages.flush_us;
    assert!(
        total <= (moved.elapsed_ms as u64 + 1) * 1000,
        "{stages:?} add up to more than the poll's {} ms",
        moved.elapsed_ms
    );
    assert_eq!(upstream.requests_to("/gone").len(), 1);
    assert_eq!(second.get("gone").status, PollStatus::Disabled);
    assert_eq!(upstream.requests_to("/t0").len(), 2);
    let not_modified = second.get("lenobl");
    assert_eq!(not_modified.status, PollStatus::NotModified);
    assert_eq!(not_modified.stages, StageTimes::default());
    assert_eq!(not_modified.state.consecutive_failures, 0);
    assert!(wait_after_poll(not_modified) >= chrono::Duration::minutes(5));
    // Failures count up and wait longer.
    let e500 = second.get("e500");
    assert_eq!(e500.state.consecutive_failures, 2);
    assert_backs_off(e500, 2);

    // /healthz shows all of it.
    let base = serve(config.clone(), Arc::clone(&store)).await;
    let health: serde_json::Value = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "degraded");
    let source = |id: &str| {
        health["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(source("gone")["status"], "disabled");
    assert!(source("gone")["disabled"]
        .as_str()
        .unwrap()
        .contains("410 Gone"));
    assert_eq!(source("moved")["current_url"], upstream.url("/m5"));
    assert_eq!(source("moved")["url"], upstream.url("/m0"));
    assert!(source("limited")["retry_after"].is_string());
    let lenobl = source("lenobl");
    assert_eq!(lenobl["status"], "ok");
    assert_eq!(lenobl["etag"], "\"l1\"");
    assert_eq!(lenobl["last_status"], 304);
    for key in [
        "next_due",
        "last_success",
        "interval_secs",
        "items_seen",
        "consecutive_failures",
    ] {
        assert!(!lenobl[key].is_null(), "{key} missing from {lenobl}");
    }
    assert!(lenobl.get("publications").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_new_url_in_feeds_toml_brings_a_gone_source_back() {
    let upstream = Upstream::start(vec![
        ("/old", Reply::status(410)),
        ("/new", rss_reply("Новый адрес", "https://new.ru/1")),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), &upstream, &[("src", "/old", "")]);
    let store = daemon::open_store(&config).unwrap();
    let clock = Clock::tokio();
    let first = poll_all(&config, &store, clock).await;
    assert!(first.get("src").state.disabled.is_some());
    assert_eq!(
        poll_all(&config, &store, clock).await.get("src").status,
        PollStatus::Disabled
    );

    let config = config_for(dir.path(), &upstream, &[("src", "/new", "")]);
    let again = poll_all(&config, &store, clock).await;
    let report = again.get("src");
    assert_eq!(report.status, PollStatus::Ingested, "{report:?}");
    assert_eq!(report.state.disabled, None);
    assert_eq!(report.state.consecutive_failures, 0);
}

/// Six sources on one host and three on another, each answer taking ten (virtual) seconds: no
/// more than two requests reach a host at once, and the second host is not kept waiting by the
/// first.
#[tokio::test(start_paused = true)]
async fn the_per_host_cap_holds_while_other_hosts_flow() {
    let slow = |n: usize| {
        rss_reply(&format!("Новость {n}"), &format!("https://a.ru/{n}"))
            .delayed(Duration::from_secs(10))
    };
    let busy = Upstream::start_on(
        "127.0.0.1",
        (0..6)
            .map(|n| (["/0", "/1", "/2", "/3", "/4", "/5"][n], slow(n)))
            .collect(),
    )
    .await;
    let other = Upstream::start_on(
        "127.0.0.2",
        (0..3)
            .map(|n| (["/0", "/1", "/2"][n], slow(10 + n)))
            .collect(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut text =
        "[settings]\ndata_dir = \"data\"\ntimeout = \"1m\"\nconcurrency = 16\n".to_string();
    for n in 0..6 {
        text.push_str(&format!(
            "[[source]]\nid = \"busy{n}\"\nurl = \"{}\"\n",
            busy.url(&format!("/{n}"))
        ));
    }
    for n in 0..3 {
        text.push_str(&format!(
            "[[source]]\nid = \"other{n}\"\nurl = \"{}\"\n",
            other.url(&format!("/{n}"))
        ));
    }
    std::fs::write(dir.path().join("feeds.toml"), text).unwrap();
    let config = load(&dir.path().join("feeds.toml"));
    assert_eq!(config.settings.per_host, 2, "the default");
    let store = daemon::open_store(&config).unwrap();
    let start = tokio::time::Instant::now();
    let polled = poll_all(&config, &store, Clock::tokio()).await;
    assert!(polled
        .reports
        .iter()
        .all(|r| r.status == PollStatus::Ingested));
    assert_eq!(busy.max_in_flight(), 2);
    assert_eq!(other.max_in_flight(), 2);
    // Three rounds of two on the busy host; the other host's first requests start at once.
    assert!(
        start.elapsed() >= Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    let other_first = other
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.at)
        .min()
        .unwrap();
    assert!(other_first - start < Duration::from_secs(1));
}
