//! Messages between the page and the training worker, serialised as JSON strings.
//! The engine does not know how they travel.

use serde::{Deserialize, Serialize};

use crate::engine::metrics::AccuracyMatrix;
use crate::engine::report::{DemoIteration, Progress, StepSummary};
use crate::engine::{Dataset, LearnerConfig, Sample};

/// Which compute device the worker should use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// WebGPU when an adapter is available, otherwise the CPU.
    Auto,
    /// The CPU (Burn's `flex` backend), e.g. forced by `?backend=cpu`.
    Cpu,
}

/// The device the worker ended up with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// "webgpu" or "cpu".
    pub kind: String,
    /// Adapter name (WebGPU) or a description of the CPU backend.
    pub adapter: String,
    /// Why WebGPU was not used, when it was not.
    pub fallback_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToWorker {
    Init { backend: BackendChoice },
    /// The engine check: two real DER steps on a small built-in pattern set (`engine::demo`).
    TrainDemo { seed: u64 },
    /// Learns `train`'s classes as the next DER step, then evaluates on `test` (every class
    /// seen so far). The first Learn fixes the configuration.
    /// With `compare`, naive fine-tuning learns the same step beside DER (its own learner).
    Learn {
        config: LearnerConfig,
        train: Dataset,
        test: Dataset,
        #[serde(default)]
        compare: bool,
    },
    /// Stops the running step; the model stays as it was before it.
    Cancel,
    /// Class probabilities for one image.
    Predict { sample: Sample },
    /// Times training iterations with each of `branches` and one-image prediction with the
    /// most; answered by one `SpeedMeasured` per case, then `SpeedDone`.
    MeasureSpeed { settings: SpeedSettings, branches: Vec<usize> },
    /// Replaces the worker's learner with a saved one (`None`: start over with no model), and
    /// its accuracy history with `accuracy`. Answered by `Restored` or `RestoreFailed`.
    Restore {
        model: Option<Vec<u8>>,
        accuracy: AccuracyMatrix,
        #[serde(default)]
        baseline: Option<Vec<u8>>,
        #[serde(default)]
        baseline_accuracy: AccuracyMatrix,
    },
    /// How much memory the worker's wasm instance holds; answered by `MemoryUsage`.
    MemoryUsage,
    /// Test hook (`?simulate=worker-fault`): the worker panics the way cubecl does on an invalid
    /// shader or a lost device, so the error path to the page can be tested in a browser.
    SimulateFault,
    /// Test hook (`?simulate=worker-abort`): the worker dies without a Rust panic (an uncaught
    /// JavaScript exception, as from a wasm trap), so only its error event reaches the page.
    SimulateAbort,
}

/// What the speed benchmark (`crate::benchmark`) times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedSettings {
    pub batch: usize,
    pub width: usize,
    /// Timed iterations per case, after a short warm-up.
    pub iterations: usize,
}

/// One timed case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedCase {
    pub case: String,
    pub branches: usize,
    pub median_ms: f64,
    pub min_ms: f64,
}

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromWorker {
    /// The worker's wasm has loaded; messages sent before this are lost.
    Loaded,
    BackendReady { backend: BackendInfo },
    /// One training iteration of the engine check (`iteration` counts over both DER steps).
    DemoIteration { iteration: DemoIteration },
    /// `branch_params`: each DER step's new branch before and after pruning.
    DemoDone { iterations: usize, mean_millis: f64, branch_params: Vec<(usize, usize)> },
    /// `baseline`: the progress is the fine-tuning baseline's, trained after DER's step.
    StepProgress {
        progress: Progress,
        #[serde(default)]
        baseline: bool,
    },
    StepDone { outcome: Box<StepOutcome> },
    /// The learner after a completed step, as a DER Studio model file; sent just before
    /// `StepDone` so the page can save the session.
    ModelSaved { model: Vec<u8>, baseline: Option<Vec<u8>> },
    Restored,
    SpeedMeasured { case: SpeedCase },
    SpeedDone,
    /// The saved model could not be used; the worker's learner is unchanged.
    RestoreFailed { message: String },
    /// The step did not complete; the model is as it was before it.
    /// `device_fault`: the device failed (a lost GPU, a failed read), not the step's input.
    StepFailed {
        message: String,
        #[serde(default)]
        device_fault: bool,
    },
    Prediction { class_order: Vec<usize>, probabilities: Vec<f32> },
    /// The worker's wasm memory in bytes (it only grows: this is the high-water mark), and the
    /// bytes its Rust side holds now.
    MemoryUsage {
        wasm_bytes: f64,
        #[serde(default)]
        live_bytes: f64,
    },
    /// Something failed; `gpu` is true when switching to the CPU may help.
    Error { message: String, gpu: bool },
    /// The worker panicked (how cubecl reports an invalid shader or a lost device). Its state
    /// is undefined, so the page stops it and offers the CPU.
    Crashed { message: String },
}

impl ToWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("messages serialise")
    }
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("malformed message to the worker: {e}"))
    }
}

impl FromWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("messages serialise")
    }
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("malformed message from the worker: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_json() {
        let m = ToWorker::TrainDemo { seed: 7 };
        assert_eq!(ToWorker::from_json(&m.to_json()).unwrap(), m);
        assert!(m.to_json().contains("\"type\":\"train-demo\""));
        let r = FromWorker::DemoIteration { iteration: DemoIteration { der_step: 1, epoch: 0, iteration: 12, loss: 2.5, millis: 10.0 } };
        assert_eq!(FromWorker::from_json(&r.to_json()).unwrap(), r);
        assert!(ToWorker::from_json("{\"type\":\"nope\"}").is_err());
    }
}
