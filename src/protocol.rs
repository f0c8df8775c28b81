//! Messages between the page and the training worker. They travel as bytes (postcard, a
//! compact serde format) in a transferred `ArrayBuffer`: images and model files cross the
//! boundary as raw bytes, not as JSON numbers. The engine does not know how they travel.

use serde::{Deserialize, Serialize};

use crate::classroom::outcome::{Baseline, Comparison};
use crate::engine::explanation::{Explanation, OcclusionMap};
use crate::engine::metrics::AccuracyMatrix;
use crate::engine::report::{DemoIteration, Progress};
use crate::engine::{Dataset, LearnerConfig, Sample};
// A step's results are the classroom's (the session stores them too), not the protocol's: a
// change to these messages cannot change the session file.
pub use crate::classroom::outcome::{BaselineOutcome, BranchView, StepOutcome};

/// Which compute device the worker should use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// The faster device, by measurement: a hardware WebGPU adapter and the CPU each time a few
    /// training updates; a software adapter (SwiftShader and the like) is never chosen.
    Auto,
    /// The CPU (Burn's `flex` backend), forced by `?backend=cpu`.
    Cpu,
    /// WebGPU whatever its adapter, forced by `?backend=webgpu`.
    WebGpu,
}

/// Milliseconds per training update of the classroom's network on each device, as measured
/// when the worker chose one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceTimes {
    pub webgpu_ms: f64,
    pub cpu_ms: f64,
}

/// The device the worker ended up with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// "webgpu" or "cpu".
    pub kind: String,
    /// Adapter name (WebGPU) or a description of the CPU backend.
    pub adapter: String,
    /// Why this device: forced by the URL, the only one there is, a software adapter skipped,
    /// or the measured times.
    pub reason: Option<String>,
    /// The times the choice was made on, when both devices were measured.
    pub measured: Option<DeviceTimes>,
}

/// Every request is answered: by its own success message, or by [`FromWorker::Failed`] naming
/// it. (`Cancel` is answered by the running step's own answer; the test hooks by `Crashed`.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToWorker {
    /// Chooses the device (`backend`), timing both on `network` when the choice is `Auto`. Sent
    /// again when the page's network changes shape before its first step; once a model exists
    /// the device stays. `simulate_hardware_adapter` (test hook, `?simulate=hardware-adapter`)
    /// measures a software adapter as if it were a GPU, so the measuring path runs on machines
    /// without one.
    Init {
        backend: BackendChoice,
        network: SpeedSettings,
        simulate_hardware_adapter: bool,
    },
    /// The engine check: two real DER steps on a small built-in pattern set (`engine::demo`).
    TrainDemo { seed: u64 },
    /// Learns `train`'s classes as the next DER step, then evaluates on `test` (every class
    /// seen so far). The first Learn fixes the configuration.
    /// The baselines of `comparison` learn the same step beside DER (each its own learner).
    Learn {
        config: LearnerConfig,
        train: Dataset,
        test: Dataset,
        comparison: Comparison,
    },
    /// Stops the running step; the model stays as it was before it.
    Cancel,
    /// Class probabilities for one image, with the winning class split by step's branch, from
    /// the model after step `step` (1-based; `None`: the last completed step); answered by
    /// `Prediction`, or `Failed` when nothing has been learned yet or the step cannot be shown.
    Predict { sample: Sample, step: Option<usize> },
    /// Times training iterations with each of `branches` and one-image prediction with the
    /// most; answered by one `SpeedMeasured` per case, then `SpeedDone`.
    MeasureSpeed {
        settings: SpeedSettings,
        branches: Vec<usize>,
    },
    /// Replaces the worker's learner with a saved one (`None`: start over with no model), and
    /// its accuracy history with `accuracy`. Answered by `Restored` or `Failed`.
    /// `baselines`: each baseline's saved learner and accuracy history.
    Restore {
        model: Option<Vec<u8>>,
        accuracy: AccuracyMatrix,
        baselines: Vec<(Baseline, Vec<u8>, AccuracyMatrix)>,
    },
    /// How much memory the worker's wasm instance holds; answered by `MemoryUsage`.
    MemoryUsage,
    /// Test hook (`?simulate=worker-fault`): the worker panics the way cubecl does on an invalid
    /// shader or a lost device, so the error path to the page can be tested in a browser.
    SimulateFault,
    /// Test hook (`?simulate=worker-abort`): the worker dies without a Rust panic (an uncaught
    /// JavaScript exception, as from a wasm trap), so only its error event reaches the page.
    SimulateAbort,
    /// What the model after `step` answers for each of `samples` (the kept-aside images behind
    /// a number in the results); answered by `Answers`. `cell` comes back with it, so the page
    /// shows an answer only for the cell it asked about.
    Answer {
        samples: Vec<Sample>,
        step: Option<usize>,
        cell: String,
    },
    /// Where the model after `step` looked to answer `sample`; answered by `Occlusion`.
    Occlude { sample: Sample, step: Option<usize> },
    /// The current inference network as an ONNX file, with `metadata` (class names, input size,
    /// normalisation) in its properties; answered by `OnnxModel`.
    ExportOnnx { metadata: Vec<(String, String)> },
}

