//! The daemon's scheduling loop on tokio's paused clock: a day of polling in milliseconds.
//!
//! The poller is scripted (success, failures, Retry-After, 410, a busy and a silent source) and
//! goes through the real schedule policy, so the times asserted here are the ones the daemon
//! keeps: start-up spread, backoff, Retry-After, adaptive intervals, and a restart that resumes
//! the saved schedule.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use vestnik::config::{Config, Source};
use vestnik::daemon::schedule_polls;
use vestnik::ingest::{PollReport, PollStatus};
use vestnik::running::Current;
use vestnik::schedule::{
    self, after_poll, CacheHeaders, Clock, Policy, PollOutcome, SourceState, SourceStatus,
};
use vestnik::topics::Topics;

/// Each poll "fetches" for this long before its outcome is known.
const FETCH: Duration = Duration::from_secs(1);
/// The jitter the scripted poller draws: backoff waits are cut by 12.5 %, intervals unchanged.
const JITTER: f64 = 0.5;

const CONFIG: &str = r#"
[settings]
interval = "15m"
min_interval = "5m"
max_interval = "6h"
max_backoff = "24h"

[[source]]
id = "steady"
url = "https://steady.example/rss"

[[source]]
id = "busy"
url = "https://busy.example/rss"

[[source]]
id = "flaky"
url = "https://flaky.example/rss"

[[source]]
id = "limited"
url = "https://limited.example/rss"

[[source]]
id = "gone"
url = "https://gone.example/rss"
"#;

/// What the scripted sources remember: their states and every poll's end time.
#[derive(Default)]
struct World {
    states: HashMap<String, SourceState>,
    polls: Vec<(String, DateTime<Utc>)>,
    /// The URL each poll was made with.
    urls: Vec<(String, String)>,
}

impl World {
    fn times(&self, id: &str) -> Vec<DateTime<Utc>> {
        self.polls
            .iter()
            .filter(|(s, _)| s == id)
            .map(|(_, t)| *t)
            .collect()
    }

    fn gaps(&self, id: &str) -> Vec<i64> {
        self.times(id)
            .windows(2)
            .map(|w| (w[1] - w[0]).num_seconds())
            .collect()
    }
}

fn outcome(id: &str, poll_number: usize, now: DateTime<Utc>) -> PollOutcome {
    let success = |publications| PollOutcome::Success {
        publications,
        ttl_minutes: None,
        cache: CacheHeaders::default(),
        moved_to: None,
    };
    match (id, poll_number) {
        ("flaky", 0..=3) => PollOutcome::Failure {
            status: Some(503),
            error: "HTTP status 503".into(),
        },
        ("limited", 0) => PollOutcome::RetryAfter {
            wait: Duration::from_secs(2 * 3600),
            status: 429,
            error: "HTTP status 429".into(),
        },
        ("gone", _) => PollOutcome::Gone {
            url: "https://gone.example/rss".into(),
            error: "HTTP status 410".into(),
        },
        // Three new items a minute apart on every poll.
        ("busy", _) => success(
            (1..=3)
                .map(|m| now - chrono::Duration::minutes(m))
                .collect(),
        ),
        _ => success(Vec::new()),
    }
}

/// Runs the scheduler for `for_how_long` of virtual time over `world`'s saved states.
async fn run_for(config: &Config, world: &Arc<Mutex<World>>, clock: Clock, for_how_long: Duration) {
    run_with_edits(config, Vec::new(), world, clock, for_how_long).await;
}

fn current(config: &Config) -> Current {
    let topics = Topics::compile(config).unwrap();
    Current::new(Arc::new(config.clone()), Arc::new(topics))
}

