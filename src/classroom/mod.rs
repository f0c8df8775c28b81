//! The classroom and its files: what a user builds (classes, their images, the held-out split)
//! and how it is kept. Plain Rust without Burn, so the page uses it and every rule is tested
//! natively.
//!
//! Reading order: [`studio`] (the classroom's rules) → [`upload`] (refusing decompression
//! bombs from their header) → [`outcome`] (a step's results, as shown and kept) → [`session`]
//! (a whole session in one [`crate::format::archive`]: what the browser keeps and what Export
//! writes).

pub mod outcome;
pub mod session;
pub mod studio;
pub mod upload;
