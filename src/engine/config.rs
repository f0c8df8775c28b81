//! Settings of the backbone and of one incremental step, with defaults sized for a browser.

use serde::{Deserialize, Serialize};

/// Which continual-learning method a [`crate::engine::Learner`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// DER with channel masks, sparsity loss and physical pruning.
    Der,
    /// DER without masks' sparsity pressure and without pruning (λs = 0).
    DerNoprune,
    /// One network trained on each step's data only: the forgetting baseline.
    Finetune,
}

impl Method {
    pub fn expands(self) -> bool {
        !matches!(self, Method::Finetune)
    }
    pub fn prunes(self) -> bool {
        matches!(self, Method::Der)
    }
    pub fn uses_memory(self) -> bool {
        !matches!(self, Method::Finetune)
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "der" => Ok(Method::Der),
            "der-noprune" => Ok(Method::DerNoprune),
            "finetune" => Ok(Method::Finetune),
            other => Err(format!("unknown method '{other}' (expected der, der-noprune or finetune)")),
        }
    }
}

/// Shape of one feature extractor (a small ResNet for square RGB input).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackboneConfig {
    /// Side of the square input image in pixels.
    pub input_size: usize,
    /// Channels of the first stage; each later stage doubles them.
    pub width: usize,
    /// Number of stages (each after the first halves the resolution).
    pub stages: usize,
    /// Residual blocks per stage.
    pub blocks_per_stage: usize,
}

impl Default for BackboneConfig {
    fn default() -> Self {
        Self { input_size: 32, width: 8, stages: 3, blocks_per_stage: 1 }
    }
}

/// Everything one incremental step needs to know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnerConfig {
    pub method: Method,
    pub backbone: BackboneConfig,
    /// Training epochs of the representation stage.
    pub epochs: usize,
    pub batch_size: usize,
    /// SGD learning rate (momentum 0.9, cosine decay within the step).
    pub learning_rate: f64,
    /// Weight λa of the auxiliary loss (ignored at the first step).
    pub lambda_aux: f32,
    /// Weight λs of the sparsity loss (ignored unless the method prunes).
    pub lambda_sparsity: f32,
    /// Largest mask scale s_max of the HAT annealing.
    pub s_max: f32,
    /// Exemplars kept: per class when `memory_per_class` is set, otherwise a fixed total.
    pub memory_total: usize,
    pub memory_per_class: Option<usize>,
    /// Epochs of the balanced classifier re-learning (0 switches it off).
    pub relearn_epochs: usize,
    pub relearn_learning_rate: f64,
    /// Temperature δ dividing the logits during re-learning.
    pub temperature: f32,
    pub seed: u64,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self {
            method: Method::Der,
            backbone: BackboneConfig::default(),
            epochs: 10,
            batch_size: 32,
            learning_rate: 0.05,
            lambda_aux: 1.0,
            // Chosen on a validation split of Split-MNIST's training images
            // (scripts/choose-lambda-sparsity.sh): the largest λs of {0.1, 0.2, 0.3, 0.5} losing
            // at most 0.5 points to pruning there. Test-split results in BENCHMARKS.md.
            lambda_sparsity: 0.1,
            s_max: 100.0,
            memory_total: 200,
            memory_per_class: None,
            relearn_epochs: 30,
            relearn_learning_rate: 0.05,
            temperature: 5.0,
            seed: 1993,
        }
    }
}

impl LearnerConfig {
    /// λs actually applied: only DER with pruning pushes channels off.
    pub fn effective_lambda_sparsity(&self) -> f32 {
        if self.method.prunes() { self.lambda_sparsity } else { 0.0 }
    }

    /// Exemplars per class once `classes_seen` classes are known.
    pub fn exemplars_per_class(&self, classes_seen: usize) -> usize {
        match self.memory_per_class {
            Some(m) => m,
            None if classes_seen == 0 => 0,
            None => self.memory_total / classes_seen,
        }
    }
}
