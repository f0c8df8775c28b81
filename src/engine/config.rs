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
    /// One network of the same size trained on each step's data plus the same exemplar memory
    /// (herding, same budget), with the same classifier re-learning: "is expansion worth it?".
    Replay,
}

impl Method {
    pub fn expands(self) -> bool {
        matches!(self, Method::Der | Method::DerNoprune)
    }
    /// DER's channel masks, sparsity loss and HAT compensation; fine-tuning and replay train
    /// an ordinary network without them.
    pub fn masks_channels(self) -> bool {
        self.expands()
    }
    pub fn prunes(self) -> bool {
        matches!(self, Method::Der)
    }
    pub fn uses_memory(self) -> bool {
        !matches!(self, Method::Finetune)
    }
    /// Re-learns the classifier on a class-balanced set after each step (every method with a
    /// memory to balance against).
    pub fn relearns(self) -> bool {
        self.uses_memory()
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "der" => Ok(Method::Der),
            "der-noprune" => Ok(Method::DerNoprune),
            "finetune" => Ok(Method::Finetune),
            "replay" => Ok(Method::Replay),
            other => Err(format!(
                "unknown method '{other}' (expected der, der-noprune, finetune or replay)"
            )),
        }
    }
}

/// Shape of one feature extractor (a small ResNet for square RGB input).
///
/// With Burn built in (`train`) this is a Burn [`Config`](burn::config::Config), like Burn's own
/// layer configurations: `BackboneConfig::new()` gives the defaults, `with_width(…)` changes
/// one. The derive writes the same JSON as serde's derive (the field names and values saved
/// sessions and model files hold). The page is built without Burn, so there serde is derived
/// directly. `Default` is written out because the Config derive has none; a test checks it
/// equals `new()`.
#[cfg_attr(feature = "train", derive(burn::config::Config))]
#[cfg_attr(not(feature = "train"), derive(Clone, Serialize, Deserialize))]
#[derive(Debug, PartialEq)]
pub struct BackboneConfig {
    /// Side of the square input image in pixels.
    #[cfg_attr(feature = "train", config(default = 32))]
    pub input_size: usize,
    /// Channels of the first stage; each later stage doubles them.
    #[cfg_attr(feature = "train", config(default = 8))]
    pub width: usize,
    /// Number of stages (each after the first halves the resolution).
    #[cfg_attr(feature = "train", config(default = 3))]
    pub stages: usize,
    /// Residual blocks per stage.
    #[cfg_attr(feature = "train", config(default = 1))]
    pub blocks_per_stage: usize,
}

impl Default for BackboneConfig {
    fn default() -> Self {
        Self {
            input_size: 32,
            width: 8,
            stages: 3,
            blocks_per_stage: 1,
        }
    }
}

impl BackboneConfig {
    /// Every channel gate of a branch of this shape, in forward order: (name, channels). The
    /// page draws a new branch from it before the worker has reported anything; it is the same
    /// list as `Branch::gates` (a test checks it).
    pub fn gate_channels(&self) -> Vec<(String, usize)> {
        let mut gates = vec![("stem".to_string(), self.width)];
        for stage in 0..self.stages {
            let channels = self.width << stage;
            for block in 0..self.blocks_per_stage.max(1) {
                gates.push((
                    format!("stage {} block {} inner", stage + 1, block + 1),
                    channels,
                ));
            }
            gates.push((format!("stage {} out", stage + 1), channels));
        }
        gates
    }
}

/// Everything one incremental step needs to know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnerConfig {
    pub method: Method,
    pub backbone: BackboneConfig,
    /// Training epochs of the representation stage (at least; see `min_updates`).
    pub epochs: usize,
    /// Fewest SGD updates of the representation stage: a step with few images runs more epochs
    /// until it reaches this many. The training, the masks' sparsity push and so the pruning
    /// then depend on the number of updates, not on the data set's size, and a classroom step
    /// of 50 images a class trains (and prunes) about as much as a large one. Sessions saved
    /// before it existed have 0 (epochs alone).
    #[serde(default)]
    pub min_updates: usize,
    /// Updates per anneal of the mask scale s, whatever an epoch's length
    /// (`learner::schedule`); 0: one anneal per epoch, the paper's schedule for long epochs.
    /// Sessions saved before it existed have 0.
    #[serde(default)]
    pub mask_period: usize,
    /// Ends a step once its loss has stopped falling, when the update floor sets the step's
    /// length (`learner::schedule`). Sessions saved before it existed: off.
    #[serde(default)]
    pub stop_when_learned: bool,
    /// With the stopping rule on, the learning rate falls as a cosine over each cycle of
    /// `mask_period` updates instead of over the step's longest length, so a step that stops
    /// early still ends at a low rate (`learner::schedule`). Sessions saved before it existed:
    /// off.
    #[serde(default)]
    pub learning_rate_per_cycle: bool,
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
    /// Augmentation of the training batches (none, shift, photo). Sessions saved before it
    /// existed have none.
    #[serde(default)]
    pub augment: crate::engine::augment::Augment,
}

