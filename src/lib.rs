//! DER Studio: teach a neural network new classes one step at a time and watch it learn
//! without forgetting.
//!
//! - [`engine`]: the DER method, device-agnostic, used by the browser worker and the CLI.
//! - [`protocol`]: the typed messages between the page and the worker.
//! - `imagefolder` and `cli` (native only): the command-line benchmark.
//! - `web` (wasm only): the Leptos page and the training worker.

pub mod archive;
#[cfg(feature = "train")]
pub mod benchmark;
pub mod engine;
pub mod protocol;
pub mod session;
pub mod studio;
pub mod upload;

#[cfg(not(target_arch = "wasm32"))]
pub mod imagefolder;
#[cfg(all(not(target_arch = "wasm32"), feature = "train"))]
pub mod cli;
#[cfg(all(not(target_arch = "wasm32"), feature = "train"))]
pub mod speed;

#[cfg(target_arch = "wasm32")]
pub mod web;
