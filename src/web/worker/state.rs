//! The worker's one state and the rules for changing it: borrowed only between awaits, long
//! requests marked busy, a restore installed whole or not at all.

use std::cell::RefCell;

use burn::tensor::Device;

use crate::classroom::outcome::Baseline;
use crate::engine::{AccuracyMatrix, Learner};
use crate::format::archive::Archive;
use crate::protocol::{BackendInfo, Request, WorkerError};

/// Everything the worker holds between messages, in one place. It is borrowed only between
/// awaits, never across one: a request that awaits (a step, a prediction) works on clones and
/// writes back once, when it has fully succeeded. So a prediction in flight can never drop or
/// overwrite a step or a restore that completes meanwhile.
#[derive(Default)]
pub(super) struct WorkerState {
    pub(super) device: Option<Device>,
    /// What the page was told about `device`.
    pub(super) backend: Option<BackendInfo>,
    /// The model of the last completed step (or restore). Cloning it is cheap: tensors are shared.
    pub(super) learner: Option<Learner>,
    pub(super) matrix: AccuracyMatrix,
    /// The baselines learning the same steps, when the page compares, with their accuracy
    /// histories.
    pub(super) baselines: Vec<BaselineLearner>,
    /// The long request running now (a step, the engine check, the speed benchmark).
    pub(super) busy: Option<Request>,
    /// The page asked the running step to stop.
    pub(super) cancel: bool,
}

thread_local! {
    static STATE: RefCell<WorkerState> = RefCell::new(WorkerState::default());
}

pub(super) fn with_state<R>(f: impl FnOnce(&mut WorkerState) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

pub(super) fn device() -> Result<Device, WorkerError> {
    with_state(|s| s.device.clone())
        .ok_or_else(|| WorkerError::input("the worker has no device yet"))
}

/// Marks a long request as running; dropping it (also on an early return) marks it done.
pub(super) struct Busy;

impl Busy {
    pub(super) fn claim(request: Request) -> Result<Busy, WorkerError> {
        with_state(|s| match s.busy {
            Some(Request::Learn) => Err(WorkerError::input(
                "a step is running: wait for it or cancel it first",
            )),
            Some(_) => Err(WorkerError::input(
                "the worker is busy measuring: wait for it to finish",
            )),
            None => {
                s.busy = Some(request);
                s.cancel = false;
                Ok(Busy)
            }
        })
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        with_state(|s| s.busy = None);
    }
}

/// A baseline's learner and its accuracy history.
#[derive(Clone)]
pub(super) struct BaselineLearner {
    pub(super) baseline: Baseline,
    pub(super) learner: Learner,
    pub(super) matrix: AccuracyMatrix,
}

/// Installs a saved learner and baselines (or none) with their accuracy histories. Nothing
/// changes unless all of them load.
pub(super) fn restore(
    model: Option<Vec<u8>>,
    accuracy: AccuracyMatrix,
    baselines: Vec<(Baseline, Vec<u8>, AccuracyMatrix)>,
) -> Result<(), WorkerError> {
    let learner = load_learner(model, "model")?;
    let mut loaded = Vec::with_capacity(baselines.len());
    for (baseline, bytes, matrix) in baselines {
        let what = format!("{} baseline", baseline.name().to_lowercase());
        let learner = load_learner(Some(bytes), &what)?.expect("bytes were given");
        loaded.push(BaselineLearner {
            baseline,
            learner,
            matrix,
        });
    }
    with_state(|s| {
        s.learner = learner;
        s.matrix = accuracy;
        s.baselines = loaded;
    });
    Ok(())
}

fn load_learner(bytes: Option<Vec<u8>>, what: &str) -> Result<Option<Learner>, WorkerError> {
    let Some(bytes) = bytes else { return Ok(None) };
    let device = device()?;
    let archive = Archive::decode(&bytes)
        .map_err(|e| WorkerError::input(format!("The saved {what} could not be read: {e}.")))?;
    Learner::import(&archive, device)
        .map(Some)
        .map_err(|e| WorkerError::input(format!("The saved {what} could not be used: {e}.")))
}
