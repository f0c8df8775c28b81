//! The DER engine: plain Rust over Burn, device-agnostic, and free of any browser code.
//!
//! Reading order: [`gate`] (channel masks) → [`branch`] (one feature extractor F_t) →
//! [`prune`] (physical channel removal) → [`folded`] (a frozen branch as one convolution a layer) → [`network`] (the expandable super-feature extractor
//! with its heads) → [`memory`] (herding) → [`learner`] (one incremental step: training, the
//! training iteration, classifier re-learning, inference, explaining an answer) → [`metrics`]
//! → [`model_file`] (saving and restoring a learner). [`explanation`] holds what an explained
//! answer is, as plain data the page draws. [`parallel`] puts a training update on a thread of
//! flex's pool when there is one (the threaded browser worker).
//!
//! The modules that touch tensors need the `train` feature (Burn); the plain data types
//! (configuration, samples, reports, metrics) do not, so the page can use them without
//! linking Burn.

pub mod augment;
pub mod config;
pub mod data;
pub mod explanation;
pub mod memory;
pub mod metrics;
pub mod report;
pub mod rng;

#[cfg(feature = "train")]
pub mod branch;
#[cfg(feature = "train")]
pub mod demo;
#[cfg(feature = "train")]
pub mod folded;
#[cfg(feature = "train")]
pub mod gate;
#[cfg(feature = "train")]
pub mod head;
#[cfg(feature = "train")]
pub mod learner;
#[cfg(feature = "train")]
pub mod model_file;
#[cfg(feature = "train")]
pub mod network;
#[cfg(feature = "train")]
pub mod onnx_export;
#[cfg(feature = "train")]
pub mod parallel;
#[cfg(feature = "train")]
pub mod prune;
#[cfg(feature = "train")]
pub mod seeding;
#[cfg(feature = "train")]
pub mod tensor_io;

pub use config::{LearnerConfig, Method};
pub use data::{Dataset, Sample};
#[cfg(feature = "train")]
pub use learner::{Control, Learner, Observer, StepError};
pub use metrics::AccuracyMatrix;
pub use report::{Phase, Progress, StepSummary};
