//! How much memory the page and the worker hold, for the classroom-scale and endurance checks
//! (shown in the Engine check section, read by the browser tests).

use js_sys::{Reflect, WebAssembly};
use wasm_bindgen::JsCast;

/// Bytes of this wasm instance's linear memory. It never shrinks, so this is the high-water mark
/// of everything the Rust side (images, tensors, models) has held at once.
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .unchecked_into::<WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// The page's JavaScript heap in use, where the browser tells (Chromium's `performance.memory`).
pub fn js_heap_bytes() -> Option<f64> {
    let performance = web_sys::window()?.performance()?;
    let memory = Reflect::get(&performance, &"memory".into()).ok()?;
    Reflect::get(&memory, &"usedJSHeapSize".into()).ok()?.as_f64()
}

/// The browser's own measure of everything this page holds — its JavaScript, its wasm and its
/// workers' — where the browser offers it: `performance.measureUserAgentSpecificMemory()`,
/// only on a cross-origin isolated page (COOP/COEP headers) in Chromium.
pub async fn browser_measure() -> Option<f64> {
    use js_sys::{Function, Promise};
    let window = web_sys::window()?;
    if Reflect::get(&window, &"crossOriginIsolated".into()).ok()?.as_bool() != Some(true) {
        return None;
    }
    let performance = window.performance()?;
    let measure: Function = Reflect::get(&performance, &"measureUserAgentSpecificMemory".into()).ok()?.dyn_into().ok()?;
    let promise: Promise = measure.call0(&performance).ok()?.dyn_into().ok()?;
    let result = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    Reflect::get(&result, &"bytes".into()).ok()?.as_f64()
}
