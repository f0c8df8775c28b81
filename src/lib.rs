//! DER Studio: teach a neural network new classes one step at a time and watch it learn
//! without forgetting.
//!
//! The modules are layers: each uses only those above it in this list, never one below, so
//! there is no import circle (README, "How it fits together").
//!
//! - [`format`]: DER Studio's container format (named JSON, byte and tensor entries).
//! - [`engine`]: the DER method, device-agnostic, used by the browser worker and the CLI.
//! - [`classroom`]: the classroom (classes, images, held-out split) and its session file, plain
//!   Rust shared by the page and the worker.
//! - [`protocol`]: the typed messages between the page and the worker.
//! - `tools` (native; its speed benchmark also runs in the worker): `der bench` and `der speed`.
//! - `web` (wasm only): `browser` (the plumbing both share), then `page` and `worker`, which
//!   never import each other.

pub mod classroom;
pub mod engine;
pub mod format;
pub mod protocol;

#[cfg(any(not(target_arch = "wasm32"), feature = "train"))]
pub mod tools;

#[cfg(target_arch = "wasm32")]
pub mod web;
