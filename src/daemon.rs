//! `vestnik run` and `vestnik poll`: the scheduling loop around [`ingest::poll_source`], the HTTP
//! server, and an orderly shutdown.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::{Config, ConfigError, Source};
use crate::fetch::{FetchError, FetchLimits, Fetcher};
use crate::ingest::{IngestPool, PollReport, Poller};
use crate::running::{Current, Running};
use crate::schedule::{self, Clock, ConcurrencyLimits, Policy};
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
    #[error("cannot start the ingest threads: {0}")]
    Threads(std::io::Error),
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

/// A poller for `config`: its store and topics, a fetcher, the caps from `[settings]` and `clock`.
pub fn poller(
    config: &Config,
    store: &Arc<Store>,
    topics: &Arc<Topics>,
    clock: Clock,
) -> Result<Poller, DaemonError> {
    let running = Running::new(Arc::new(config.clone()), Arc::clone(topics));
    poller_following(&running, store, clock)
}

/// A poller that matches new entries against the topics `running` holds at the time, so it
/// follows hot reloads. Its fetcher and caps come from the settings in force when it is made.
pub fn poller_following(
    running: &Arc<Running>,
    store: &Arc<Store>,
    clock: Clock,
) -> Result<Poller, DaemonError> {
    let config = running.config();
    Ok(Poller {
        store: Arc::clone(store),
        running: Arc::clone(running),
        fetcher: fetcher(&config)?,
        clock,
        limits: ConcurrencyLimits::from_settings(&config.settings),
        ingest_pool: Arc::new(IngestPool::per_core().map_err(DaemonError::Threads)?),
        settings: Arc::new(config.settings.clone()),
    })
}

/// Polls the given sources once each, now, under the global and per-host caps, and returns
/// their reports in the order given. `on_done` is told of each as it finishes. Sources disabled
/// by a 410 are reported, not polled.
pub async fn poll_once(
    config: &Config,
    store: &Arc<Store>,
    topics: &Arc<Topics>,
    sources: &[Source],
    on_done: impl FnMut(&PollReport),
) -> Result<Vec<PollReport>, DaemonError> {
    poll_once_with(
        &poller(config, store, topics, Clock::System)?,
        sources,
        on_done,
    )
    .await
}