/// [`run_for`], with the configuration replaced by each of `edits` at its time (a hot reload).
async fn run_with_edits(
    config: &Config,
    edits: Vec<(Duration, Config)>,
    world: &Arc<Mutex<World>>,
    clock: Clock,
    for_how_long: Duration,
) {
    let settings = Arc::new(config.settings.clone());
    let spread = schedule::startup_spread(config.sources.len());
    let count = config.sources.len();
    let saved = Arc::clone(world);
    let first_due = move |i: usize, source: &Source| {
        let world = saved.lock().unwrap();
        let state = world.states.get(&source.id).cloned().unwrap_or_default();
        let policy = Policy::new(source, &settings);
        let jitter = i as f64 / count.max(i + 1) as f64;
        state
            .disabled
            .is_none()
            .then(|| schedule::first_due(&state, &policy, spread, clock.now(), jitter))
    };
    let (running, sources) = watch::channel(current(config));
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        for (at, edited) in edits {
            tokio::time::sleep_until(start + at).await;
            running.send_replace(current(&edited));
        }
        // Held until the run ends: a dropped configuration stops the scheduler.
        std::future::pending::<()>().await;
    });
    let settings = Arc::new(config.settings.clone());
    let scripted = Arc::clone(world);
    let poll = move |source: Source| {
        let (world, settings) = (Arc::clone(&scripted), Arc::clone(&settings));
        async move {
            tokio::time::sleep(FETCH).await;
            let now = clock.now();
            let mut world = world.lock().unwrap();
            let poll_number = world.times(&source.id).len();
            world.polls.push((source.id.clone(), now));
            world.urls.push((source.id.clone(), source.url.to_string()));
            let state = world.states.entry(source.id.clone()).or_default();
            let policy = Policy::new(&source, &settings);
            after_poll(
                state,
                outcome(&source.id, poll_number, now),
                &policy,
                now,
                JITTER,
            );
            PollReport {
                status: PollStatus::Ingested,
                source_status: state.status(),
                state: state.clone(),
                ..PollReport::new(&source.id, source.url.as_str())
            }
        }
    };
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        tokio::time::sleep(for_how_long).await;
        let _ = stop.send(true);
    });
    schedule_polls(sources, first_due, clock, poll, stopped).await;
}

#[tokio::test(start_paused = true)]
async fn a_day_of_polling_keeps_the_schedule() {
    let config = Config::parse(Path::new("feeds.toml"), CONFIG).unwrap();
    let clock = Clock::tokio();
    let start = clock.now();
    let world = Arc::new(Mutex::new(World::default()));

    // An hour, a restart, and the rest of the day.
    run_for(&config, &world, clock, Duration::from_secs(3600)).await;
    let restarted_at = clock.now();
    run_for(&config, &world, clock, Duration::from_secs(23 * 3600)).await;
    let world = world.lock().unwrap();

    // Start-up spreads the first polls over 50 ms a source.
    for source in &config.sources {
        let first = world.times(&source.id)[0] - start;
        let spread =
            chrono::Duration::milliseconds(250) + chrono::Duration::from_std(FETCH).unwrap();
        assert!(
            first >= chrono::Duration::from_std(FETCH).unwrap() && first < spread,
            "{}: {first}",
            source.id
        );
    }
    let starts: Vec<_> = config
        .sources
        .iter()
        .map(|s| world.times(&s.id)[0])
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] != w[1]),
        "spread, not all at once: {starts:?}"
    );

    // Four failures back off 15, 30, 60, 120 minutes (less 12.5 % jitter), then the interval.
    let flaky = world.gaps("flaky");
    let fetch = FETCH.as_secs() as i64;
    let backoff: Vec<i64> = [15, 30, 60, 120]
        .iter()
        .map(|m| m * 60 * 7 / 8 + fetch)
        .collect();
    assert_eq!(flaky[..4], backoff[..], "{flaky:?}");
    assert_eq!(world.states["flaky"].status(), SourceStatus::Ok);

    // Retry-After: the next poll two hours later, not sooner, even across the restart.
    let limited = world.times("limited");
    assert_eq!((limited[1] - limited[0]).num_seconds(), 2 * 3600 + fetch);
    assert!(limited[1] > restarted_at);

    // 410: polled once, never again, not even after the restart.
    assert_eq!(world.times("gone").len(), 1);
    assert_eq!(world.states["gone"].status(), SourceStatus::Disabled);

    // A busy source settles at the minimum interval; a silent one slows to the maximum.
    let busy = world.gaps("busy");
    assert!(busy.iter().all(|g| *g >= 5 * 60), "{busy:?}");
    assert_eq!(*busy.last().unwrap(), 5 * 60 + fetch, "{busy:?}");
    let steady = world.gaps("steady");
    assert!(steady.windows(2).all(|w| w[0] <= w[1]), "{steady:?}");
    assert_eq!(*steady.last().unwrap(), 6 * 3600 + fetch, "{steady:?}");
    assert_eq!(world.states["steady"].interval_secs, 6 * 3600);
}

