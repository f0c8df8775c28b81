//! The browser layers: a Leptos page ([`page`]) and a training worker ([`worker`]) that talk
//! through [`crate::protocol`]. Both are thin: all learning happens in [`crate::engine`].

pub mod camera;
pub mod diagnostics;
pub mod drop;
pub mod images;
pub mod page;
pub mod storage;
pub mod tab_lock;
pub mod wire;
#[cfg(feature = "train")]
pub mod worker;
pub mod worker_client;
