//! The dedicated Web Worker that owns Burn: picks WebGPU or the CPU, runs training, and
//! reports back. GPU failures become messages for the page, never a silent death.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::tensor::Device;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::engine::demo::train_demo;
use crate::engine::learner::{Control, Observer, Progress, StepError};
use crate::engine::metrics::confusion;
use crate::engine::prune::ChannelSelection;
use crate::engine::{AccuracyMatrix, Dataset, Learner, LearnerConfig, Method};
use crate::archive::Archive;
use crate::benchmark::{time_prediction, time_training};
use crate::engine::tensor_io::ReadError;
use crate::protocol::{BackendChoice, BackendInfo, BaselineOutcome, BranchView, FromWorker, SpeedSettings, StepOutcome, ToWorker};

thread_local! {
    static DEVICE: RefCell<Option<Device>> = const { RefCell::new(None) };
    static LEARNER: RefCell<Option<Learner>> = const { RefCell::new(None) };
    static MATRIX: RefCell<AccuracyMatrix> = RefCell::new(AccuracyMatrix::default());
    /// Naive fine-tuning learning the same steps, when the page compares.
    static BASELINE: RefCell<Option<Learner>> = const { RefCell::new(None) };
    static BASELINE_MATRIX: RefCell<AccuracyMatrix> = RefCell::new(AccuracyMatrix::default());
    static CANCEL: Cell<bool> = const { Cell::new(false) };
}

/// Lets the worker's event loop run (so a Cancel message is heard) between reports.
async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(set_timeout) = js_sys::Reflect::get(&global, &JsValue::from_str("setTimeout")) {
            let _ = set_timeout.unchecked_ref::<js_sys::Function>().call2(&global, &resolve, &JsValue::from(0));
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Streams progress to the page and stops when the page asked to cancel.
struct PageObserver {
    baseline: bool,
}

impl Observer for PageObserver {
    async fn progress(&mut self, progress: &Progress) -> Control {
        post(&FromWorker::StepProgress { progress: progress.clone(), baseline: self.baseline });
        yield_now().await;
        if CANCEL.with(|c| c.replace(false)) { Control::Cancel } else { Control::Continue }
    }
    fn report_every(&self) -> usize {
        2
    }
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(message: &FromWorker) {
    let _ = scope().post_message(&JsValue::from_str(&message.to_json()));
}

pub fn start() {
    // A panic (e.g. cubecl's handler for an invalid shader or a lost device) is reported to the
    // page before the worker dies, so the page can offer the CPU.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // The page shows the cause; the source location goes to the console above.
        let payload = info.payload();
        let cause = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| info.to_string());
        post(&FromWorker::Crashed { message: format!("The training worker stopped: {cause}") });
    }));
    let busy = Rc::new(RefCell::new(false));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else { return };
        let busy = busy.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match ToWorker::from_json(&text) {
                Ok(message) => handle(message, busy).await,
                Err(e) => post(&FromWorker::Error { message: e, gpu: false }),
            }
        });
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&FromWorker::Loaded);
}

