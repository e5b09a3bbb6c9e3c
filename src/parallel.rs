//! One big poll's independent per-item work, split over the cores.
//!
//! A usual poll (10–50 items) runs on its ingest thread alone: the other cores are busy with
//! other polls, and starting threads (whose word and sanitizer caches begin cold) would cost
//! more than it saves. A big poll — an archive's first fetch, thousands of items — would
//! otherwise keep one core busy for seconds while the others wait, so from [`PARALLEL_FROM`]
//! items the stages that work item by item (normalizing, planning the store's writes, comparing
//! entries for stories, evaluating topics) split the items over scoped threads and join the
//! results in order.

use std::sync::OnceLock;

/// From this many items the work is split over the cores.
pub const PARALLEL_FROM: usize = 200;

/// The cores this process may use, read once: on Linux the answer reads the cgroup files.
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
        slices.push(rest);
        rest = tail;
    }
    slices.push(rest);
    std::thread::scope(|scope| {
        let work = &work;
        let workers: Vec<_> = slices
            .into_iter()
            .map(|slice| scope.spawn(move || slice.into_iter().map(work).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(results) => results,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