/// What the speed benchmark (`crate::tools::benchmark`) times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedSettings {
    pub batch: usize,
    pub width: usize,
    /// Side of the square input images in pixels.
    #[serde(default = "default_input_size")]
    pub input_size: usize,
    /// Timed iterations per case, after a short warm-up.
    pub iterations: usize,
}

fn default_input_size() -> usize {
    32
}

/// One timed case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedCase {
    pub case: String,
    pub branches: usize,
    pub median_ms: f64,
    pub min_ms: f64,
}

/// The request a [`FromWorker::Failed`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Request {
    Init,
    TrainDemo,
    Learn,
    Cancel,
    Predict,
    MeasureSpeed,
    Restore,
    MemoryUsage,
    /// A message that could not be decoded (which request it was is unknown).
    Unreadable,
    Answer,
    Occlude,
    ExportOnnx,
}

/// The one shape of every failure the worker reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerError {
    /// A sentence for the user; what was in progress is unchanged.
    pub message: String,
    /// The device failed (a lost GPU, a failed read), not the request's input: switching to
    /// the CPU may help.
    pub device_fault: bool,
}

impl WorkerError {
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            device_fault: false,
        }
    }
    pub fn device(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            device_fault: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FromWorker {
    /// The worker's wasm has loaded; messages sent before this are lost.
    Loaded,
    /// The worker is timing a few training updates on each device before it chooses one.
    MeasuringDevices,
    BackendReady {
        backend: BackendInfo,
    },
    /// One training iteration of the engine check (`iteration` counts over both DER steps).
    DemoIteration {
        iteration: DemoIteration,
    },
    /// `branch_params`: each DER step's new branch before and after pruning.
    DemoDone {
        iterations: usize,
        mean_millis: f64,
        branch_params: Vec<(usize, usize)>,
    },
    /// `baseline`: the progress is this baseline's, trained after DER's step.
    StepProgress {
        progress: Progress,
        baseline: Option<Baseline>,
    },
    StepDone {
        outcome: Box<StepOutcome>,
    },
    /// The learner after a completed step, as a DER Studio model file; sent just before
    /// `StepDone` so the page can save the session.
    ModelSaved {
        model: Vec<u8>,
        baselines: Vec<(Baseline, Vec<u8>)>,
    },
    Restored,
    SpeedMeasured {
        case: SpeedCase,
    },
    SpeedDone,
    /// `request` did not complete; the worker's state is as it was before it (a failed step
    /// leaves the model as it was, a failed restore the learner as it was).
    Failed {
        request: Request,
        error: WorkerError,
    },
    /// `class_order`: the classes of the model asked (after `step`), in output order.
    Prediction {
        class_order: Vec<usize>,
        probabilities: Vec<f32>,
        explanation: Explanation,
        step: Option<usize>,
    },
    /// The worker's wasm memory in bytes (it only grows: this is the high-water mark), and the
    /// bytes its Rust side holds now.
    MemoryUsage {
        wasm_bytes: f64,
        #[serde(default)]
        live_bytes: f64,
    },
    /// The worker panicked (how cubecl reports an invalid shader or a lost device). Its state
    /// is undefined, so the page stops it and offers the CPU.
    Crashed {
        error: WorkerError,
    },
    /// The answers (global labels) to an `Answer` request, in its samples' order.
    Answers {
        cell: String,
        step: Option<usize>,
        labels: Vec<usize>,
    },
    Occlusion {
        map: OcclusionMap,
        step: Option<usize>,
    },
    /// An ONNX file of the current inference network.
    OnnxModel {
        onnx: Vec<u8>,
    },
}

impl ToWorker {
    /// The request's name, for logs and for naming what a failure answers.
    pub fn kind(&self) -> &'static str {
        match self {
            ToWorker::Init { .. } => "init",
            ToWorker::TrainDemo { .. } => "train-demo",
            ToWorker::Learn { .. } => "learn",
            ToWorker::Cancel => "cancel",
            ToWorker::Predict { .. } => "predict",
            ToWorker::MeasureSpeed { .. } => "measure-speed",
            ToWorker::Restore { .. } => "restore",
            ToWorker::MemoryUsage => "memory-usage",
            ToWorker::SimulateFault => "simulate-fault",
            ToWorker::SimulateAbort => "simulate-abort",
            ToWorker::Answer { .. } => "answer",
            ToWorker::Occlude { .. } => "occlude",
            ToWorker::ExportOnnx { .. } => "export-onnx",
        }
    }
    pub fn request(&self) -> Request {
        match self {
            ToWorker::Init { .. } => Request::Init,
            ToWorker::TrainDemo { .. } => Request::TrainDemo,
            ToWorker::Learn { .. } => Request::Learn,
            ToWorker::Cancel | ToWorker::SimulateFault | ToWorker::SimulateAbort => Request::Cancel,
            ToWorker::Predict { .. } => Request::Predict,
            ToWorker::MeasureSpeed { .. } => Request::MeasureSpeed,
            ToWorker::Restore { .. } => Request::Restore,
            ToWorker::MemoryUsage => Request::MemoryUsage,
            ToWorker::Answer { .. } => Request::Answer,
            ToWorker::Occlude { .. } => Request::Occlude,
            ToWorker::ExportOnnx { .. } => Request::ExportOnnx,
        }
    }
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("messages serialise")
    }
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        postcard::from_bytes(bytes).map_err(|e| format!("malformed message to the worker: {e}"))
    }
}

