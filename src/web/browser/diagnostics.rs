//! How much memory the page and the worker hold, for the classroom-scale and endurance checks
//! (shown in the Engine check section, read by the browser tests).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use js_sys::{Reflect, WebAssembly};
use wasm_bindgen::JsCast;

/// Bytes of this wasm instance's linear memory. It never shrinks, so this is the high-water mark
/// of everything the Rust side (images, tensors, models) has held at once.
pub fn wasm_memory_bytes() -> f64 {
    // Read by name: in the threaded worker the buffer is a SharedArrayBuffer, and a u32 length
    // would read 0 at its 4 GiB maximum.
    let buffer = wasm_bindgen::memory()
        .unchecked_into::<WebAssembly::Memory>()
        .buffer();
    js_sys::Reflect::get(&buffer, &"byteLength".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// The page's JavaScript heap in use, where the browser tells (Chromium's `performance.memory`).
pub fn js_heap_bytes() -> Option<f64> {
    let performance = web_sys::window()?.performance()?;
    let memory = Reflect::get(&performance, &"memory".into()).ok()?;
    Reflect::get(&memory, &"usedJSHeapSize".into())
        .ok()?
        .as_f64()
}

/// What the browser's own memory measure gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BrowserMeasure {
    Bytes(f64),
    /// Not offered here (not cross-origin isolated, or not Chromium).
    Unavailable,
    /// Offered, but no answer within [`BROWSER_MEASURE_PATIENCE`]: the threaded worker's idle
    /// pool threads wait in `Atomics.wait` and never answer the browser's question.
    NoAnswer,
}

pub const BROWSER_MEASURE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// The browser's own measure of everything this page holds — its JavaScript, its wasm and its
/// workers' — where the browser offers it: `performance.measureUserAgentSpecificMemory()`,
/// only on a cross-origin isolated page (COOP/COEP headers) in Chromium.
pub async fn browser_measure() -> BrowserMeasure {
    use js_sys::Promise;
    let Some(promise) = browser_measure_promise() else {
        return BrowserMeasure::Unavailable;
    };
    let timeout = Promise::new(&mut |resolve, _reject| {
        leptos::prelude::set_timeout(
            move || drop(resolve.call0(&wasm_bindgen::JsValue::NULL)),
            BROWSER_MEASURE_PATIENCE,
        );
    });
    let result = wasm_bindgen_futures::JsFuture::from(Promise::race(&js_sys::Array::of2(
        &promise, &timeout,
    )))
    .await;
    match result
        .ok()
        .and_then(|r| Reflect::get(&r, &"bytes".into()).ok())
        .and_then(|b| b.as_f64())
    {
        Some(bytes) => BrowserMeasure::Bytes(bytes),
        None => BrowserMeasure::NoAnswer,
    }
}

fn browser_measure_promise() -> Option<js_sys::Promise> {
    use js_sys::Function;
    let window = web_sys::window()?;
    if Reflect::get(&window, &"crossOriginIsolated".into())
        .ok()?
        .as_bool()
        != Some(true)
    {
        return None;
    }
    let performance = window.performance()?;
    let measure: Function = Reflect::get(&performance, &"measureUserAgentSpecificMemory".into())
        .ok()?
        .dyn_into()
        .ok()?;
    measure.call0(&performance).ok()?.dyn_into().ok()
}

/// The allocator of the page's and the worker's wasm, counting the bytes the Rust side holds
/// right now. The linear memory only ever grows (its size is a high-water mark, moved by the
/// largest message of the moment as much as by what is kept), so a leak shows in this count,
/// not there.
pub struct CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is kept.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

/// Bytes the Rust side of this wasm instance holds now ([`CountingAllocator`]).
pub fn live_heap_bytes() -> f64 {
    LIVE_BYTES.load(Ordering::Relaxed) as f64
}
