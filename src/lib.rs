//! DER Studio: teach a neural network new classes one step at a time and watch it learn
//! without forgetting.
//!
//! - [`engine`]: the DER method, device-agnostic, used by the browser worker and the CLI.
//! - [`classroom`]: the classroom (classes, images, held-out split) and its files (the archive
//!   format, the session), plain Rust shared by the page and the worker.
//! - [`protocol`]: the typed messages between the page and the worker.
//! - `tools` (native; its speed benchmark also runs in the worker): `der bench` and `der speed`.
//! - `web` (wasm only): the Leptos page and the training worker.

pub mod classroom;
pub mod engine;
pub mod protocol;

#[cfg(any(not(target_arch = "wasm32"), feature = "train"))]
pub mod tools;

#[cfg(target_arch = "wasm32")]
pub mod web;
