//! The results of a classroom step: what the page shows (accuracy matrix, representation,
//! memory) and what the session file keeps. The worker describes a step in these types and
//! the protocol carries them; they belong here, beside the file format that stores them, so a
//! change to them is a change to the session (versioned in [`super::session`]), never a silent
//! side effect of a change to the messages.

use serde::{Deserialize, Serialize};

use crate::engine::report::StepSummary;
use crate::engine::{Method, Sample};

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
    /// Naive fine-tuning on the same steps, when the comparison has it. (Saved sessions call
    /// it `baseline`: it was the only comparison.)
    #[serde(default, alias = "baseline")]
    pub finetune: Option<BaselineOutcome>,
    /// Replay (one network, the same memory) on the same steps, when the comparison has it.
    #[serde(default)]
    pub replay: Option<BaselineOutcome>,
}

impl StepOutcome {
    /// The baseline's results, when it learned beside DER.
    pub fn baseline(&self, baseline: Baseline) -> Option<&BaselineOutcome> {
        match baseline {
            Baseline::Finetune => self.finetune.as_ref(),
            Baseline::Replay => self.replay.as_ref(),
        }
    }

    pub fn set_baseline(&mut self, baseline: Baseline, outcome: BaselineOutcome) {
        match baseline {
            Baseline::Finetune => self.finetune = Some(outcome),
            Baseline::Replay => self.replay = Some(outcome),
        }
    }
}

/// A method that can learn the same steps beside DER, so the class sees what DER adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// Naive fine-tuning: one network, the new images only. It forgets.
    Finetune,
    /// One network of the same size trained on the new images plus the same memory, with the
    /// same classifier re-learning: what DER's expansion adds beyond replaying old images.
    Replay,
}

impl Baseline {
    pub const ALL: [Baseline; 2] = [Baseline::Finetune, Baseline::Replay];

    pub fn method(self) -> Method {
        match self {
            Baseline::Finetune => Method::Finetune,
            Baseline::Replay => Method::Replay,
        }
    }

    /// Its key in the page's markup and in saved sessions (the method's name in `der bench`).
    pub fn method_key(self) -> &'static str {
        match self {
            Baseline::Finetune => "finetune",
            Baseline::Replay => "replay",
        }
    }

    /// Its name on screen.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Finetune => "Fine-tuning",
            Baseline::Replay => "Replay",
        }
    }

    /// What it is, in one line a class understands.
    pub fn explanation(self) -> &'static str {
        match self {
            Baseline::Finetune => "one network, trained on the new images only",
            Baseline::Replay => {
                "one network, trained on the new images and the same kept old images"
            }
        }
    }
}

/// Which baselines learn beside DER. Chosen before the first step: a baseline must learn every
/// step to be compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    #[default]
    Off,
    Finetune,
    Replay,
    Both,
}

impl Comparison {
    pub const ALL: [Comparison; 4] = [
        Comparison::Off,
        Comparison::Finetune,
        Comparison::Replay,
        Comparison::Both,
    ];

    pub fn baselines(self) -> &'static [Baseline] {
        match self {
            Comparison::Off => &[],
            Comparison::Finetune => &[Baseline::Finetune],
            Comparison::Replay => &[Baseline::Replay],
            Comparison::Both => &Baseline::ALL,
        }
    }

    /// The choice as the page's switch names it.
    pub fn label(self) -> &'static str {
        match self {
            Comparison::Off => "DER alone",
            Comparison::Finetune => "DER and fine-tuning",
            Comparison::Replay => "DER and replay",
            Comparison::Both => "DER, fine-tuning and replay",
        }
    }

    /// The value of the switch's option.
    pub fn key(self) -> &'static str {
        match self {
            Comparison::Off => "off",
            Comparison::Finetune => "finetune",
            Comparison::Replay => "replay",
            Comparison::Both => "both",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// How a baseline did on the same steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineOutcome {
    pub accuracy_rows: Vec<Vec<f32>>,
    pub accuracy_seen: Vec<f32>,
    pub average_incremental_accuracy: f32,
    pub forgetting: f32,
}
