//! The DER engine: plain Rust over Burn, device-agnostic, and free of any browser code.
//!
//! Reading order: [`gate`] (channel masks) → [`branch`] (one feature extractor F_t) →
//! [`prune`] (physical channel removal) → [`network`] (the expandable super-feature extractor
//! with its heads) → [`memory`] (herding) → [`learner`] (one incremental step) → [`metrics`].

pub mod config;
pub mod demo;
pub mod data;
pub mod gate;
pub mod branch;
pub mod head;
pub mod prune;
pub mod network;
pub mod memory;
pub mod learner;
pub mod metrics;
pub mod rng;
pub mod tensor_io;

pub use config::{LearnerConfig, Method};
pub use data::{Dataset, Sample};
pub use learner::{Control, Learner, Observer, Progress, StepError, StepSummary};
pub use metrics::AccuracyMatrix;
