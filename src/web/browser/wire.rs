//! How a message crosses between the page and the worker, both ways: its bytes in a buffer
//! that is transferred (moved, not copied), and what that cost, logged on the console's debug
//! level (the message-size figures in BENCHMARKS.md).

use wasm_bindgen::{JsCast, JsValue};

/// Encodes a message and posts it with `post` (the page's `Worker` or the worker's own scope),
/// its buffer in the transfer list. `kind` names it in the log; `None`: not logged (progress).
/// A post the browser refuses (a terminated worker, memory exhausted while cloning) is an
/// error with the browser's reason: the caller answers it, nothing is dropped silently.
pub fn send(
    kind: Option<&str>,
    direction: &str,
    encode: impl FnOnce() -> Vec<u8>,
    post: impl FnOnce(&JsValue, &JsValue) -> Result<(), JsValue>,
) -> Result<(), String> {
    let start = web_time::Instant::now();
    let bytes = encode();
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    post(&array, &js_sys::Array::of1(&array.buffer())).map_err(|e| {
        let reason = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| format!("{e:?}"));
        format!(
            "the browser refused to post {} bytes {direction}: {reason}",
            bytes.len()
        )
    })?;
    if let Some(kind) = kind {
        let millis = start.elapsed().as_secs_f64() * 1000.0;
        web_sys::console::debug_1(
            &format!(
                "message {direction} {kind}: {} bytes, encoded and posted in {millis:.2} ms",
                bytes.len()
            )
            .into(),
        );
    }
    Ok(())
}

/// The bytes of a received message.
pub fn received(data: &JsValue) -> Vec<u8> {
    js_sys::Uint8Array::new(data).to_vec()
}
