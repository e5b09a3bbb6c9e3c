//! `vestnik run` and `vestnik poll`: the scheduling loop around [`ingest::poll_source`], the HTTP
//! server, and an orderly shutdown.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::{Config, ConfigError, Source};
use crate::fetch::{FetchError, FetchLimits, Fetcher};
use crate::ingest::{self, PollReport};
use crate::serve::{self, AppState};
use crate::store::{Store, StoreError};
use crate::topics::Topics;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot open the store at {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server stopped: {0}")]
    Serve(std::io::Error),
    #[error("no source with id \"{0}\" in the configuration")]
    UnknownSource(String),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigError>),
    #[error(transparent)]
    Index(StoreError),
    #[error("a background task failed: {0}")]
    Task(String),
}

pub fn open_store(config: &Config) -> Result<Arc<Store>, DaemonError> {
    let path = &config.settings.data_dir;
    Store::open(path)
        .map(Arc::new)
        .map_err(|source| DaemonError::Store {
            path: path.display().to_string(),
            source,
        })
}

/// Compiles the topics of a configuration; a query that does not parse is a config error.
pub fn compile_topics(config: &Config) -> Result<Arc<Topics>, DaemonError> {
    Topics::compile(config)
        .map(Arc::new)
        .map_err(DaemonError::Config)
}

/// Finishes what a previous run left pending (entries not yet placed in a story) and brings the
/// topic index up to date with the configured topics: every stored entry is evaluated again when
/// a topic was added, removed or changed, else only the pending ones.
pub async fn index_topics(topics: &Arc<Topics>, store: &Arc<Store>) -> Result<usize, DaemonError> {
    let (topics, store) = (Arc::clone(topics), Arc::clone(store));
    tokio::task::spawn_blocking(move || {
        crate::cluster::story::place_pending(
            &*store,
            &crate::cluster::story::StoryRules::default(),
        )?;
        topics.reindex_if_changed(&store)
    })
    .await
    .map_err(|e| DaemonError::Task(e.to_string()))?
    .map_err(DaemonError::Index)
}

pub fn fetcher(config: &Config) -> Result<Fetcher, DaemonError> {
    let settings = &config.settings;
    Ok(Fetcher::new(FetchLimits {
        connect_timeout: settings.connect_timeout,
        timeout: settings.timeout,
        max_body_bytes: settings.max_body_bytes,
    })?)
}

/// Polls the given sources once each, at most `settings.concurrency` at a time, and returns
/// their reports in the order given. `on_done` is told of each as it finishes.
pub async fn poll_once(
    config: &Config,
    store: &Arc<Store>,
    topics: &Arc<Topics>,
    sources: &[Source],
    mut on_done: impl FnMut(&PollReport),
) -> Result<Vec<PollReport>, DaemonError> {
    let fetcher = fetcher(config)?;
    let limit = Arc::new(Semaphore::new(config.settings.concurrency));
    let mut polls = JoinSet::new();
    for (index, source) in sources.iter().cloned().enumerate() {
        let (store, fetcher, limit, topics) = (
            Arc::clone(store),
            fetcher.clone(),
            Arc::clone(&limit),
            Arc::clone(topics),
        );
        polls.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (
                index,
                ingest::poll_source(&source, &store, &fetcher, &topics).await,
            )
        });
    }
    let mut reports: Vec<Option<PollReport>> = vec![None; sources.len()];
    while let Some(joined) = polls.join_next().await {
        if let Ok((index, report)) = joined {
            on_done(&report);
            reports[index] = Some(report);
        }
    }
    Ok(reports.into_iter().flatten().collect())
}

/// Picks the sources `vestnik poll` works on: all, or the one named.
pub fn select_sources(config: &Config, only: Option<&str>) -> Result<Vec<Source>, DaemonError> {
    match only {
        None => Ok(config.sources.clone()),
        Some(id) => config
            .source(id)
            .cloned()
            .map(|s| vec![s])
            .ok_or_else(|| DaemonError::UnknownSource(id.to_string())),
    }
}