/// [`poll_once`] with a poller of the caller's (tests use one on tokio's clock).
pub async fn poll_once_with(
    poller: &Poller,
    sources: &[Source],
    mut on_done: impl FnMut(&PollReport),
) -> Result<Vec<PollReport>, DaemonError> {
    let mut polls = JoinSet::new();
    for (index, source) in sources.iter().cloned().enumerate() {
        let poller = poller.clone();
        polls.spawn(async move { (index, poller.poll(&source).await) });
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

/// Runs the daemon until `shutdown` resolves: serves HTTP and polls every source when due —
/// at start-up spread over up to a minute, or when its saved schedule says. On shutdown it stops
/// starting polls, lets the ones in flight finish their writes, flushes the store and returns.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    run_with_clock(config, Clock::System, shutdown).await
}

/// [`run`] on the given clock; tests pass one on tokio's pausable time.
pub async fn run_with_clock(
    config: Config,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    let config = Arc::new(config);
    let topics = compile_topics(&config)?;
    let store = open_store(&config)?;
    let evaluated = index_topics(&topics, &store).await?;
    if evaluated > 0 {
        tracing::info!(entries = evaluated, "topic index brought up to date");
    }
    let running = Running::new(Arc::clone(&config), Arc::clone(&topics));
    let poller = poller_following(&running, &store, clock)?;
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
    // A server that stops on its own also stops the daemon: polling on without serving would
    // look healthy to no one.
    let server_failed = stop_tx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let state = AppState::with_running(Arc::clone(&running), Arc::clone(&store));
    // Hot reload of topics, feeds and what the dashboard shows (see reload.rs).
    let watcher =
        match crate::reload::watch(config.path.clone(), Arc::clone(&state), Arc::clone(&store)) {
            Ok(watcher) => Some(watcher),
            Err(e) => {
                tracing::warn!(error = %e, "configuration changes will need a restart");
                None
            }
        };
    // WebSub: the hub hears of each changed feed (a no-op without `settings.hub`).
    let websub = serve::websub::spawn(
        Arc::clone(&state),
        std::time::Duration::from_secs(5),
        stop_rx.clone(),
    );
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = server_stop.wait_for(|stop| *stop).await;
        };
        let served = serve::limits::serve(
            listener,
            serve::router(state),
            serve::limits::Limits::default(),
            stopped,
        )
        .await;
        if let Err(e) = &served {
            tracing::error!(error = %e, "the HTTP server failed; stopping");
            let _ = server_failed.send(true);
        }
        served
    });

    let retention = tokio::spawn(retention_loop(
        Arc::clone(&store),
        config.settings.retention,
        stop_rx.clone(),
    ));
    let spread = schedule::startup_spread(config.sources.len());
    let due_poller = poller.clone();
    let settings_of = Arc::clone(&running);
    // A source's first poll: at start, or when an edit adds it (or changes it).
    let first_due = move |_: usize, source: &Source| {
        let state = due_poller.state(source);
        if let Some(reason) = &state.disabled {
            tracing::warn!(source = %source.id, reason = %reason, "disabled; not polled");
            return None;
        }
        let policy = Policy::new(source, &settings_of.config().settings);
        Some(schedule::first_due(
            &state,
            &policy,
            spread,
            clock.now(),
            rand::random(),
        ))
    };
    let poll = move |source: Source| {
        let poller = poller.clone();
        async move { poller.poll(&source).await }
    };
    schedule_polls(running.watch(), first_due, clock, poll, stop_rx).await;
    let _ = retention.await;

    if let Err(e) = store.flush().await {
        tracing::error!(error = %e, "cannot flush the store at shutdown");
    }
    let served = server.await;
    // Every task that holds the store ends before `run` returns, so the store closes with it.
    let _ = websub.await;
    if let Some(watcher) = watcher {
        let _ = tokio::task::spawn_blocking(move || watcher.stop()).await;
    }
    match served {
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

/// Starts each source's poll when it is due, never two polls of one source at once, until
/// `stop` turns true; then waits for the polls in flight.
///
/// The sources are those of the configuration `sources` holds; on each change (a hot reload) a
/// new source is scheduled, a removed one is no longer polled (a poll in flight finishes), and
/// a changed one is polled as now configured at its next due time. `first_due(position,
/// source)` is when a source newly seen is first due (`None`: never); after each poll its
/// report's `next_due` says when again. `poll` does the work (and takes the concurrency
/// permits); the loop only keeps time, on `clock`, so tests drive it on a paused tokio clock.
pub async fn schedule_polls<P, F, D>(
    mut sources: watch::Receiver<Current>,
    mut first_due: D,
    clock: Clock,
    poll: P,
    mut stop: watch::Receiver<bool>,
) where
    P: Fn(Source) -> F,
    F: Future<Output = PollReport> + Send + 'static,
    D: FnMut(usize, &Source) -> Option<DateTime<Utc>>,
{
    let mut plan = Plan::default();
    plan.update(sources.borrow_and_update().sources(), &mut first_due, clock);
    let mut polls: JoinSet<PollReport> = JoinSet::new();
    let mut in_flight: HashMap<tokio::task::Id, (String, u64)> = HashMap::new();
    // The ids in `in_flight`, so that a due source is checked in constant time.
    let mut busy: HashSet<String> = HashSet::new();
    loop {
        let now = Instant::now();
        while let Some(Reverse((due, id, epoch))) = plan.queue.peek().cloned() {
            if due > now {
                break;
            }
            plan.queue.pop();
            let Some(source) = plan.source(&id, epoch) else {
                continue; // removed, or changed and queued again under a newer epoch
            };
            if busy.contains(&id) {
                // Re-added while its earlier self is still polling: after that poll ends.
                plan.queue.push(Reverse((now + BUSY_RETRY, id, epoch)));
                continue;
            }
            let task = polls.spawn(poll(source.clone()));
            busy.insert(id.clone());
            in_flight.insert(task.id(), (id, epoch));
        }
        let next_wake = plan
            .queue
            .peek()
            .map(|Reverse((due, _, _))| *due)
            .unwrap_or_else(|| now + Duration::from_secs(3600));
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            changed = sources.changed() => {
                if changed.is_err() {
                    // The configuration's holder is gone: the daemon is stopping.
                    break;
                }
                plan.update(sources.borrow_and_update().sources(), &mut first_due, clock);
            }
            Some(joined) = polls.join_next_with_id(), if !polls.is_empty() => {
                let (task, due) = match joined {
                    Ok((task, report)) => (task, report.state.next_due),
                    Err(error) => {
                        // A poll that panicked is tried again later rather than forgotten.
                        let retry = clock.now() + chrono::Duration::hours(1);
                        (error.id(), Some(retry))
                    }
                };
                let Some((id, epoch)) = in_flight.remove(&task) else { continue };
                busy.remove(&id);
                if plan.source(&id, epoch).is_none() {
                    continue; // removed (or re-added, with its own first poll) meanwhile
                }
                match due {
                    Some(due) => plan.queue.push(Reverse((clock.instant_at(due), id, epoch))),
                    None => tracing::warn!(source = %id, "no longer scheduled"),
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

/// How long a due source waits when its previous poll is still running.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// The scheduler's sources and their due times. Each source has an epoch, bumped when an edit
/// adds or changes it; queued times and polls in flight of an older epoch are dropped, so a
/// source is never queued twice.
#[derive(Default)]
struct Plan {
    sources: HashMap<String, (Source, u64)>,
    queue: BinaryHeap<Reverse<(Instant, String, u64)>>,
    next_epoch: u64,
}

impl Plan {
    fn source(&self, id: &str, epoch: u64) -> Option<&Source> {
        self.sources
            .get(id)
            .filter(|(_, current)| *current == epoch)
            .map(|(source, _)| source)
    }

    /// Brings the plan to `configured`: new and changed sources get their first due time,
    /// removed ones are forgotten. An unchanged source keeps its place in the queue.
    fn update<D>(&mut self, configured: &[Source], first_due: &mut D, clock: Clock)
    where
        D: FnMut(usize, &Source) -> Option<DateTime<Utc>>,
    {
        let before = std::mem::take(&mut self.sources);
        for (position, source) in configured.iter().enumerate() {
            match before.get(&source.id) {
                Some((known, epoch)) if known == source => {
                    self.sources
                        .insert(source.id.clone(), (source.clone(), *epoch));
                }
                previous => {
                    let epoch = self.next_epoch;
                    self.next_epoch += 1;
                    if previous.is_some() {
                        tracing::info!(source = %source.id, "changed in the configuration");
                    } else if !before.is_empty() {
                        tracing::info!(source = %source.id, "added to the configuration");
                    }
                    self.sources
                        .insert(source.id.clone(), (source.clone(), epoch));
                    if let Some(due) = first_due(position, source) {
                        self.queue
                            .push(Reverse((clock.instant_at(due), source.id.clone(), epoch)));
                    }
                }
            }
        }
        for id in before.keys().filter(|id| !self.sources.contains_key(*id)) {
            tracing::info!(source = %id, "removed from the configuration; no longer polled");
        }
    }
}