/// A hot reload reaches the scheduler: a source added by an edit is polled at once, a removed
/// one is not polled again, a changed one is polled at its new URL and keeps its schedule.
#[tokio::test(start_paused = true)]
async fn an_edit_adds_removes_and_changes_scheduled_sources() {
    let before = Config::parse(Path::new("feeds.toml"), CONFIG).unwrap();
    let edited_text = CONFIG
        .replace(
            "id = \"busy\"\nurl = \"https://busy.example/rss\"",
            "id = \"newcomer\"\nurl = \"https://newcomer.example/rss\"",
        )
        .replace("https://steady.example/rss", "https://steady.example/feed");
    let after = Config::parse(Path::new("feeds.toml"), &edited_text).unwrap();
    assert!(after.source("busy").is_none() && after.source("newcomer").is_some());
    let clock = Clock::tokio();
    let start = clock.now();
    let world = Arc::new(Mutex::new(World::default()));
    let edit_at = Duration::from_secs(3600);
    run_with_edits(
        &before,
        vec![(edit_at, after)],
        &world,
        clock,
        Duration::from_secs(6 * 3600),
    )
    .await;
    let world = world.lock().unwrap();
    let edited = start + chrono::Duration::from_std(edit_at).unwrap();
    let fetch = chrono::Duration::from_std(FETCH).unwrap();

    // The removed source: busy every 5 minutes before the edit, then never again (a poll in
    // flight at the edit may still end just after it).
    let busy = world.times("busy");
    assert!(busy.len() >= 10, "{busy:?}");
    assert!(busy.iter().all(|t| *t <= edited + fetch), "{busy:?}");

    // The added source: first polled right after the edit (start-up spread at most), then on.
    let newcomer = world.times("newcomer");
    assert!(newcomer.len() >= 2, "{newcomer:?}");
    assert!(
        newcomer[0] >= edited && newcomer[0] < edited + chrono::Duration::seconds(1) + fetch,
        "{newcomer:?}"
    );

    // The changed source: before the edit at its old URL, after it at the new one, and not
    // polled sooner than its schedule because it changed.
    let steady_urls: Vec<_> = world
        .urls
        .iter()
        .filter(|(id, _)| id == "steady")
        .map(|(_, url)| url.as_str())
        .collect();
    let steady = world.times("steady");
    for (time, url) in steady.iter().zip(&steady_urls) {
        let expected = if *time <= edited + fetch {
            "https://steady.example/rss"
        } else {
            "https://steady.example/feed"
        };
        assert_eq!(*url, expected, "{steady:?} {steady_urls:?}");
    }
    assert!(steady.iter().any(|t| *t > edited + fetch), "{steady:?}");
    let gaps = world.gaps("steady");
    assert!(gaps.windows(2).all(|w| w[0] <= w[1]), "{gaps:?}");
}

mod common;

/// The real daemon over loopback, on the real clock: it resumes the saved schedule at start —
/// a source its server asked to wait (Retry-After) and one gone (410) are not polled, a new one
/// is at once. (A paused clock cannot time the real daemon: while a poll waits on sled's flush
/// thread, tokio's paused clock jumps to the next timer; the scripted test above keeps time.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_resumes_saved_schedules_at_start() {
    use common::{fixture_sources, free_port, load, write_config, Reply, Upstream};

    let (_, fresh_path, fresh_reply) = fixture_sources().remove(0);
    let upstream = Upstream::start(vec![
        (fresh_path, fresh_reply),
        (
            "/waiting",
            Reply::status(429).with_header("retry-after", "3600"),
        ),
        ("/gone", Reply::status(410)),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let sources = [
        ("fresh", upstream.url(fresh_path)),
        ("waiting", upstream.url("/waiting")),
        ("gone", upstream.url("/gone")),
    ];
    let config = load(&write_config(dir.path(), &listen, &sources, ""));
    {
        // What an earlier run saved: a Retry-After an hour ahead, and a 410.
        let store = vestnik::daemon::open_store(&config).unwrap();
        let config_for = |id: &str| config.source(id).unwrap().clone();
        let policy = |id: &str| Policy::new(&config_for(id), &config.settings);
        let now = Utc::now();
        for (id, outcome) in [
            ("waiting", outcome("limited", 0, now)),
            ("gone", outcome("gone", 0, now)),
        ] {
            let mut state = SourceState::default();
            state.adopt_configured_url(config_for(id).url.as_str());
            after_poll(&mut state, outcome, &policy(id), now, JITTER);
            store.put_source_state(id, &state).unwrap();
        }
        store.flush().await.unwrap();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(vestnik::daemon::run(config.clone(), async move {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while upstream.requests_to(fresh_path).is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The start-up spread for three sources is 150 ms: give the others as long again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
    assert_eq!(upstream.requests_to(fresh_path).len(), 1);
    assert!(upstream.requests_to("/waiting").is_empty());
    assert!(upstream.requests_to("/gone").is_empty());
    let store = vestnik::daemon::open_store(&config).unwrap();
    let waiting = store.source_state("waiting").unwrap().unwrap();
    assert!(waiting.next_due.unwrap() > Utc::now() + chrono::Duration::minutes(55));
}
