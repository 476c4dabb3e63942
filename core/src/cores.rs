//! Work spread over every core: the digests of STAGE's files and the
//! records of a directory of records are independent jobs, each taken by
//! exactly one thread.
//!
//! The caller's thread is one of the workers, so where no thread can be
//! started (WASI) the work is still done, one job after another.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `work` on up to one thread per core (this one among them), at most
/// `jobs` threads; returns when every call has returned. `work` must take
/// jobs until none is left (so that one thread alone finishes them all).
/// `name` names the extra threads (`name-1`, ...).
fn on_every_core(name: &str, jobs: usize, work: impl Fn() + Sync) {
    std::thread::scope(|s| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for i in 1..cores.min(jobs) {
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn_scoped(s, &work);
            if let Err(e) = spawned {
                log::debug!("no thread for {name} ({e}): working on this one");
                break;
            }
        }
        work();
    });
}

/// `f` of every item, computed on every core, in the items' order.
pub(crate) fn map_on_every_core<T, R>(name: &str, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let next = AtomicUsize::new(0);
    let done: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    on_every_core(name, items.len(), || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let r = f(item);
            *done[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    });
    done.into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every job is taken by one worker, which runs it to the end")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_mapped_once_in_order() {
        let items: Vec<u32> = (0..1000).collect();
        let calls = AtomicUsize::new(0);
        let out = map_on_every_core("test", &items, |i| {
            calls.fetch_add(1, Ordering::Relaxed);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), 1000);
    }

    #[test]
    fn no_items_need_no_work() {
        let out: Vec<u8> = map_on_every_core("test", &[] as &[u8], |_| unreachable!());
        assert!(out.is_empty());
    }
}
