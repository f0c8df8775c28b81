//! The dedicated Web Worker that owns Burn: picks WebGPU or the CPU, runs training, and
//! reports back. GPU failures become messages for the page, never a silent death.

use std::cell::RefCell;

use burn::tensor::Device;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::engine::demo::train_demo;
use crate::engine::learner::{Control, Observer, Progress, StepError};
use crate::engine::metrics::confusion;
use crate::engine::prune::ChannelSelection;
use crate::engine::{AccuracyMatrix, Dataset, Learner, LearnerConfig, Method};
use crate::archive::Archive;
use crate::benchmark::{time_prediction, time_training};
use crate::engine::tensor_io::ReadError;
use crate::protocol::{
    BackendChoice, BackendInfo, BaselineOutcome, BranchView, FromWorker, Request, SpeedSettings, StepOutcome, ToWorker, WorkerError,
};

/// Everything the worker holds between messages, in one place. It is borrowed only between
/// awaits, never across one: a request that awaits (a step, a prediction) works on clones and
/// writes back once, when it has fully succeeded. So a prediction in flight can never drop or
/// overwrite a step or a restore that completes meanwhile.
#[derive(Default)]
struct WorkerState {
    device: Option<Device>,
    /// The model of the last completed step (or restore). Cloning it is cheap: tensors are shared.
    learner: Option<Learner>,
    matrix: AccuracyMatrix,
    /// Naive fine-tuning learning the same steps, when the page compares.
    baseline: Option<Learner>,
    baseline_matrix: AccuracyMatrix,
    /// The long request running now (a step, the engine check, the speed benchmark).
    busy: Option<Request>,
    /// The page asked the running step to stop.
    cancel: bool,
}

thread_local! {
    static STATE: RefCell<WorkerState> = RefCell::new(WorkerState::default());
}