impl Default for LearnerConfig {
    /// The one set of defaults: the engine's, the page's and `der bench`'s. The schedule and λs
    /// were chosen on a validation split of Split-MNIST at classroom size (50 training images a
    /// class; scripts/choose-schedule.sh, BENCHMARKS.md "One set of defaults"): a step trains
    /// for 500 updates whatever its size, which is where validation accuracy stopped rising.
    fn default() -> Self {
        Self {
            method: Method::Der,
            backbone: BackboneConfig::default(),
            epochs: 1,
            min_updates: 500,
            mask_period: 50,
            stop_when_learned: true,
            learning_rate_per_cycle: false,
            batch_size: 32,
            learning_rate: 0.05,
            lambda_aux: 1.0,
            lambda_sparsity: 0.1,
            s_max: 100.0,
            // Unused while `memory_per_class` is set; a session may choose a shared total.
            memory_total: 200,
            memory_per_class: Some(20),
            relearn_epochs: 30,
            relearn_learning_rate: 0.05,
            temperature: 5.0,
            seed: 1993,
            augment: crate::engine::augment::Augment::None,
        }
    }
}

/// Widest first stage a branch may have: wider branches make a classroom step take minutes
/// and the model file tens of megabytes.
pub const MAX_WIDTH: usize = 64;
/// Input sides a branch can learn from (the page offers 16–64).
pub const INPUT_SIZES: std::ops::RangeInclusive<usize> = 8..=128;