async fn handle(message: ToWorker, busy: Rc<RefCell<bool>>) {
    match message {
        ToWorker::Cancel => CANCEL.with(|c| c.set(true)),
        ToWorker::MemoryUsage => post(&FromWorker::MemoryUsage {
            wasm_bytes: crate::web::diagnostics::wasm_memory_bytes(),
            live_bytes: crate::web::diagnostics::live_heap_bytes(),
        }),
        ToWorker::SimulateFault => panic!("simulated GPU fault: device lost (test hook)"),
        // Not a Rust panic: a JavaScript exception escapes the worker, as a wasm trap or an
        // allocation failure would; only the Worker's error event tells the page.
        ToWorker::SimulateAbort => wasm_bindgen::throw_str("simulated abort: out of memory (test hook)"),
        ToWorker::Learn { config, train, test, compare } => {
            let Some(device) = DEVICE.with(|d| d.borrow().clone()) else {
                post(&FromWorker::StepFailed { message: "the worker has no device yet".into(), device_fault: false });
                return;
            };
            if busy.replace(true) {
                post(&FromWorker::StepFailed { message: "a step is already running".into(), device_fault: false });
                return;
            }
            CANCEL.with(|c| c.set(false));
            let message = match learn(config, device, train, test, compare).await {
                Ok(outcome) => FromWorker::StepDone { outcome: Box::new(outcome) },
                Err(StepFailure { message, device_fault }) => FromWorker::StepFailed { message, device_fault },
            };
            busy.replace(false);
            post(&message);
        }
        ToWorker::Predict { sample } => {
            let learner = LEARNER.with(|l| l.borrow_mut().take());
            let Some(learner) = learner else { return };
            let result = learner.predict(&[&sample]).await;
            let class_order = learner.class_order.clone();
            LEARNER.with(|l| *l.borrow_mut() = Some(learner));
            match result {
                Ok(mut rows) if !rows.is_empty() => post(&FromWorker::Prediction { class_order, probabilities: rows.remove(0) }),
                Ok(_) => {}
                Err(e) => post(&FromWorker::Error { message: e.to_string(), gpu: true }),
            }
        }
        ToWorker::Restore { model, accuracy, baseline, baseline_accuracy } => {
            if busy.replace(true) {
                post(&FromWorker::RestoreFailed { message: "a step is running: wait for it or cancel it first".into() });
                return;
            }
            let result = restore(model, accuracy, baseline, baseline_accuracy);
            busy.replace(false);
            post(&match result {
                Ok(()) => FromWorker::Restored,
                Err(message) => FromWorker::RestoreFailed { message },
            });
        }
        ToWorker::MeasureSpeed { settings, branches } => {
            let Some(device) = DEVICE.with(|d| d.borrow().clone()) else { return };
            if busy.replace(true) {
                post(&FromWorker::Error { message: "training is already running".into(), gpu: false });
                return;
            }
            let result = measure_speed(&settings, &branches, &device).await;
            busy.replace(false);
            match result {
                Ok(()) => post(&FromWorker::SpeedDone),
                Err(e) => post(&FromWorker::Error { message: e.to_string(), gpu: true }),
            }
        }
        ToWorker::Init { backend } => {
            let (device, info) = choose_device(backend).await;
            DEVICE.with(|d| *d.borrow_mut() = Some(device));
            post(&FromWorker::BackendReady { backend: info });
        }
        ToWorker::TrainDemo { seed } => {
            let Some(device) = DEVICE.with(|d| d.borrow().clone()) else {
                post(&FromWorker::Error { message: "the worker has no device yet".into(), gpu: false });
                return;
            };
            if busy.replace(true) {
                post(&FromWorker::Error { message: "training is already running".into(), gpu: false });
                return;
            }
            let (mut total, mut iterations) = (0.0, 0);
            let result = train_demo(&device, seed, |it| {
                total += it.millis;
                iterations += 1;
                post(&FromWorker::DemoIteration { iteration: it });
            })
            .await;
            busy.replace(false);
            match result {
                Ok(summaries) => post(&FromWorker::DemoDone {
                    iterations,
                    mean_millis: total / iterations.max(1) as f64,
                    branch_params: summaries.iter().map(|s| (s.branch_params_before, s.branch_params_after)).collect(),
                }),
                Err(e) => post(&FromWorker::Error { message: e.to_string(), gpu: true }),
            }
        }
    }
}