fn with_state<R>(f: impl FnOnce(&mut WorkerState) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

fn device() -> Result<Device, WorkerError> {
    with_state(|s| s.device.clone()).ok_or_else(|| WorkerError::input("the worker has no device yet"))
}

/// Marks a long request as running; dropping it (also on an early return) marks it done.
struct Busy;

impl Busy {
    fn claim(request: Request) -> Result<Busy, WorkerError> {
        with_state(|s| match s.busy {
            Some(Request::Learn) => Err(WorkerError::input("a step is running: wait for it or cancel it first")),
            Some(_) => Err(WorkerError::input("the worker is busy measuring: wait for it to finish")),
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

/// Lets the worker's event loop run (so a Cancel message is heard) between reports.
async fn yield_now() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

/// Streams progress to the page and stops when the page asked to cancel.
struct PageObserver {
    baseline: bool,
}

impl Observer for PageObserver {
    async fn progress(&mut self, progress: &Progress) -> Control {
        post(&FromWorker::StepProgress { progress: progress.clone(), baseline: self.baseline });
        yield_now().await;
        if with_state(|s| std::mem::take(&mut s.cancel)) { Control::Cancel } else { Control::Continue }
    }
    fn report_every(&self) -> usize {
        2
    }
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Sends a message as bytes in a transferred buffer (no copy on the way to the page).
fn post(message: &FromWorker) {
    let start = now();
    let bytes = message.encode();
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let _ = scope().post_message_with_transfer(&array, &js_sys::Array::of1(&array.buffer()));
    if !matches!(message, FromWorker::StepProgress { .. } | FromWorker::DemoIteration { .. }) {
        web_sys::console::debug_1(&format!("message from worker {}: {} bytes, encoded and posted in {:.2} ms", message.kind(), bytes.len(), now() - start).into());
    }
}

fn now() -> f64 {
    scope().performance().map(|p| p.now()).unwrap_or(0.0)
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
        post(&FromWorker::Crashed { error: WorkerError::device(format!("The training worker stopped: {cause}")) });
    }));
    // Lives as long as the worker: the handler is never removed.
    let on_message = gloo_events::EventListener::new(&scope(), "message", |event| {
        let Some(event) = event.dyn_ref::<MessageEvent>() else { return };
        let bytes = js_sys::Uint8Array::new(&event.data()).to_vec();
        wasm_bindgen_futures::spawn_local(async move {
            match ToWorker::decode(&bytes) {
                Ok(message) => {
                    let request = message.request();
                    if let Err(error) = handle(message).await {
                        post(&FromWorker::Failed { request, error });
                    }
                }
                Err(e) => post(&FromWorker::Failed { request: Request::Unreadable, error: WorkerError::input(e) }),
            }
        });
    });
    on_message.forget();
    post(&FromWorker::Loaded);
}

/// Runs one request; its success answers are posted here, its failure by the caller.
async fn handle(message: ToWorker) -> Result<(), WorkerError> {
    match message {
        ToWorker::Cancel => with_state(|s| s.cancel = s.busy.is_some()),
        ToWorker::MemoryUsage => post(&FromWorker::MemoryUsage {
            wasm_bytes: crate::web::diagnostics::wasm_memory_bytes(),
            live_bytes: crate::web::diagnostics::live_heap_bytes(),
        }),
        ToWorker::SimulateFault => panic!("simulated GPU fault: device lost (test hook)"),
        // Not a Rust panic: a JavaScript exception escapes the worker, as a wasm trap or an
        // allocation failure would; only the Worker's error event tells the page.
        ToWorker::SimulateAbort => wasm_bindgen::throw_str("simulated abort: out of memory (test hook)"),
        ToWorker::Learn { config, train, test, compare } => {
            let device = device()?;
            let _busy = Busy::claim(Request::Learn)?;
            let outcome = learn(config, device, train, test, compare).await?;
            post(&FromWorker::StepDone { outcome: Box::new(outcome) });
        }
        ToWorker::Predict { sample } => {
            // A clone of the committed model: a step or restore that completes meanwhile
            // replaces the committed one, and nothing here writes it back.
            let learner = with_state(|s| s.learner.clone())
                .ok_or_else(|| WorkerError::input("Nothing has been learned yet: learn a step before asking for a prediction."))?;
            let mut rows = learner.predict(&[&sample]).await.map_err(|e| WorkerError::device(e.to_string()))?;
            let probabilities = rows.pop().ok_or_else(|| WorkerError::input("the model gave no prediction"))?;
            post(&FromWorker::Prediction { class_order: learner.class_order.clone(), probabilities });
        }
        ToWorker::Restore { model, accuracy, baseline, baseline_accuracy } => {
            let _busy = Busy::claim(Request::Restore)?;
            restore(model, accuracy, baseline, baseline_accuracy)?;
            post(&FromWorker::Restored);
        }
        ToWorker::MeasureSpeed { settings, branches } => {
            let device = device()?;
            let _busy = Busy::claim(Request::MeasureSpeed)?;
            measure_speed(&settings, &branches, &device).await.map_err(|e| WorkerError::device(e.to_string()))?;
            post(&FromWorker::SpeedDone);
        }
        ToWorker::Init { backend } => {
            let (device, info) = choose_device(backend).await;
            with_state(|s| s.device = Some(device));
            post(&FromWorker::BackendReady { backend: info });
        }
        ToWorker::TrainDemo { seed } => {
            let device = device()?;
            let _busy = Busy::claim(Request::TrainDemo)?;
            let (mut total, mut iterations) = (0.0, 0);
            let summaries = train_demo(&device, seed, |it| {
                total += it.millis;
                iterations += 1;
                post(&FromWorker::DemoIteration { iteration: it });
            })
            .await
            .map_err(|e| WorkerError::device(e.to_string()))?;
            post(&FromWorker::DemoDone {
                iterations,
                mean_millis: total / iterations.max(1) as f64,
                branch_params: summaries.iter().map(|s| (s.branch_params_before, s.branch_params_after)).collect(),
            });
        }
    }
    Ok(())
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
) -> Result<(), WorkerError> {
    let learner = load_learner(model, "model")?;
    let baseline = load_learner(baseline, "fine-tuning baseline")?;
    with_state(|s| {
        s.learner = learner;
        s.matrix = accuracy;
        s.baseline = baseline;
        s.baseline_matrix = baseline_accuracy;
    });
    Ok(())
}

fn load_learner(bytes: Option<Vec<u8>>, what: &str) -> Result<Option<Learner>, WorkerError> {
    let Some(bytes) = bytes else { return Ok(None) };
    let device = device()?;
    let archive = Archive::decode(&bytes).map_err(|e| WorkerError::input(format!("The saved {what} could not be read: {e}.")))?;
    Learner::import(&archive, device).map(Some).map_err(|e| WorkerError::input(format!("The saved {what} could not be used: {e}.")))
}

/// A failing device (a lost or failing GPU) is a device fault: the page then offers the CPU
/// and can run the step again there.
fn step_error(e: StepError) -> WorkerError {
    WorkerError { device_fault: matches!(e, StepError::Device(_)), message: e.to_string() }
}

fn read_error(e: ReadError) -> WorkerError {
    WorkerError::device(e.to_string())
}

/// Runs one step on the worker's learner (and on the fine-tuning baseline when comparing) and
/// describes the result for the page. Either both learners take the step or neither does.
async fn learn(config: LearnerConfig, device: Device, train: Dataset, test: Dataset, compare: bool) -> Result<StepOutcome, WorkerError> {
    // Clones: the committed learners stay in the state (and keep answering predictions) until
    // this step has fully succeeded. No restore can run meanwhile (the worker is busy).
    let (learner, matrix, baseline, baseline_matrix) =
        with_state(|s| (s.learner.clone(), s.matrix.clone(), s.baseline.clone(), s.baseline_matrix.clone()));
    let mut learner = learner.unwrap_or_else(|| Learner::new(config.clone(), device.clone()));
    learner.update_step_settings(&config);
    learner.learn_step(&train, &mut PageObserver { baseline: false }).await.map_err(step_error)?;
    let mut outcome = describe(&learner, matrix, learner.steps.last().cloned().expect("a step"), &test).await?;
    let mut baseline_model = None;
    let mut committed_baseline = None;
    if compare {
        let mut baseline = baseline.unwrap_or_else(|| {
            Learner::new(LearnerConfig { method: Method::Finetune, ..config.clone() }, device.clone())
        });
        baseline.update_step_settings(&config);
        // Nothing is committed yet: a failure or Cancel here leaves both learners as they were.
        baseline.learn_step(&train, &mut PageObserver { baseline: true }).await.map_err(step_error)?;
        let pairs = baseline.evaluate(&test).await.map_err(read_error)?;
        let mut matrix = baseline_matrix;
        matrix.push_step(baseline.steps.len(), &pairs, |label| baseline.step_of(label).unwrap_or(0));
        outcome.baseline = Some(BaselineOutcome {
            accuracy_rows: matrix.rows.clone(),
            accuracy_seen: matrix.seen.clone(),
            average_incremental_accuracy: matrix.average_incremental_accuracy(),
            forgetting: matrix.forgetting(),
        });
        baseline_model = Some(baseline.export().await.map_err(read_error)?.encode());
        committed_baseline = Some((baseline, matrix));
    }
    let model = learner.export().await.map_err(|e| WorkerError::device(format!("The model could not be saved: {e}")))?.encode();
    // Commit everything at once, with no await in between.
    with_state(|s| {
        s.matrix = AccuracyMatrix { rows: outcome.accuracy_rows.clone(), seen: outcome.accuracy_seen.clone() };
        s.learner = Some(learner);
        if let Some((baseline, matrix)) = committed_baseline {
            s.baseline = Some(baseline);
            s.baseline_matrix = matrix;
        }
    });
    post(&FromWorker::ModelSaved { model, baseline: baseline_model });
    Ok(outcome)
}

/// `matrix`: the committed accuracy history; this step's row is added to a copy, which
/// `learn` commits only if the whole step succeeds.
async fn describe(
    learner: &Learner,
    mut matrix: AccuracyMatrix,
    summary: crate::engine::learner::StepSummary,
    test: &Dataset,
) -> Result<StepOutcome, WorkerError> {
    let pairs = learner.evaluate(test).await.map_err(read_error)?;
    let steps = learner.steps.len();
    matrix.push_step(steps, &pairs, |label| learner.step_of(label).unwrap_or(0));
    let position = |label: usize| learner.class_order.iter().position(|&c| c == label).unwrap_or(usize::MAX);
    let indexed: Vec<(usize, usize)> = pairs.iter().map(|&(t, p)| (position(t), position(p))).collect();
    let network = learner.network().ok_or_else(|| WorkerError::input("no network after a step"))?;
    let last = network.branches.len() - 1;
    let mut branches = Vec::with_capacity(network.branches.len());
    for (i, branch) in network.branches.iter().enumerate() {
        let kept = ChannelSelection::from_masks(branch).await.map_err(read_error)?.counts();
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