impl LearnerConfig {
    /// Refuses settings that cannot work for a step that brings the learner to `classes_seen`
    /// classes from `train_images` training images, before anything trains. Each message says
    /// what would work. (A memory smaller than the classes would keep 0 images of each class,
    /// and the old classes would silently stop being predicted.)
    pub fn check_for_step(&self, classes_seen: usize, train_images: usize) -> Result<(), String> {
        let b = &self.backbone;
        if !INPUT_SIZES.contains(&b.input_size) {
            return Err(format!(
                "Images of {0} × {0} pixels cannot be learned: choose an image size from {1} to {2} pixels.",
                b.input_size,
                INPUT_SIZES.start(),
                INPUT_SIZES.end()
            ));
        }
        if !(2..=MAX_WIDTH).contains(&b.width) {
            return Err(format!(
                "A backbone width of {} cannot be used: choose a width from 2 to {MAX_WIDTH}.",
                b.width
            ));
        }
        if b.stages == 0 || b.blocks_per_stage == 0 || b.input_size >> (b.stages - 1) < 2 {
            return Err(format!(
                "A backbone of {} stages cannot read {1} × {1} images: use fewer stages or larger images.",
                b.stages, b.input_size
            ));
        }
        if self.epochs == 0 {
            return Err("Epochs must be at least 1.".into());
        }
        // Too large a rate is caught by the step itself (a NaN loss stops it with a message).
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(format!(
                "A learning rate of {} cannot train: use a positive value (0.05 works well).",
                self.learning_rate
            ));
        }
        if !(self.lambda_aux.is_finite()
            && self.lambda_aux >= 0.0
            && self.lambda_sparsity.is_finite()
            && self.lambda_sparsity >= 0.0)
        {
            return Err("λa and λs must be 0 or more.".into());
        }
        // BatchNorm in training mode needs two images per batch.
        if self.batch_size < 2 {
            return Err(format!(
                "A batch of {} image cannot train BatchNorm: use a batch size of at least 2.",
                self.batch_size
            ));
        }
        if train_images > 0 && self.batch_size > train_images {
            return Err(format!(
                "The batch size ({}) is larger than this step's {train_images} training images: use a batch size of at most {train_images}, or add more images.",
                self.batch_size
            ));
        }
        if self.method.uses_memory()
            && classes_seen > 0
            && self.exemplars_per_class(classes_seen) == 0
        {
            let message = match self.memory_per_class {
                Some(_) => "A memory of 0 images per class keeps nothing of the old classes: keep at least 1 per class (20 works well).".to_string(),
                None => format!(
                    "A memory of {} images cannot keep one image of each of the {classes_seen} classes, so the old classes would be forgotten: set the memory size to at least {classes_seen} ({} keeps 20 a class).",
                    self.memory_total,
                    classes_seen * 20
                ),
            };
            return Err(message);
        }
        Ok(())
    }

    /// Epochs a step runs when one epoch is `batches` updates: `epochs`, or more to reach
    /// `min_updates`.
    pub fn epochs_for(&self, batches: usize) -> usize {
        self.epochs.max(self.min_updates.div_ceil(batches.max(1)))
    }

    /// λs actually applied: only DER with pruning pushes channels off.
    pub fn effective_lambda_sparsity(&self) -> f32 {
        if self.method.prunes() {
            self.lambda_sparsity
        } else {
            0.0
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_saved_before_augmentation_existed_load_with_none() {
        let mut json: serde_json::Value = serde_json::to_value(LearnerConfig::default()).unwrap();
        json.as_object_mut().unwrap().remove("augment");
        let loaded: LearnerConfig = serde_json::from_value(json).unwrap();
        assert_eq!(loaded.augment, crate::engine::augment::Augment::None);
        assert_eq!(loaded, LearnerConfig::default());
    }

    #[test]
    fn a_step_with_few_batches_runs_epochs_until_it_reaches_the_fewest_updates() {
        let config = LearnerConfig {
            epochs: 10,
            min_updates: 300,
            ..LearnerConfig::default()
        };
        assert_eq!(
            config.epochs_for(4),
            75,
            "4 batches an epoch need 75 epochs for 300 updates"
        );
        assert_eq!(config.epochs_for(7), 43, "rounded up: 43 × 7 = 301");
        assert_eq!(
            config.epochs_for(56),
            10,
            "a large data set keeps its epochs"
        );
        assert_eq!(
            LearnerConfig {
                min_updates: 0,
                ..config.clone()
            }
            .epochs_for(4),
            10
        );
        let mut json = serde_json::to_value(&config).unwrap();
        json.as_object_mut().unwrap().remove("min_updates");
        assert_eq!(
            serde_json::from_value::<LearnerConfig>(json)
                .unwrap()
                .min_updates,
            0,
            "older sessions keep epochs alone"
        );
    }

    #[test]
    fn replay_keeps_a_memory_and_relearns_but_neither_expands_nor_prunes() {
        let replay: Method = "replay".parse().unwrap();
        assert!(replay.uses_memory() && replay.relearns() && !replay.expands() && !replay.prunes());
        assert!(
            !Method::Finetune.relearns() && Method::Der.relearns() && Method::DerNoprune.relearns()
        );
    }

    #[cfg(feature = "train")]
    #[test]
    fn the_backbone_config_keeps_its_json_and_its_defaults() {
        assert_eq!(BackboneConfig::new(), BackboneConfig::default());
        let custom = BackboneConfig::new().with_input_size(64).with_width(16);
        let json = serde_json::to_string(&custom).unwrap();
        assert_eq!(
            json,
            r#"{"input_size":64,"width":16,"stages":3,"blocks_per_stage":1}"#
        );
        let back: BackboneConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, custom);
    }

    #[test]
    fn settings_that_cannot_work_are_refused_with_what_would() {
        let ok = LearnerConfig {
            memory_total: 120,
            memory_per_class: None,
            batch_size: 32,
            ..LearnerConfig::default()
        };
        ok.check_for_step(4, 200).unwrap();

        let small_memory = LearnerConfig {
            memory_total: 3,
            ..ok.clone()
        };
        small_memory.check_for_step(3, 200).unwrap();
        let e = small_memory.check_for_step(4, 200).unwrap_err();
        assert!(
            e.contains("memory of 3 images") && e.contains("at least 4"),
            "{e}"
        );
        // Fine-tuning keeps no memory, so any memory size works for it.
        LearnerConfig {
            method: Method::Finetune,
            ..small_memory.clone()
        }
        .check_for_step(4, 200)
        .unwrap();
        let e = LearnerConfig {
            memory_per_class: Some(0),
            ..ok.clone()
        }
        .check_for_step(4, 200)
        .unwrap_err();
        assert!(e.contains("0 images per class"), "{e}");

        let e = ok.check_for_step(4, 20).unwrap_err();
        assert!(
            e.contains("batch size (32)") && e.contains("at most 20"),
            "{e}"
        );
        let e = LearnerConfig {
            batch_size: 1,
            ..ok.clone()
        }
        .check_for_step(4, 200)
        .unwrap_err();
        assert!(e.contains("at least 2"), "{e}");

        let mut wide = ok.clone();
        wide.backbone.width = 65;
        assert!(
            wide.check_for_step(4, 200)
                .unwrap_err()
                .contains("from 2 to 64")
        );
        let mut tiny = ok.clone();
        tiny.backbone.input_size = 4;
        assert!(
            tiny.check_for_step(4, 200)
                .unwrap_err()
                .contains("from 8 to 128")
        );
        let e = LearnerConfig {
            epochs: 0,
            ..ok.clone()
        }
        .check_for_step(4, 200)
        .unwrap_err();
        assert!(e.contains("Epochs"), "{e}");
        for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(
                LearnerConfig {
                    learning_rate: lr,
                    ..ok.clone()
                }
                .check_for_step(4, 200)
                .is_err(),
                "learning rate {lr}"
            );
        }
    }
}