impl FromWorker {
    pub fn kind(&self) -> &'static str {
        match self {
            FromWorker::Loaded => "loaded",
            FromWorker::MeasuringDevices => "measuring-devices",
            FromWorker::BackendReady { .. } => "backend-ready",
            FromWorker::DemoIteration { .. } => "demo-iteration",
            FromWorker::DemoDone { .. } => "demo-done",
            FromWorker::StepProgress { .. } => "step-progress",
            FromWorker::StepDone { .. } => "step-done",
            FromWorker::ModelSaved { .. } => "model-saved",
            FromWorker::Restored => "restored",
            FromWorker::SpeedMeasured { .. } => "speed-measured",
            FromWorker::SpeedDone => "speed-done",
            FromWorker::Failed { .. } => "failed",
            FromWorker::Prediction { .. } => "prediction",
            FromWorker::MemoryUsage { .. } => "memory-usage",
            FromWorker::Crashed { .. } => "crashed",
            FromWorker::Answers { .. } => "answers",
            FromWorker::Occlusion { .. } => "occlusion",
            FromWorker::OnnxModel { .. } => "onnx-model",
        }
    }
    /// The request this message answers, for a [`FromWorker::Failed`] in its place when it
    /// cannot be sent.
    pub fn answers(&self) -> Request {
        match self {
            FromWorker::Loaded | FromWorker::MeasuringDevices | FromWorker::BackendReady { .. } => {
                Request::Init
            }
            FromWorker::DemoIteration { .. } | FromWorker::DemoDone { .. } => Request::TrainDemo,
            FromWorker::StepProgress { .. }
            | FromWorker::StepDone { .. }
            | FromWorker::ModelSaved { .. } => Request::Learn,
            FromWorker::Restored => Request::Restore,
            FromWorker::SpeedMeasured { .. } | FromWorker::SpeedDone => Request::MeasureSpeed,
            FromWorker::Failed { request, .. } => *request,
            FromWorker::Prediction { .. } => Request::Predict,
            FromWorker::MemoryUsage { .. } => Request::MemoryUsage,
            FromWorker::Crashed { .. } => Request::Unreadable,
            FromWorker::Answers { .. } => Request::Answer,
            FromWorker::Occlusion { .. } => Request::Occlude,
            FromWorker::OnnxModel { .. } => Request::ExportOnnx,
        }
    }
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("messages serialise")
    }
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        postcard::from_bytes(bytes).map_err(|e| format!("malformed message from the worker: {e}"))
    }
}

