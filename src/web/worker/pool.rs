//! The threads flex trains on: one (the single-threaded worker), or rayon's pool on Web
//! Workers over shared memory (the threaded worker, feature `threads`).

#[cfg(feature = "threads")]
use super::outbox::scope;

/// The threads flex trains on: the pool's, once started (threaded worker), else this one.
static THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

pub(super) fn threads() -> usize {
    THREADS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Starts rayon's pool on Web Workers, one per core the browser reports (at most 8: memory,
/// and little gain beyond on the classroom's small network). Nothing may touch rayon before:
/// its first use would fix the pool at one thread. If the pool cannot start, flex runs on
/// this thread, as in the single-threaded worker.
#[cfg(feature = "threads")]
pub(super) async fn start_pool() {
    // `?threads=N` on the worker's own address (the page passes its own `?threads=N` on).
    let search = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|location| js_sys::Reflect::get(&location, &"search".into()))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    let asked = web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get("threads"));
    // Read as the page reads it (the page only passes a pool size on).
    let wanted = match crate::protocol::ThreadsWanted::from_param(asked.as_deref()) {
        crate::protocol::ThreadsWanted::Exactly(n) => n,
        _ => (scope().navigator().hardware_concurrency() as usize).clamp(1, 8),
    };
    match wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(wanted)).await {
        Ok(_) => THREADS.store(wanted, std::sync::atomic::Ordering::Relaxed),
        Err(e) => web_sys::console::warn_1(
            &format!("the training threads could not start, training on one: {e:?}").into(),
        ),
    }
}
