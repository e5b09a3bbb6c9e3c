//! One big poll's independent per-item work, split over the cores.
//!
//! A usual poll (10–50 items) runs on its ingest thread alone: the other cores are busy with
//! other polls, and starting threads (whose word and sanitizer caches begin cold) would cost
//! more than it saves. A big poll — an archive's first fetch, thousands of items — would
//! otherwise keep one core busy for seconds while the others wait, so from [`PARALLEL_FROM`]
//! items the stages that work item by item (normalizing, planning the store's writes, comparing
//! entries for stories, evaluating topics) split the items over scoped threads and join the
//! results in order.

use std::sync::{Mutex, OnceLock, PoisonError};

/// From this many items the work is split over the cores.
pub const PARALLEL_FROM: usize = 200;

/// Items a stage takes on at once: a big poll is stored a slice of this many at a time
/// (`ingest`), and placement and topics take their pending entries in batches of the same
/// size, so that each batch is split over the cores and no stage holds a long queue of pending
/// entries (after a crash, or a re-index of every entry) at once: about 2 MB of entries.
pub const BATCH: usize = 500;

/// The cores this process may use (1 when the system cannot say), read once: on Linux the
/// answer reads the cgroup files. The ingest pool and the HTTP server size themselves by it too.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// `items.into_iter().map(work).collect()`, on all cores when there are at least
/// [`PARALLEL_FROM`] items: each thread takes one consecutive slice, so the results keep the
/// items' order. A panic in `work` is resumed on the calling thread.
pub fn map_in_order<T, R>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R>
where
    T: Send,
    R: Send,
{
    let threads = if items.len() < PARALLEL_FROM {
        1
    } else {
        cores()
    };
    if threads < 2 {
        return items.into_iter().map(work).collect();
    }
    let slice = items.len().div_ceil(threads);
    let mut slices = Vec::with_capacity(threads);
    let mut rest = items;
    while rest.len() > slice {
        let tail = rest.split_off(slice);
        slices.push(Mutex::new(Some(rest)));
        rest = tail;
    }
    slices.push(Mutex::new(Some(rest)));
    // Each slice waits in its own slot, so that a slice whose thread the system refuses (a
    // limit on threads reached) is still there to be worked on here, in its turn: a refused
    // thread slows the poll down instead of failing it.
    let run = |slot: &Mutex<Option<Vec<T>>>| {
        let slice = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        slice
            .unwrap_or_default()
            .into_iter()
            .map(&work)
            .collect::<Vec<R>>()
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = slices
            .iter()
            .map(|slot| {
                let run = &run;
                spawn(scope, move || run(slot))
                    .map_err(|error| tracing::warn!(%error, "cannot start a thread; working here"))
                    .ok()
            })
            .collect();
        slices
            .iter()
            .zip(workers)
            .flat_map(|(slot, worker)| match worker {
                Some(worker) => match worker.join() {
                    Ok(results) => results,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                None => run(slot),
            })
            .collect()
    })
}

/// Starts a scoped thread; in tests, refused on the threads that ask for it.
fn spawn<'scope, R: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    work: impl FnOnce() -> R + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, R>> {
    #[cfg(test)]
    if tests::REFUSE_THREADS.get() {
        return Err(std::io::Error::other("refused by the test"));
    }
    std::thread::Builder::new().spawn_scoped(scope, work)
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Makes [`spawn`] fail on this test's thread, as at the system's limit on threads.
        pub(super) static REFUSE_THREADS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    #[test]
    fn slices_whose_threads_are_refused_are_worked_on_by_the_caller() {
        REFUSE_THREADS.set(true);
        let items: Vec<usize> = (0..PARALLEL_FROM * 3).collect();
        let results = map_in_order(items, |i| (i * 2, std::thread::current().id()));
        REFUSE_THREADS.set(false);
        assert_eq!(
            results.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
            (0..PARALLEL_FROM * 3).map(|i| i * 2).collect::<Vec<_>>()
        );
        assert!(results
            .iter()
            .all(|(_, t)| *t == std::thread::current().id()));
    }

    #[test]
    fn results_keep_the_order_of_the_items_whatever_their_number() {
        for n in [
            0,
            1,
            PARALLEL_FROM - 1,
            PARALLEL_FROM,
            PARALLEL_FROM + 1,
            1001,
        ] {
            let items: Vec<usize> = (0..n).collect();
            let squares = map_in_order(items, |i| i * i);
            assert_eq!(squares, (0..n).map(|i| i * i).collect::<Vec<_>>(), "{n}");
        }
    }

    #[test]
    fn a_big_batch_runs_on_several_threads_when_there_are_cores() {
        let items: Vec<usize> = (0..PARALLEL_FROM * 4).collect();
        let threads = map_in_order(items, |_| std::thread::current().id());
        let mut distinct = threads.clone();
        distinct.dedup();
        // One run of ids per slice, in order: as many runs as threads.
        let n = PARALLEL_FROM * 4;
        let expected = n.div_ceil(n.div_ceil(cores()));
        assert_eq!(distinct.len(), expected, "{distinct:?}");
        let small = map_in_order(vec![(); 3], |()| std::thread::current().id());
        assert_eq!(small, vec![std::thread::current().id(); 3]);
    }

    #[test]
    fn a_panic_in_the_work_reaches_the_caller() {
        let items: Vec<usize> = (0..PARALLEL_FROM * 2).collect();
        let caught = std::panic::catch_unwind(|| {
            map_in_order(items, |i| assert!(i != PARALLEL_FROM + 7, "item {i}"))
        });
        assert!(caught.is_err());
    }
}