/// WebGPU when asked for and available; otherwise the CPU, with the reason.
async fn choose_device(choice: BackendChoice) -> (Device, BackendInfo) {
    let cpu = |reason: Option<String>| {
        (
            Device::flex(),
            BackendInfo { kind: "cpu".into(), adapter: "Burn flex, wasm SIMD128".into(), fallback_reason: reason },
        )
    };
    if choice == BackendChoice::Cpu {
        return cpu(Some("CPU requested with ?backend=cpu".into()));
    }
    let navigator = scope().navigator();
    let has_gpu = js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu"))
        .map(|gpu| !gpu.is_undefined() && !gpu.is_null())
        .unwrap_or(false);
    if !has_gpu {
        return cpu(Some("this browser has no WebGPU".into()));
    }
    match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let info = setup.adapter.get_info();
            // Browsers often hide the adapter's name; say at least what kind of device it is.
            let kind = match info.device_type {
                burn::tensor::wgpu::wgpu::DeviceType::DiscreteGpu => "discrete GPU",
                burn::tensor::wgpu::wgpu::DeviceType::IntegratedGpu => "integrated GPU",
                burn::tensor::wgpu::wgpu::DeviceType::Cpu => "software renderer, no GPU (slow)",
                _ => "GPU",
            };
            let adapter = if info.name.is_empty() { kind.to_string() } else { format!("{} · {kind}", info.name) };
            (device, BackendInfo { kind: "webgpu".into(), adapter, fallback_reason: None })
        }
        Err(e) => cpu(Some(format!("WebGPU could not start: {e}"))),
    }
}

/// The speed benchmark, one message per case as soon as it is measured.
async fn measure_speed(settings: &SpeedSettings, branches: &[usize], device: &Device) -> Result<(), ReadError> {
    for &count in branches {
        for cached in [false, true] {
            if cached && count == 1 {
                continue;
            }
            let case = time_training(settings, count, cached, device).await?;
            post(&FromWorker::SpeedMeasured { case });
            yield_now().await;
        }
    }
    let most = branches.iter().copied().max().unwrap_or(1);
    post(&FromWorker::SpeedMeasured { case: time_prediction(settings, most, device).await? });
    Ok(())
}

/// Installs a saved learner and fine-tuning baseline (or none) with their accuracy histories.
/// Nothing changes unless both load.
fn restore(
    model: Option<Vec<u8>>,
    accuracy: AccuracyMatrix,
    baseline: Option<Vec<u8>>,
    baseline_accuracy: AccuracyMatrix,
) -> Result<(), String> {
    let learner = load_learner(model, "model")?;
    let baseline = load_learner(baseline, "fine-tuning baseline")?;
    LEARNER.with(|l| *l.borrow_mut() = learner);
    MATRIX.with(|m| *m.borrow_mut() = accuracy);
    BASELINE.with(|b| *b.borrow_mut() = baseline);
    BASELINE_MATRIX.with(|m| *m.borrow_mut() = baseline_accuracy);
    Ok(())
}

fn load_learner(bytes: Option<Vec<u8>>, what: &str) -> Result<Option<Learner>, String> {
    let Some(bytes) = bytes else { return Ok(None) };
    let device = DEVICE.with(|d| d.borrow().clone()).ok_or("the worker has no device yet")?;
    let archive = Archive::decode(&bytes).map_err(|e| format!("The saved {what} could not be read: {e}."))?;
    Learner::import(&archive, device).map(Some).map_err(|e| format!("The saved {what} could not be used: {e}."))
}

/// Why a step failed, and whether the device is the cause (a lost or failing GPU): the page
/// then offers the CPU and can run the step again there.
struct StepFailure {
    message: String,
    device_fault: bool,
}

impl From<StepError> for StepFailure {
    fn from(e: StepError) -> Self {
        Self { device_fault: matches!(e, StepError::Device(_)), message: e.to_string() }
    }
}

impl From<ReadError> for StepFailure {
    fn from(e: ReadError) -> Self {
        Self { message: e.to_string(), device_fault: true }
    }
}

