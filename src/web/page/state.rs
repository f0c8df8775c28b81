//! The page's state, in narrow pieces: the classroom (a store: what a session saves), and
//! plain signals for what only lives while the page is open (a step's progress, the engine
//! check's figures, the last prediction).

use leptos::prelude::*;
use reactive_stores::{Field, Store};

use crate::classroom::outcome::{Baseline, Comparison};
use crate::classroom::session::Session;
use crate::classroom::studio::Studio;
use crate::engine::LearnerConfig;
use crate::engine::Sample;
use crate::engine::augment::Augment;
use crate::engine::explanation::{Explanation, OcclusionMap};
use crate::engine::report::{DemoIteration, Progress};
use crate::protocol::{SpeedCase, StepOutcome};

/// The model's input side in pixels, until the user picks another in the settings.
pub const INPUT_SIZE: usize = 32;

/// Settings for a classroom step: the engine's defaults, which `der bench` uses too and which
/// were chosen on a validation split at classroom size (BENCHMARKS.md, "One set of defaults").
pub fn classroom_config() -> LearnerConfig {
    let mut config = LearnerConfig::default();
    config.backbone.input_size = INPUT_SIZE;
    config
}

/// A new, empty session with the classroom settings.
pub fn empty_session() -> Session {
    Session {
        studio: Studio::new(INPUT_SIZE),
        config: classroom_config(),
        outcome: None,
        params_history: Vec::new(),
        model: None,
        selected: Vec::new(),
        comparison: Comparison::Off,
        baselines: Vec::new(),
        augmentation: None,
    }
}

/// The classroom: everything a session saves (classes, the steps learned and their outcome,
/// the settings). Components get single fields of it ([`Field`]), never the whole store.
#[derive(Store)]
pub struct Classroom {
    /// The classes and their images.
    pub studio: Studio,
    /// Classes picked for the next step.
    pub selected: Vec<usize>,
    /// The settings of the next step.
    pub config: LearnerConfig,
    /// The last step's outcome (accuracy, branches, memory).
    pub outcome: Option<StepOutcome>,
    /// Branch parameters after each step: (with pruning, without).
    pub params_history: Vec<(usize, usize)>,
    /// The worker's learner as a model file, updated after every step.
    pub model: Option<Vec<u8>>,
    /// The baselines learning beside DER (chosen before the first step).
    pub comparison: Comparison,
    /// Each baseline's model file.
    pub baseline_models: Vec<(Baseline, Vec<u8>)>,
    /// The augmentation the user chose; `None`: by the images' source.
    pub augmentation: Option<Augment>,
}

impl Classroom {
    /// An empty classroom with the classroom settings.
    pub fn new() -> Self {
        Self::from_session(empty_session())
    }

    fn from_session(s: Session) -> Self {
        Self {
            studio: s.studio,
            selected: s.selected,
            config: s.config,
            outcome: s.outcome,
            params_history: s.params_history,
            model: s.model,
            comparison: s.comparison,
            baseline_models: s.baselines,
            augmentation: s.augmentation,
        }
    }
}

/// Store-side helpers: what reads or replaces several fields at once.
pub trait ClassroomExt {
    /// The session as a file, the studio's images lent rather than copied.
    fn encoded_session(self) -> Vec<u8>;
    /// The session without its images (they are encoded from the studio in place).
    fn session_without_images(self) -> Session;
    /// Replaces the classroom with `session` (its model is already in the worker).
    fn apply(self, session: Session);
}

impl ClassroomExt for Store<Classroom> {
    fn encoded_session(self) -> Vec<u8> {
        let rest = self.session_without_images();
        self.studio()
            .with_untracked(|studio| rest.encode_with_studio(studio))
    }

    fn session_without_images(self) -> Session {
        Session {
            studio: Studio::new(INPUT_SIZE),
            config: self.config().get_untracked(),
            outcome: self.outcome().get_untracked(),
            params_history: self.params_history().get_untracked(),
            model: self.model().get_untracked(),
            selected: self.selected().get_untracked(),
            comparison: self.comparison().get_untracked(),
            baselines: self.baseline_models().get_untracked(),
            augmentation: self.augmentation().get_untracked(),
        }
    }

    fn apply(self, session: Session) {
        self.set(Classroom::from_session(session));
    }
}

/// The step `ids` would be: (classes seen after it, training images it would copy to the
/// worker, exemplars included). Learn and the settings panel check the settings against it.
pub fn planned_step(
    studio: Field<Studio>,
    outcome: Field<Option<StepOutcome>>,
    ids: &[usize],
) -> (usize, usize) {
    let (seen, images) = studio.with(|s| {
        let seen = s
            .classes
            .iter()
            .filter(|c| c.learned_in_step.is_some() || ids.contains(&c.id))
            .count();
        (seen, s.train_count(ids))
    });
    let exemplars = outcome.with(|o| {
        o.as_ref()
            .map_or(0, |o| o.memory.iter().map(|(_, m)| m.len()).sum::<usize>())
    });
    (seen, images + exemplars)
}

