//! The results of a classroom step: what the page shows (accuracy matrix, representation,
//! memory) and what the session file keeps. The worker describes a step in these types and
//! the protocol carries them; they belong here, beside the file format that stores them, so a
//! change to them is a change to the session (versioned in [`super::session`]), never a silent
//! side effect of a change to the messages.

use serde::{Deserialize, Serialize};

use crate::engine::report::StepSummary;
use crate::engine::Sample;

/// One branch of the super-feature extractor, as the representation view draws it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BranchView {
    /// Channels kept per gate (in the branch's gate order).
    pub kept: Vec<usize>,
    /// Channels the gate had before pruning.
    pub total: Vec<usize>,
    pub gate_names: Vec<String>,
    pub params: usize,
    pub frozen: bool,
}

/// The result of a completed step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    pub summary: StepSummary,
    pub accuracy_rows: Vec<Vec<f32>>,
    pub accuracy_seen: Vec<f32>,
    pub average_incremental_accuracy: f32,
    pub forgetting: f32,
    /// Global labels in output order, and `confusion[truth][predicted]` over them.
    pub class_order: Vec<usize>,
    pub confusion: Vec<Vec<usize>>,
    pub branches: Vec<BranchView>,
    /// Exemplars kept per class (label, images).
    pub memory: Vec<(usize, Vec<Sample>)>,
    /// Naive fine-tuning on the same steps, when the comparison is on.
    #[serde(default)]
    pub baseline: Option<BaselineOutcome>,
}

/// How naive fine-tuning did on the same steps (the forgetting DER prevents).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineOutcome {
    pub accuracy_rows: Vec<Vec<f32>>,
    pub accuracy_seen: Vec<f32>,
    pub average_incremental_accuracy: f32,
    pub forgetting: f32,
}
