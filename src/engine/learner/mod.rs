//! One class-incremental step, end to end: expand → train with masks → prune → re-learn the
//! classifier on a balanced set → update the exemplar memory.
//!
//! The step works on copies and only replaces the learner's state when it completes, so a
//! cancelled or failed step leaves the model exactly as it was.
//!
//! This file holds the learner and what a caller sees (observer, errors). Its rooms, in reading
//! order: [`training`] (the step), [`iteration`] (one training iteration, also timed by the
//! speed benchmark), [`relearn`] (the balanced classifier re-learning), [`inference`]
//! (prediction, evaluation, features), [`explain`] (an answer split by step, occlusion, and the
//! model as it was after an earlier step).

use std::future::Future;

use burn::tensor::Device;

use super::branch::Branch;
use super::config::LearnerConfig;
use super::folded::FoldedNetwork;
use super::head::Head;
use super::memory::Memory;
use super::network::DerNetwork;
pub use super::report::{Phase, Progress, StepSummary};
use super::tensor_io::ReadError;

pub mod explain;
pub mod inference;
pub mod iteration;
pub mod relearn;
pub mod schedule;
pub mod training;
mod view_bank;

/// What an observer wants after a progress report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Cancel,
}

/// Receives progress during a step and may cancel it. Async so a browser worker can yield to
/// its event loop (and hear a Cancel message) at every report.
pub trait Observer {
    fn progress(&mut self, progress: &Progress) -> impl Future<Output = Control>;
    /// Batches between reports.
    fn report_every(&self) -> usize {
        5
    }
    /// The least time between two training reports (each epoch's last batch reports anyway).
    /// Each report reads the loss sums and the masks back from the device, which stalls a GPU's
    /// queue: an observer that wants a steady rate on any device (the page: about ten a second)
    /// asks for a pace rather than a batch count.
    fn report_pace(&self) -> Option<std::time::Duration> {
        None
    }
}

/// An observer that never cancels and ignores reports.
pub struct Silent;

impl Observer for Silent {
    async fn progress(&mut self, _: &Progress) -> Control {
        Control::Continue
    }
    fn report_every(&self) -> usize {
        usize::MAX
    }
}

/// Why a step did not complete; the messages are written for the person who pressed Learn.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StepError {
    #[error("this step has no training images")]
    NoSamples,
    #[error("class {0} was already learned in an earlier step")]
    ClassAlreadyLearned(usize),
    #[error("the first step needs at least two classes to tell apart")]
    FirstStepNeedsTwoClasses,
    #[error("the step was cancelled; the model is as it was before")]
    Cancelled,
    #[error("the loss became NaN or infinite in epoch {}; the previous model was kept — try a lower learning rate", epoch + 1)]
    NonFiniteLoss { epoch: usize },
    #[error(transparent)]
    Device(#[from] ReadError),
    /// Settings that cannot work for this step (`LearnerConfig::check_for_step`).
    #[error("{0}")]
    Settings(String),
}

/// Cloning is cheap (tensors are shared) and safe: a step builds new modules and never changes
/// the committed ones, so a clone taken before a step is the model as it was.
#[derive(Clone)]
pub struct Learner {
    pub config: LearnerConfig,
    /// The plain device; training wraps it with `.autodiff()`.
    device: Device,
    /// The trained network, on the autodiff device.
    network: Option<DerNetwork>,
    /// An inference snapshot of `network`: no autodiff, every branch folded (binary masks and
    /// BatchNorm's statistics inside its convolutions).
    inference: Option<FoldedNetwork>,
    /// The newest branch before pruning: the next branch starts from these weights.
    pub(super) init_source: Option<Branch>,
    /// Output index → global label, in the order classes were learned.
    pub class_order: Vec<usize>,
    pub steps: Vec<StepSummary>,
    pub memory: Memory,
    /// The classifier as each step left it (index k: after step k + 1), without autodiff. With
    /// the first k + 1 branches, which never change after their step, it is exactly the model
    /// after that step (see [`Learner::after_step`]). Only for methods that expand (DER); empty
    /// in a file saved before it was kept.
    pub(super) step_classifiers: Vec<Head>,
}

impl Learner {
    /// Takes the settings a user may change between steps (epochs, learning rate, batch size,
    /// loss weights, memory, re-learning); the branch shape, the method and the seed stay as
    /// the first step fixed them.
    pub fn update_step_settings(&mut self, config: &LearnerConfig) {
        self.config = LearnerConfig {
            method: self.config.method,
            backbone: self.config.backbone.clone(),
            seed: self.config.seed,
            ..config.clone()
        };
    }

    pub fn new(config: LearnerConfig, device: Device) -> Self {
        Self {
            config,
            device,
            network: None,
            inference: None,
            init_source: None,
            class_order: Vec::new(),
            steps: Vec::new(),
            memory: Memory::default(),
            step_classifiers: Vec::new(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The parts a saved model holds: the trained network and the next branch's initial weights.
    pub(super) fn saved_parts(&self) -> (Option<&DerNetwork>, Option<&Branch>) {
        (self.network.as_ref(), self.init_source.as_ref())
    }

    /// Installs a network read from a file (on the autodiff device) and its inference copy.
    pub(super) fn restore_network(&mut self, network: DerNetwork) {
        self.inference = Some(FoldedNetwork::fold(&network));
        self.network = Some(network);
    }

    pub fn network(&self) -> Option<&DerNetwork> {
        self.network.as_ref()
    }

    /// The step each learned label belongs to.
    pub fn step_of(&self, label: usize) -> Option<usize> {
        self.steps.iter().position(|s| s.classes.contains(&label))
    }
}
