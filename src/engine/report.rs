//! What a step reports while it runs and when it ends: plain data, shared with the page.

use serde::{Deserialize, Serialize};

/// Which part of a step is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Train,
    Prune,
    Relearn,
    Memory,
}

/// A progress report, sent every few batches (each costs one read from the device).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub phase: Phase,
    pub epoch: usize,
    pub epochs: usize,
    pub batch: usize,
    pub batches: usize,
    /// Means since the previous report.
    pub loss: f32,
    pub loss_classifier: f32,
    pub loss_aux: f32,
    pub loss_sparsity: f32,
    pub train_accuracy: f32,
    pub mask_scale: f32,
    /// Soft masks of the newest branch's gates at the current scale, in `Branch::gates` order.
    pub gate_masks: Vec<Vec<f32>>,
    pub elapsed_seconds: f64,
}

/// What one completed step did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    pub step: usize,
    /// Global labels learned in this step.
    pub classes: Vec<usize>,
    /// Whole network (branches and heads).
    pub params_before_prune: usize,
    pub params_after_prune: usize,
    /// The newest branch alone.
    pub branch_params_before: usize,
    pub branch_params_after: usize,
    pub branch_macs_before: usize,
    pub branch_macs_after: usize,
    /// Channels per gate of the newest branch, in `Branch::gates` order.
    pub channels_before: Vec<usize>,
    pub channels_after: Vec<usize>,
    pub train_seconds: f64,
    pub epochs: usize,
    /// SGD updates of the representation stage (epochs × batches); 0 in sessions saved before
    /// it was recorded.
    #[serde(default)]
    pub updates: usize,
    /// The augmentation the step's batches got.
    #[serde(default)]
    pub augment: crate::engine::augment::Augment,
    /// Why its training ended; `None` in sessions saved before it was recorded.
    #[serde(default)]
    pub stop: Option<StopReason>,
}

/// Why a step's training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The loss stopped falling: a cycle improved on the best by less than `learner::schedule::PLATEAU`.
    Learned,
    /// The longest length was reached while the loss was still falling.
    Limit,
    /// A fixed length (stopping off, or the epochs rather than the update floor set it).
    Fixed,
}

impl StopReason {
    /// For the page: why the step stopped, in a sentence.
    pub fn sentence(self, updates: usize) -> String {
        match self {
            StopReason::Learned => {
                format!("Learned: the loss stopped falling after {updates} updates.")
            }
            StopReason::Limit => {
                format!("Stopped at the limit of {updates} updates; the loss was still falling.")
            }
            StopReason::Fixed => format!("Trained for the set {updates} updates."),
        }
    }
}

/// One training iteration of the engine check (`engine::demo`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemoIteration {
    /// Which DER step of the check (0 or 1).
    pub der_step: usize,
    pub epoch: usize,
    /// Counted over the whole check.
    pub iteration: usize,
    pub loss: f32,
    /// Since the previous report (the first of a step includes building the expanded network).
    pub millis: f64,
}

impl Progress {
    pub fn phase(phase: Phase, elapsed_seconds: f64) -> Self {
        Progress {
            phase,
            epoch: 0,
            epochs: 0,
            batch: 0,
            batches: 0,
            loss: 0.0,
            loss_classifier: 0.0,
            loss_aux: 0.0,
            loss_sparsity: 0.0,
            train_accuracy: 0.0,
            mask_scale: 0.0,
            gate_masks: Vec::new(),
            elapsed_seconds,
        }
    }
}
