//! Where a training update's tensor work runs when flex has a thread pool.
//!
//! flex splits convolutions, GEMMs and batch norm over rayon's pool. Started from a thread
//! outside the pool (the threaded worker's own thread), every such parallel region injects its
//! jobs, wakes the parked pool threads and then parks the caller on a latch until a pool thread
//! wakes it again: a few hundred hand-offs per update. In Chromium each is an `Atomics.notify`
//! to a parked Web Worker, and the threaded worker's profile
//! (`make profile-threads`, BENCHMARKS.md "Threads in the browser") showed its own thread parked
//! for half an update while the pool threads slept a third of theirs. Run from inside the pool,
//! the same update keeps its serial parts and its share of each region on one pool thread, and
//! only the other pool threads are woken.

/// Runs `work` on one of the compute pool's threads and returns its result; without a pool
/// (the single-threaded worker, native builds where flex brings its own) it runs here.
pub fn on_pool_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    {
        rayon::scope(|_| work())
    }
    #[cfg(not(all(target_arch = "wasm32", feature = "threads")))]
    {
        work()
    }
}