/// How many training threads the page's address asks for, read by the page (which worker to
/// start) and by the threaded worker (how large a pool): `?threads=0` none (the
/// single-threaded worker), `?threads=N` a pool of N, at most 16 (for measuring how training
/// scales), anything else one per core.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThreadsWanted {
    None,
    Exactly(usize),
    PerCore,
}

impl ThreadsWanted {
    pub fn from_param(value: Option<&str>) -> Self {
        match value.map(str::parse::<usize>) {
            Some(Ok(0)) => Self::None,
            Some(Ok(n)) => Self::Exactly(n.min(16)),
            _ => Self::PerCore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(count: usize, side: usize) -> Dataset {
        let samples = (0..count)
            .map(|i| Sample {
                pixels: (0..3 * side * side)
                    .map(|p| ((p * 31 + i * 7) % 251) as u8)
                    .collect(),
                label: i % 5,
            })
            .collect();
        Dataset {
            samples,
            size: side,
        }
    }

    #[test]
    fn messages_round_trip_as_bytes() {
        let learn = ToWorker::Learn {
            config: LearnerConfig::default(),
            train: images(20, 32),
            test: images(5, 32),
            comparison: Comparison::Both,
        };
        assert_eq!(ToWorker::decode(&learn.encode()).unwrap(), learn);
        let demo = FromWorker::DemoIteration {
            iteration: DemoIteration {
                der_step: 1,
                epoch: 0,
                iteration: 12,
                loss: 2.5,
                millis: 10.0,
            },
        };
        assert_eq!(FromWorker::decode(&demo.encode()).unwrap(), demo);
        let failed = FromWorker::Failed {
            request: Request::Predict,
            error: WorkerError::input("learn a step first"),
        };
        assert_eq!(FromWorker::decode(&failed.encode()).unwrap(), failed);
        let saved = FromWorker::ModelSaved {
            model: vec![0, 255, 7, 1],
            baselines: vec![(Baseline::Replay, vec![9; 300])],
        };
        assert_eq!(FromWorker::decode(&saved.encode()).unwrap(), saved);
        assert!(ToWorker::decode(&[200, 1, 2]).is_err());
        assert!(FromWorker::decode(&[]).is_err());
    }

    /// The page builds `BackboneConfig` with plain serde and the worker with Burn's `Config`
    /// derive (engine/config.rs): postcard is positional, so both must write the same four
    /// numbers in field order, or a Learn from the page would not decode in the worker. This
    /// test runs in both builds: `cargo test` compiles the worker's derive, and
    /// `cargo test --lib --no-default-features` (in `make test-native`) the page's.
    #[test]
    fn backbone_settings_have_one_binary_layout_with_and_without_burn() {
        let backbone = crate::engine::config::BackboneConfig {
            input_size: 48,
            width: 12,
            stages: 3,
            blocks_per_stage: 2,
        };
        assert_eq!(
            postcard::to_allocvec(&backbone).unwrap(),
            postcard::to_allocvec(&(48usize, 12usize, 3usize, 2usize)).unwrap()
        );
    }

    #[test]
    fn the_threads_parameter_reads_as_the_page_and_the_worker_need() {
        assert_eq!(ThreadsWanted::from_param(Some("0")), ThreadsWanted::None);
        assert_eq!(
            ThreadsWanted::from_param(Some("3")),
            ThreadsWanted::Exactly(3)
        );
        assert_eq!(
            ThreadsWanted::from_param(Some("64")),
            ThreadsWanted::Exactly(16)
        );
        assert_eq!(
            ThreadsWanted::from_param(Some("two")),
            ThreadsWanted::PerCore
        );
        assert_eq!(ThreadsWanted::from_param(None), ThreadsWanted::PerCore);
    }

    /// A message the worker cannot post is replaced by a `Failed` for the request it answered.
    #[test]
    fn every_answer_names_its_request() {
        let saved = FromWorker::ModelSaved {
            model: vec![],
            baselines: vec![],
        };
        assert_eq!(saved.answers(), Request::Learn);
        assert_eq!(FromWorker::Restored.answers(), Request::Restore);
        let prediction = FromWorker::Prediction {
            class_order: vec![],
            probabilities: vec![],
            explanation: Explanation {
                output: 0,
                logit: 1.0,
                bias: 0.5,
                contributions: vec![0.25, 0.25],
            },
            step: Some(1),
        };
        assert_eq!(prediction.answers(), Request::Predict);
        assert_eq!(
            FromWorker::decode(&prediction.encode()).unwrap(),
            prediction
        );
        let onnx = FromWorker::OnnxModel { onnx: vec![8, 1] };
        assert_eq!(onnx.answers(), Request::ExportOnnx);
        assert_eq!(FromWorker::SpeedDone.answers(), Request::MeasureSpeed);
    }

    /// diagram.spec.mjs counts the progress reports by their first byte: postcard writes the
    /// variant first, and a progress report is variant 5.
    #[test]
    fn a_progress_report_starts_with_its_variant_5() {
        let progress = FromWorker::StepProgress {
            progress: crate::engine::report::Progress {
                phase: crate::engine::report::Phase::Train,
                epoch: 0,
                epochs: 1,
                batch: 1,
                batches: 1,
                loss: 1.0,
                loss_classifier: 1.0,
                loss_aux: 0.0,
                loss_sparsity: 0.0,
                train_accuracy: 0.5,
                mask_scale: 1.0,
                gate_masks: vec![vec![1.0]],
                elapsed_seconds: 0.1,
            },
            baseline: None,
        };
        assert_eq!(progress.encode()[0], 5);
        assert_eq!(FromWorker::Loaded.encode(), vec![0]);
    }

    /// Images and model bytes travel as bytes: a 200-image step costs about one byte per
    /// pixel value, where JSON numbers cost 2–4 (the figures are in BENCHMARKS.md).
    #[test]
    fn a_200_image_step_costs_about_a_byte_per_pixel() {
        let learn = ToWorker::Learn {
            config: LearnerConfig::default(),
            train: images(200, 32),
            test: images(40, 32),
            comparison: Comparison::Off,
        };
        let pixels = 240 * 3 * 32 * 32;
        let bytes = learn.encode().len();
        let json = serde_json::to_string(&learn).unwrap().len();
        assert!(
            bytes >= pixels && bytes < pixels + pixels / 50,
            "{bytes} bytes for {pixels} pixel values"
        );
        assert!(json > 3 * bytes, "JSON {json} against {bytes}");
        let model = vec![0x5a_u8; 100_000];
        assert!(
            FromWorker::ModelSaved {
                model,
                baselines: Vec::new()
            }
            .encode()
            .len()
                < 100_016
        );
    }
}