/// Runs the daemon until `shutdown` resolves: serves HTTP and polls every source at start, then
/// each at its interval. On shutdown it stops starting polls, lets the ones in flight finish
/// their writes, flushes the store and returns.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    let config = Arc::new(config);
    let topics = compile_topics(&config)?;
    let store = open_store(&config)?;
    let evaluated = index_topics(&topics, &store).await?;
    if evaluated > 0 {
        tracing::info!(entries = evaluated, "topic index brought up to date");
    }
    let fetcher = fetcher(&config)?;
    let listener = tokio::net::TcpListener::bind(config.settings.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            address: config.settings.listen.to_string(),
            source,
        })?;
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(%address, sources = config.sources.len(), topics = config.topics.len(), "serving");

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let state = AppState::new(Arc::clone(&config), Arc::clone(&topics), Arc::clone(&store));
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = server_stop.wait_for(|stop| *stop).await;
        };
        serve::limits::serve(
            listener,
            serve::router(state),
            serve::limits::Limits::default(),
            stopped,
        )
        .await
    });

    let retention = tokio::spawn(retention_loop(
        Arc::clone(&store),
        config.settings.retention,
        stop_rx.clone(),
    ));
    schedule_loop(&config, &store, &fetcher, &topics, stop_rx).await;
    let _ = retention.await;

    if let Err(e) = store.flush().await {
        tracing::error!(error = %e, "cannot flush the store at shutdown");
    }
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(DaemonError::Serve(e)),
        Err(e) => tracing::error!(error = %e, "the HTTP server task failed"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// How often stories past `settings.retention` are looked for.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes stories older than `retention` at start and then every hour, until stopped.
async fn retention_loop(
    store: Arc<Store>,
    retention: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX / 2);
        let store_now = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || store_now.remove_stories_before(cutoff)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => {
                tracing::info!(stories = removed, %cutoff, "removed stories past retention")
            }
            Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
            Err(e) => tracing::error!(error = %e, "retention task failed"),
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(RETENTION_EVERY) => {}
        }
    }
}

/// Starts each source's poll when it is due, never two polls of one source at once, at most
/// `settings.concurrency` in flight.
async fn schedule_loop(
    config: &Arc<Config>,
    store: &Arc<Store>,
    fetcher: &Fetcher,
    topics: &Arc<Topics>,
    mut stop: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(config.settings.concurrency));
    let now = Instant::now();
    let mut due: HashMap<String, Instant> =
        config.sources.iter().map(|s| (s.id.clone(), now)).collect();
    let mut in_flight: HashSet<String> = HashSet::new();
    let mut polls: JoinSet<PollReport> = JoinSet::new();
    loop {
        let now = Instant::now();
        for source in &config.sources {
            if in_flight.contains(&source.id) || due.get(&source.id).is_some_and(|at| *at > now) {
                continue;
            }
            in_flight.insert(source.id.clone());
            let (source, store, fetcher, limit, topics) = (
                source.clone(),
                Arc::clone(store),
                fetcher.clone(),
                Arc::clone(&limit),
                Arc::clone(topics),
            );
            polls.spawn(async move {
                let _permit = limit.acquire_owned().await;
                ingest::poll_source(&source, &store, &fetcher, &topics).await
            });
        }
        let next_wake = config
            .sources
            .iter()
            .filter(|s| !in_flight.contains(&s.id))
            .filter_map(|s| due.get(&s.id))
            .min()
            .copied()
            .unwrap_or_else(|| now + std::time::Duration::from_secs(3600));
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            Some(joined) = polls.join_next(), if !polls.is_empty() => {
                if let Ok(report) = joined {
                    if let Some(source) = config.source(&report.source_id) {
                        due.insert(source.id.clone(), Instant::now() + source.interval);
                    }
                    in_flight.remove(&report.source_id);
                }
            }
            _ = tokio::time::sleep_until(next_wake) => {}
        }
    }
    // Polls in flight finish their writes; their fetches are bounded by the fetch timeout.
    tracing::info!(
        in_flight = polls.len(),
        "shutting down: waiting for polls in flight"
    );
    while polls.join_next().await.is_some() {}
}
