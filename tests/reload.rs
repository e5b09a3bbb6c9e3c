//! Hot reload: editing `feeds.toml` the way editors do (write beside, rename over) changes what
//! the running server publishes, and a broken edit keeps the running configuration.

mod common;

use std::sync::Arc;

use common::{fixture_sources, load, write_config};
use vestnik::daemon;

/// Replaces the file as editors do: a new file renamed over the old one.
fn replace(path: &std::path::Path, text: &str) {
    let partial = path.with_extension("toml.swp");
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

async fn healthz(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits for the watcher to act; the guard only stops a broken watcher from hanging the test.
async fn until<F, Fut>(mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the configuration change was not picked up");
}

#[tokio::test]
async fn an_edit_applies_without_restart_and_a_broken_one_is_refused() {
    let sources = fixture_sources();
    let (_upstream, named) = common::start_sources(&sources).await;
    let dir = tempfile::tempdir().unwrap();
    let topic = "[[topic]]\nid = \"ngo\"\ntitle = \"НКО\"\nquery = 'НКО'\n";
    let path = write_config(dir.path(), "127.0.0.1:8080", &named, topic);
    let original = std::fs::read_to_string(&path).unwrap();
    let config = load(&path);
    let store = daemon::open_store(&config).unwrap();
    let topics = daemon::compile_topics(&config).unwrap();
    daemon::poll_once(&config, &store, &topics, &config.sources.clone(), |_| {})
        .await
        .unwrap();
    let state = vestnik::serve::AppState::new(Arc::new(config), topics, Arc::clone(&store));
    let _watcher =
        vestnik::reload::watch(path.clone(), Arc::clone(&state), Arc::clone(&store)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, vestnik::serve::router(state)).await });
    let intl = format!("{base}/feeds/intl.rss");
    assert_eq!(reqwest::get(&intl).await.unwrap().status(), 404);

    // A broken query: refused, reported with file:line:col, the old topics still served.
    replace(
        &path,
        &format!("{original}[[topic]]\nid = \"intl\"\ntitle = \"Intl\"\nquery = 'Китай AND ('\n"),
    );
    until(|| async {
        !healthz(&base).await["config_errors"]
            .as_array()
            .unwrap()
            .is_empty()
    })
    .await;
    let errors = healthz(&base).await["config_errors"].clone();
    let error = errors[0].as_str().unwrap();
    let line = original.lines().count() + 4;
    assert!(error.contains(&format!("feeds.toml:{line}:")), "{error}");
    let dashboard = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("Configuration errors") && dashboard.contains(&format!(":{line}:")));
    assert_eq!(reqwest::get(&intl).await.unwrap().status(), 404);
    assert_eq!(
        reqwest::get(format!("{base}/feeds/ngo.rss"))
            .await
            .unwrap()
            .status(),
        200
    );

    // Fixed: the new topic is published with its matching stories, the error is gone.
    replace(
        &path,
        &format!(
            "{original}[[topic]]\nid = \"intl\"\ntitle = \"Intl\"\nquery = 'Китай OR Беларусь'\n"
        ),
    );
    until(|| async { reqwest::get(&intl).await.unwrap().status() == 200 }).await;
    assert!(healthz(&base).await["config_errors"]
        .as_array()
        .unwrap()
        .is_empty());
    let body = reqwest::get(&intl).await.unwrap().bytes().await.unwrap();
    let channel = rss::Channel::read_from(&body[..]).unwrap();
    assert!(
        !channel.items.is_empty(),
        "the new topic was evaluated on stored entries"
    );
}

/// Reading the file, touching it or saving it unchanged reloads nothing: inotify reports reads
/// too, and a reload reads the file, so one `cat feeds.toml` once set off a reload every quarter
/// second for good, each dropping every rendered feed.
#[tokio::test]
async fn reading_or_touching_the_file_reloads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let topic = "[[topic]]\nid = \"ngo\"\ntitle = \"НКО\"\nquery = 'НКО'\n";
    let sources = [("lenobl", "http://127.0.0.1:9/lenobl.rss".to_string())];
    let path = write_config(dir.path(), "127.0.0.1:8080", &sources, topic);
    let original = std::fs::read_to_string(&path).unwrap();
    let config = load(&path);
    let store = daemon::open_store(&config).unwrap();
    let topics = daemon::compile_topics(&config).unwrap();
    let state = vestnik::serve::AppState::new(Arc::new(config), topics, Arc::clone(&store));
    let _watcher =
        vestnik::reload::watch(path.clone(), Arc::clone(&state), Arc::clone(&store)).unwrap();
    let started_with = state.config();

    for _ in 0..5 {
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    std::fs::File::options()
        .append(true)
        .open(&path)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    replace(&path, &original);
    // Well past the watcher's 250 ms debounce.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(Arc::ptr_eq(&state.config(), &started_with), "reloaded");

    // A real edit still reloads (so the test above could have failed).
    replace(&path, &original.replace("НКО'", "НКО OR волонтёры'"));
    until(|| async { !Arc::ptr_eq(&state.config(), &started_with) }).await;
}

/// The running daemon follows an edit of its sources: an added source is polled and its
/// entries published, a removed one is no longer polled, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_polls_added_sources_and_stops_removed_ones() {
    let sources = fixture_sources();
    let (upstream, named) = common::start_sources(&sources).await;
    let (lenobl, vremya) = (named[0].clone(), named[1].clone());
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", common::free_port());
    let base = format!("http://{listen}");
    // Polled every second, so that a source left scheduled would show within the test.
    let fast = "min_interval = \"1s\"\nmax_interval = \"1s\"";
    let path = common::write_config_with(dir.path(), &listen, fast, &[lenobl], "");
    let config = load(&path);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(daemon::run(config, async move {
        let _ = stopped.await;
    }));
    let (lenobl_path, vremya_path) = ("/lenobl/rss", "/vremya/rss");
    until(|| async { upstream.requests_to(lenobl_path).len() >= 2 }).await;
    assert!(upstream.requests_to(vremya_path).is_empty());

    // lenobl out, vremya in.
    let scratch = tempfile::tempdir().unwrap();
    let edited = common::write_config_with(scratch.path(), &listen, fast, &[vremya], "");
    replace(&path, &std::fs::read_to_string(edited).unwrap());
    until(|| async {
        let health = healthz(&base).await;
        let sources = health["sources"].as_array().cloned().unwrap_or_default();
        sources.len() == 1
            && sources[0]["id"] == "vremya"
            && sources[0]["entries_stored"].as_u64().unwrap_or(0) > 0
    })
    .await;
    let all = reqwest::get(format!("{base}/feeds/all.rss"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let channel = rss::Channel::read_from(&all[..]).unwrap();
    assert!(
        channel.items.iter().any(|item| item
            .source
            .as_ref()
            .is_some_and(|s| s.url.contains(vremya_path))),
        "the added source's entries are published"
    );
    // A poll of lenobl in flight at the edit may still end; none starts after it.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let polled = upstream.requests_to(lenobl_path).len();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(upstream.requests_to(lenobl_path).len(), polled);
    assert!(
        upstream.requests_to(vremya_path).len() >= 2,
        "vremya stays scheduled"
    );

    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
}
