//! Browser plumbing, thin wrappers over web APIs that know nothing of the page's layout or the
//! worker's state: the page and the worker both build on them.
//!
//! - [`wire`]: posting a protocol message as transferred bytes (page and worker);
//! - [`diagnostics`]: the wasm memory and live-heap figures (page and worker);
//! - [`images`]: decoding uploads, drawing samples, fetching the bundled digits;
//! - [`drop`]: the files and folders of a drag and drop;
//! - [`webcam`]: the camera stream and its frames;
//! - [`storage`]: the saved session in IndexedDB;
//! - [`tab_lock`]: which tab owns the saved session (Web Locks).

pub mod diagnostics;
pub mod drop;
pub mod images;
pub mod storage;
pub mod tab_lock;
pub mod webcam;
pub mod wire;
