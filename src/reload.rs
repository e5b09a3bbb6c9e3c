//! Hot reload: the configuration's folder is watched (editors replace the file rather than write
//! it in place, so the folder, not the file, is what to watch). A valid edit is compiled, the
//! topic index brought up to date and the new configuration swapped in; an invalid one is
//! refused, the running configuration kept, and its `file:line:col` errors logged and shown on
//! the dashboard and in `/healthz` until a valid edit replaces them.
//!
//! What the swap reaches ([`crate::running::Running`]): topics and their feeds, feed metadata
//! (titles, base URL, `max_items`, hub), the dashboard and health, the topics new entries are
//! matched against, and the scheduler's sources (new ones polled, removed ones stopped, changed
//! ones polled as now configured). Settings the poller was built from (`concurrency`,
//! `per_host`, timeouts, body cap), `listen` and `data_dir` take a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};

use crate::config::Config;
use crate::serve::AppState;
use crate::store::Store;
use crate::topics::Topics;

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("cannot watch {path}: {source}")]
    Watch {
        path: String,
        #[source]
        source: notify::Error,
    },
}

/// What one reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The new configuration runs.
    Applied,
    /// Refused: these errors, as `file:line:col: message`.
    Refused(Vec<String>),
}

/// Reads `path` again and applies it, or records why not. Blocking: call it off the runtime.
pub fn reload_now(path: &Path, state: &AppState, store: &Store) -> Reloaded {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(e) => return refuse(state, e.errors()),
    };
    let topics = match Topics::compile(&config) {
        Ok(topics) => topics,
        Err(errors) => return refuse(state, errors.iter().map(ToString::to_string).collect()),
    };
    tracing::info!(
        file = %path.display(),
        sources = config.sources.len(),
        topics = config.topics.len(),
        "configuration reloaded"
    );
    let topics = Arc::new(topics);
    // Swapped in first, so polls from now on index new entries by the new topics; then the
    // stored entries are evaluated again.
    state.replace_config(Arc::new(config), Arc::clone(&topics));
    match topics.reindex_if_changed(store) {
        Ok(0) => {}
        Ok(n) => tracing::info!(entries = n, "topics changed: entries evaluated again"),
        // The index is behind, not wrong for good: the next start evaluates the entries again.
        Err(e) => tracing::error!(error = %e, "cannot evaluate stored entries by the new topics"),
    }
    Reloaded::Applied
}

fn refuse(state: &AppState, errors: Vec<String>) -> Reloaded {
    for error in &errors {
        tracing::error!(%error, "configuration edit refused; the running configuration stays");
    }
    state.set_config_errors(errors.clone());
    Reloaded::Refused(errors)
}

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    debouncer: notify_debouncer_full::Debouncer<
        notify::RecommendedWatcher,
        notify_debouncer_full::RecommendedCache,
    >,
}

impl Watcher {
    /// Stops watching and waits for the watcher's thread, which holds the store: after this the
    /// store can be closed (and opened again by another process).
    pub fn stop(self) {
        self.debouncer.stop();
    }
}

/// Watches the folder of `path` and reloads whenever the file is created, replaced or written
/// with other content than it last had.
///
/// Only changes count: inotify also reports opening and reading the file, and reloading reads
/// it, so reacting to every event made one `cat feeds.toml` set off a reload every quarter
/// second for good, each dropping every rendered feed (the serve benchmark fell to under one
/// request a second). Comparing the content also ignores a save without changes and `touch`.
pub fn watch(
    path: PathBuf,
    state: Arc<AppState>,
    store: Arc<Store>,
) -> Result<Watcher, ReloadError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_os_string());
    let target = path.clone();
    // What the file held when last read: at start, what the daemon was started with.
    let mut last_seen = std::fs::read(&path).ok();
    let mut debouncer = new_debouncer(
        Duration::from_millis(250),
        None,
        move |result: DebounceEventResult| {
            let Ok(events) = result else {
                return;
            };
            let touched = events.iter().any(|event| {
                !matches!(event.kind, EventKind::Access(_))
                    && event
                        .paths
                        .iter()
                        .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
            });
            if !touched {
                return;
            }
            let Ok(content) = std::fs::read(&target) else {
                // Gone (mid-replace, or deleted): the running configuration stays.
                return;
            };
            if last_seen.as_ref() != Some(&content) {
                last_seen = Some(content);
                reload_now(&target, &state, &store);
            }
        },
    )
    .map_err(|source| ReloadError::Watch {
        path: folder.display().to_string(),
        source,
    })?;
    debouncer
        .watch(&folder, RecursiveMode::NonRecursive)
        .map_err(|source| ReloadError::Watch {
            path: folder.display().to_string(),
            source,
        })?;
    Ok(Watcher { debouncer })
}