/// One progress report of the step being trained, for the live curves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    pub loss: f32,
    pub classification: f32,
    pub auxiliary: f32,
    /// L_S, already a fraction (0–1).
    pub sparsity: f32,
    /// Training accuracy (0–1).
    pub accuracy: f32,
}

/// The step being trained: transient, never saved.
#[derive(Clone, Copy)]
pub struct Training {
    /// The classes being learned, while a step runs.
    pub learning: RwSignal<Option<Vec<usize>>>,
    /// The last progress report.
    pub progress: RwSignal<Option<Progress>>,
    /// The loss curve so far.
    pub losses: RwSignal<Vec<CurvePoint>>,
    /// The baseline whose progress is shown (baselines train after DER's step); `None`: DER's.
    pub baseline: RwSignal<Option<Baseline>>,
    /// The new branch's channel masks at DER's last training report; kept after the step ends
    /// (the diagram fades the channels pruning removed) until the next step starts.
    pub masks: RwSignal<Option<Vec<Vec<f32>>>>,
}

impl Training {
    pub fn new() -> Self {
        Self {
            learning: RwSignal::new(None),
            progress: RwSignal::new(None),
            losses: RwSignal::new(Vec::new()),
            baseline: RwSignal::new(None),
            masks: RwSignal::new(None),
        }
    }
}

/// The engine check's and speed measurement's figures.
#[derive(Clone, Copy)]
pub struct Checks {
    pub demo_steps: RwSignal<Vec<DemoIteration>>,
    pub demo_running: RwSignal<bool>,
    pub demo_mean_millis: RwSignal<Option<f64>>,
    /// Each check step's new branch: parameters before and after pruning.
    pub demo_pruned: RwSignal<Vec<(usize, usize)>>,
    pub speed: RwSignal<Vec<SpeedCase>>,
    pub speed_running: RwSignal<bool>,
    /// The worker's wasm memory and the bytes its Rust side holds, as last reported.
    pub worker_memory: RwSignal<Option<(f64, f64)>>,
    /// The worker is timing its devices before it chooses one.
    pub measuring_devices: RwSignal<bool>,
}

impl Checks {
    pub fn new() -> Self {
        Self {
            demo_steps: RwSignal::new(Vec::new()),
            demo_running: RwSignal::new(false),
            demo_mean_millis: RwSignal::new(None),
            demo_pruned: RwSignal::new(Vec::new()),
            speed: RwSignal::new(Vec::new()),
            speed_running: RwSignal::new(false),
            worker_memory: RwSignal::new(None),
            measuring_devices: RwSignal::new(false),
        }
    }
}

/// The image last sent for prediction, the answer and what the model says about it.
#[derive(Clone, Copy)]
pub struct Asked {
    /// The image last sent.
    pub probe: RwSignal<Option<Vec<u8>>>,
    /// (label, probability) per class.
    pub answer: RwSignal<Vec<(usize, f32)>>,
    /// Answers received so far (benchmarks wait for the next one).
    pub answered: RwSignal<u64>,
    /// The winning class's logit split by step's branch.
    pub explanation: RwSignal<Option<Explanation>>,
    /// Which model answers: the one after this step (1-based), or `None` for the latest.
    pub step: RwSignal<Option<usize>>,
    /// Where the model looked for the probe, once asked ("Where did it look?").
    pub occlusion: RwSignal<Option<OcclusionMap>>,
    /// An occlusion map is being computed.
    pub occluding: RwSignal<bool>,
    /// The kept-aside images behind a number of the results, and their answers.
    pub cell: RwSignal<Option<CellImages>>,
}

impl Asked {
    pub fn new() -> Self {
        Self {
            probe: RwSignal::new(None),
            answer: RwSignal::new(Vec::new()),
            answered: RwSignal::new(0),
            explanation: RwSignal::new(None),
            step: RwSignal::new(None),
            occlusion: RwSignal::new(None),
            occluding: RwSignal::new(false),
            cell: RwSignal::new(None),
        }
    }

    /// Context for the parts that show an answer outside the prediction panel (the diagram).
    pub fn get() -> Self {
        expect_context::<Asked>()
    }
}

/// The kept-aside images behind one number of the results (a cell of the accuracy matrix or of
/// the confusion view), asked of the model that number describes.
#[derive(Clone, Debug, PartialEq)]
pub struct CellImages {
    /// Which cell: answers for another cell (asked before this one) are ignored.
    pub key: String,
    /// What the cell is, in words ("classes of step 1, after step 2").
    pub title: String,
    /// The model asked: after this step (`None`: the latest).
    pub step: Option<usize>,
    /// The kept-aside images asked about.
    pub samples: Vec<Sample>,
    /// Only the images answered as this class are the cell's (a confusion cell).
    pub answered_as: Option<usize>,
    /// The model's answer (a class label) per image, once it came.
    pub answers: Option<Vec<usize>>,
}
