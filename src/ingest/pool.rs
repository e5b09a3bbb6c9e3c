//! The threads that parse, normalize and store what polls fetched: as many as there are cores,
//! and always the same ones.
//!
//! Why not tokio's blocking pool: its threads come and go with demand (every store flush holds
//! one), so ingest ran on whichever was free, and each of them grew its own copy of the
//! per-thread caches (word forms, story features). A fixed set of threads keeps those caches
//! few and warm, and caps CPU work at the core count without a semaphore.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of worker threads taking jobs in order.
pub struct IngestPool {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("the ingest threads have stopped")]
    Stopped,
    #[error("an ingest job panicked: {0}")]
    Panicked(String),
}

impl IngestPool {
    /// Starts `threads` workers (at least one); they end when the pool is dropped.
    pub fn new(threads: usize) -> std::io::Result<IngestPool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("vestnik-ingest-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job, never while running it.
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match next {
                            Ok(job) => job(),
                            Err(mpsc::RecvError) => break,
                        }
                    }
                })?;
        }
        Ok(IngestPool { jobs })
    }

    /// One worker per core.
    pub fn per_core() -> std::io::Result<IngestPool> {
        IngestPool::new(crate::parallel::cores())
    }

    /// Runs `work` on a worker and waits for its result without blocking the async thread. A
    /// panic is caught and returned as an error; the worker goes on with the next job.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work)).map_err(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            });
            // The poll may have been dropped meanwhile; then nobody is waiting.
            let _ = done.send(outcome);
        });
        self.jobs.send(job).map_err(|_| PoolError::Stopped)?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(PoolError::Panicked(message)),
            Err(_) => Err(PoolError::Stopped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_same_few_threads_and_survive_a_panic() {
        let pool = IngestPool::new(2).unwrap();
        let mut names = std::collections::HashSet::new();
        for _ in 0..20 {
            let name = pool
                .run(|| std::thread::current().name().map(String::from))
                .await
                .unwrap();
            names.insert(name.unwrap());
        }
        assert!(!names.is_empty() && names.len() <= 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("vestnik-ingest-")));

        let panicked = pool.run(|| -> u32 { panic!("a bad feed") }).await;
        assert!(matches!(panicked, Err(PoolError::Panicked(m)) if m == "a bad feed"));
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
