//! The native tools behind the `der` command: `der bench` (learning quality on an ImageFolder
//! data set) and `der speed` (training-step and prediction timing).
//!
//! Reading order: [`imagefolder`] (loading a data set) → [`cli`] (the commands and `der bench`)
//! → [`benchmark`] (the timed cases; the browser worker runs them too, so this module alone also
//! builds for wasm) → [`speed`] (`der speed`) → [`device`] (choosing a native backend).

#[cfg(feature = "train")]
pub mod benchmark;
#[cfg(all(not(target_arch = "wasm32"), feature = "train"))]
pub mod cli;
#[cfg(all(not(target_arch = "wasm32"), feature = "train"))]
pub mod device;
#[cfg(not(target_arch = "wasm32"))]
pub mod imagefolder;
#[cfg(all(not(target_arch = "wasm32"), feature = "train"))]
pub mod speed;