/// Runs one step on the worker's learner (and on the fine-tuning baseline when comparing) and
/// describes the result for the page. Either both learners take the step or neither does.
async fn learn(config: LearnerConfig, device: Device, train: Dataset, test: Dataset, compare: bool) -> Result<StepOutcome, StepFailure> {
    // A clone: the committed learner stays in its cell (and keeps answering predictions)
    // until this step has fully succeeded.
    let mut learner = LEARNER.with(|l| l.borrow().clone()).unwrap_or_else(|| Learner::new(config.clone(), device.clone()));
    learner.update_step_settings(&config);
    learner.learn_step(&train, &mut PageObserver { baseline: false }).await?;
    let mut outcome = describe(&learner, learner.steps.last().cloned().expect("a step"), &test).await?;
    let mut baseline_model = None;
    if compare {
        let mut baseline = BASELINE.with(|b| b.borrow().clone()).unwrap_or_else(|| {
            Learner::new(LearnerConfig { method: Method::Finetune, ..config.clone() }, device.clone())
        });
        baseline.update_step_settings(&config);
        // Nothing is committed yet: a failure or Cancel here leaves both learners as they were.
        baseline.learn_step(&train, &mut PageObserver { baseline: true }).await?;
        let pairs = baseline.evaluate(&test).await?;
        let matrix = BASELINE_MATRIX.with(|m| {
            let mut m = m.borrow().clone();
            m.push_step(baseline.steps.len(), &pairs, |label| baseline.step_of(label).unwrap_or(0));
            m
        });
        outcome.baseline = Some(BaselineOutcome {
            accuracy_rows: matrix.rows.clone(),
            accuracy_seen: matrix.seen.clone(),
            average_incremental_accuracy: matrix.average_incremental_accuracy(),
            forgetting: matrix.forgetting(),
        });
        baseline_model = Some(baseline.export().await.map_err(|e| StepFailure { message: e.to_string(), device_fault: true })?.encode());
        BASELINE_MATRIX.with(|m| *m.borrow_mut() = matrix);
        BASELINE.with(|b| *b.borrow_mut() = Some(baseline));
    }
    match learner.export().await {
        Ok(archive) => post(&FromWorker::ModelSaved { model: archive.encode(), baseline: baseline_model }),
        Err(e) => post(&FromWorker::Error { message: format!("The model could not be saved: {e}"), gpu: true }),
    }
    MATRIX.with(|m| *m.borrow_mut() = AccuracyMatrix { rows: outcome.accuracy_rows.clone(), seen: outcome.accuracy_seen.clone() });
    LEARNER.with(|l| *l.borrow_mut() = Some(learner));
    Ok(outcome)
}

async fn describe(
    learner: &Learner,
    summary: crate::engine::learner::StepSummary,
    test: &Dataset,
) -> Result<StepOutcome, StepFailure> {
    let pairs = learner.evaluate(test).await?;
    let steps = learner.steps.len();
    // The matrix with this step's row; `learn` commits it only if the whole step succeeds.
    let matrix = MATRIX.with(|m| {
        let mut m = m.borrow().clone();
        m.push_step(steps, &pairs, |label| learner.step_of(label).unwrap_or(0));
        m
    });
    let position = |label: usize| learner.class_order.iter().position(|&c| c == label).unwrap_or(usize::MAX);
    let indexed: Vec<(usize, usize)> = pairs.iter().map(|&(t, p)| (position(t), position(p))).collect();
    let network = learner.network().ok_or_else(|| StepFailure { message: "no network after a step".into(), device_fault: false })?;
    let last = network.branches.len() - 1;
    let mut branches = Vec::with_capacity(network.branches.len());
    for (i, branch) in network.branches.iter().enumerate() {
        let kept = ChannelSelection::from_masks(branch).await?.counts();
        // Steps map to branches one to one (fine-tuning keeps a single branch).
        let total = learner.steps.get(i).map(|s| s.channels_before.clone()).unwrap_or_else(|| kept.clone());
        branches.push(BranchView {
            kept,
            total,
            gate_names: branch.gates().into_iter().map(|(n, _)| n).collect(),
            params: branch.param_count(),
            frozen: i < last,
        });
    }
    Ok(StepOutcome {
        summary,
        accuracy_rows: matrix.rows.clone(),
        accuracy_seen: matrix.seen.clone(),
        average_incremental_accuracy: matrix.average_incremental_accuracy(),
        forgetting: matrix.forgetting(),
        class_order: learner.class_order.clone(),
        confusion: confusion(&indexed, learner.class_order.len()),
        branches,
        memory: learner.memory.by_class.iter().map(|(&c, s)| (c, s.clone())).collect(),
        baseline: None,
    })
}
