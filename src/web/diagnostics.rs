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
