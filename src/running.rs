//! The configuration in force and its compiled topics, swapped whole by a hot reload
//! (`reload.rs`). Everything that must follow an edit reads it here rather than keeping its own
//! copy: the server (feeds, dashboard, health), the poller (which topics new entries are matched
//! against) and the scheduler (which sources to poll), which is told of each swap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::{Config, Source};
use crate::topics::Topics;

/// One configuration and the topics compiled from it; never one without the other.
#[derive(Clone)]
pub struct Current {
    pub config: Arc<Config>,
    pub topics: Arc<Topics>,
}

impl Current {
    pub fn new(config: Arc<Config>, topics: Arc<Topics>) -> Current {
        Current { config, topics }
    }

    pub fn sources(&self) -> &[Source] {
        &self.config.sources
    }
}

/// Holds the [`Current`] configuration; a watch channel, so readers take it without waiting and
/// the scheduler can wait for the next swap.
pub struct Running {
    current: watch::Sender<Current>,
    /// Counts the swaps: what a cache built on one configuration compares, with one atomic
    /// read where taking the configuration itself is a lock and a reference count.
    version: AtomicU64,
}

impl Running {
    pub fn new(config: Arc<Config>, topics: Arc<Topics>) -> Arc<Running> {
        Arc::new(Running {
            current: watch::Sender::new(Current::new(config, topics)),
            version: AtomicU64::new(0),
        })
    }

    pub fn current(&self) -> Current {
        self.current.borrow().clone()
    }

    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.current.borrow().config)
    }

    pub fn topics(&self) -> Arc<Topics> {
        Arc::clone(&self.current.borrow().topics)
    }

    /// How many times the configuration was swapped. Read it before [`Running::current`]: a
    /// swap between the two then makes what was built look older than it is, never newer.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// Swaps in a new configuration and tells every watcher.
    pub fn replace(&self, config: Arc<Config>, topics: Arc<Topics>) {
        self.current.send_replace(Current::new(config, topics));
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// A receiver that sees each swap (and the current configuration at once).
    pub fn watch(&self) -> watch::Receiver<Current> {
        self.current.subscribe()
    }
}
