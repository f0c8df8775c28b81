//! The browser side, three rooms: the Leptos page ([`page`]), the training worker ([`worker`]),
//! and the browser plumbing both use ([`browser`]). The page and the worker talk only through
//! [`crate::protocol`] and never import each other; all learning happens in [`crate::engine`].

pub mod browser;
pub mod page;
#[cfg(feature = "train")]
pub mod worker;
