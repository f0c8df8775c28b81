//! The page: classes and their samples, the next step's picker, live training, the
//! representation view (branches, locked and pruned channels) and the evaluation.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::engine::report::{DemoIteration, Phase, Progress};
use crate::engine::LearnerConfig;
use crate::protocol::{BackendChoice, BackendInfo, BranchView, FromWorker, Request, SpeedCase, SpeedSettings, StepOutcome, ToWorker};
use crate::session::Session;
use crate::studio::Studio;
use crate::web::storage;
use crate::web::images::{bundled_digit, decode_upload, draw_sample, fetch_bytes};
use crate::web::tab_lock::{Ownership, TabLock};

mod saving;
use saving::{ask_to_keep_storage, autosave, restore_saved_session, SessionBar};
use crate::web::worker_client::WorkerClient;

/// The model's input side in pixels, until the user picks another in the settings.
const INPUT_SIZE: usize = 32;

pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// `?backend=cpu` forces the CPU (useful when a classroom GPU misbehaves).
fn backend_from_url() -> BackendChoice {
    match url_param("backend").as_deref() {
        Some("cpu") => BackendChoice::Cpu,
        _ => BackendChoice::Auto,
    }
}

fn url_param(name: &str) -> Option<String> {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search).ok().and_then(|p| p.get(name))
}

/// `?simulate=worker-fault` makes the worker fail as a GPU fault would (for tests);
/// `?simulate=fault-in-step` does so a moment after a step starts; `?simulate=worker-abort` kills
/// the worker without a Rust panic.
fn simulate_fault_from_url() -> bool {
    url_param("simulate").as_deref() == Some("worker-fault")
}

/// Settings for a classroom step: small enough to finish in about a minute.
fn classroom_config() -> LearnerConfig {
    // λs 0.5: a classroom step is short and has a few dozen images per class, so the masks
    // need a stronger push than on a large data set to switch channels off visibly.
    let mut config = LearnerConfig {
        epochs: 20,
        memory_total: 120,
        relearn_epochs: 20,
        lambda_sparsity: 0.5,
        ..LearnerConfig::default()
    };
    config.backbone.input_size = INPUT_SIZE;
    config.backbone.width = 8;
    config
}

/// One save of the session in this browser.
#[derive(Clone, Copy, Debug, PartialEq)]
struct SaveFigures {
    /// The whole saved session (what Export would write, near enough).
    session_bytes: usize,
    /// What this save wrote: the meta and the classes whose images changed.
    written_bytes: usize,
    /// Encoding and writing, in milliseconds.
    millis: f64,
}

/// Everything the page shows, as signals.
#[derive(Clone, Copy)]
struct PageState {
    backend: RwSignal<Option<BackendInfo>>,
    studio: RwSignal<Studio>,
    selected: RwSignal<Vec<usize>>,
    learning: RwSignal<Option<Vec<usize>>>,
    progress: RwSignal<Option<Progress>>,
    losses: RwSignal<Vec<CurvePoint>>,
    outcome: RwSignal<Option<StepOutcome>>,
    params_history: RwSignal<Vec<(usize, usize)>>,
    notice: RwSignal<Option<(String, bool)>>,
    demo_steps: RwSignal<Vec<DemoIteration>>,
    demo_running: RwSignal<bool>,
    demo_mean_millis: RwSignal<Option<f64>>,
    /// Each check step's new branch: parameters before and after pruning.
    demo_pruned: RwSignal<Vec<(usize, usize)>>,
    gpu_error: RwSignal<bool>,
    config: RwSignal<LearnerConfig>,
    /// The image last sent for prediction, and the answer: (label, probability) per class.
    probe: RwSignal<Option<Vec<u8>>>,
    prediction: RwSignal<Vec<(usize, f32)>>,
    /// The worker's learner as a model file, updated after every step.
    model: RwSignal<Option<Vec<u8>>>,
    /// A session waiting for the worker to load its model (restore, import or start over);
    /// the page changes nothing until the worker accepts it.
    pending: RwSignal<Option<(Session, String)>>,
    restore_sent: RwSignal<bool>,
    /// Autosave starts once the saved session has been read (so it is never overwritten first).
    can_save: RwSignal<bool>,
    save_status: RwSignal<(String, bool)>,
    /// The worker died during a step: continuing on the CPU runs that step again.
    interrupted_step: RwSignal<bool>,
    /// Set after a restore with `?resume=step`: the step panel starts the saved step.
    auto_learn: RwSignal<bool>,
    speed: RwSignal<Vec<SpeedCase>>,
    speed_running: RwSignal<bool>,
    /// Naive fine-tuning learns beside DER (chosen before the first step).
    compare: RwSignal<bool>,
    baseline_model: RwSignal<Option<Vec<u8>>>,
    /// The progress shown is the baseline's (it trains after DER's step).
    training_baseline: RwSignal<bool>,
    /// Whether this tab may save the session (another tab may have it open).
    tab: TabLock,
    /// Whether the browser keeps this site's storage when space runs low (None: not known yet).
    persistent: RwSignal<Option<bool>>,
    /// The last save.
    last_save: RwSignal<Option<SaveFigures>>,
    /// What the browser holds of each class's images since the last save: (images, image
    /// size) by class id, so a save writes only the classes that changed. `None`: the page
    /// holds a session it has not saved whole yet (restored, imported, started over).
    saved_images: StoredValue<Option<std::collections::HashMap<usize, (usize, usize)>>, leptos::prelude::LocalStorage>,
    /// Changes not saved yet (a save is scheduled or running).
    unsaved: RwSignal<bool>,
    /// The worker's wasm memory and the bytes its Rust side holds, as last reported.
    worker_memory: RwSignal<Option<(f64, f64)>>,
}

impl PageState {
    fn new() -> Self {
        Self {
            backend: RwSignal::new(None),
            studio: RwSignal::new(Studio::new(INPUT_SIZE)),
            selected: RwSignal::new(Vec::new()),
            learning: RwSignal::new(None),
            progress: RwSignal::new(None),
            losses: RwSignal::new(Vec::new()),
            outcome: RwSignal::new(None),
            params_history: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            demo_steps: RwSignal::new(Vec::new()),
            demo_running: RwSignal::new(false),
            demo_mean_millis: RwSignal::new(None),
            demo_pruned: RwSignal::new(Vec::new()),
            gpu_error: RwSignal::new(false),
            config: RwSignal::new(classroom_config()),
            probe: RwSignal::new(None),
            prediction: RwSignal::new(Vec::new()),
            model: RwSignal::new(None),
            pending: RwSignal::new(None),
            restore_sent: RwSignal::new(false),
            can_save: RwSignal::new(false),
            save_status: RwSignal::new((String::new(), false)),
            interrupted_step: RwSignal::new(false),
            auto_learn: RwSignal::new(false),
            speed: RwSignal::new(Vec::new()),
            speed_running: RwSignal::new(false),
            compare: RwSignal::new(false),
            baseline_model: RwSignal::new(None),
            training_baseline: RwSignal::new(false),
            tab: TabLock::new(),
            persistent: RwSignal::new(None),
            last_save: RwSignal::new(None),
            saved_images: StoredValue::new_local(None),
            unsaved: RwSignal::new(false),
            worker_memory: RwSignal::new(None),
        }
    }

    /// The step `ids` would be: (classes seen after it, training images it would copy to the
    /// worker, exemplars included). Learn and the settings panel check the settings against it.
    fn planned_step(&self, ids: &[usize]) -> (usize, usize) {
        let (seen, images) = self.studio.with(|s| {
            let seen = s.classes.iter().filter(|c| c.learned_in_step.is_some() || ids.contains(&c.id)).count();
            (seen, s.train_count(ids))
        });
        let exemplars = self.outcome.with(|o| o.as_ref().map_or(0, |o| o.memory.iter().map(|(_, m)| m.len()).sum::<usize>()));
        (seen, images + exemplars)
    }

    /// The session as a file, the studio's images lent rather than copied.
    fn encoded_session(&self) -> Vec<u8> {
        let rest = self.session_without_images();
        self.studio.with_untracked(|studio| rest.encode_with_studio(studio))
    }

    fn session_without_images(&self) -> Session {
        Session {
            studio: Studio::new(INPUT_SIZE),
            config: self.config.get_untracked(),
            outcome: self.outcome.get_untracked(),
            params_history: self.params_history.get_untracked(),
            model: self.model.get_untracked(),
            selected: self.selected.get_untracked(),
            compare: self.compare.get_untracked(),
            baseline: self.baseline_model.get_untracked(),
        }
    }

    /// Replaces what the page shows with `session` (its model is already in the worker).
    fn apply(&self, session: Session) {
        self.saved_images.set_value(None);
        self.studio.set(session.studio);
        self.config.set(session.config);
        self.outcome.set(session.outcome);
        self.params_history.set(session.params_history);
        self.model.set(session.model);
        self.selected.set(session.selected);
        self.compare.set(session.compare);
        self.baseline_model.set(session.baseline);
        self.losses.set(Vec::new());
        self.probe.set(None);
        self.prediction.set(Vec::new());
    }

    fn say(&self, message: impl Into<String>, is_error: bool) {
        self.notice.set(Some((message.into(), is_error)));
    }

    fn on_worker(&self, message: FromWorker) {
        match message {
            FromWorker::Loaded => {}
            FromWorker::BackendReady { backend } => self.backend.set(Some(backend)),
            FromWorker::DemoIteration { iteration } => self.demo_steps.update(|s| s.push(iteration)),
            FromWorker::DemoDone { mean_millis, branch_params, .. } => {
                self.demo_running.set(false);
                self.demo_mean_millis.set(Some(mean_millis));
                self.demo_pruned.set(branch_params);
            }
            FromWorker::StepProgress { progress, baseline } => {
                self.training_baseline.set(baseline);
                if progress.phase == Phase::Train && !baseline {
                    self.losses.update(|l| {
                        l.push(CurvePoint {
                            loss: progress.loss,
                            classification: progress.loss_classifier,
                            auxiliary: progress.loss_aux,
                            sparsity: progress.loss_sparsity,
                            accuracy: progress.train_accuracy,
                        })
                    });
                }
                self.progress.set(Some(progress));
            }
            FromWorker::StepDone { outcome } => {
                let ids = self.learning.get_untracked().unwrap_or_default();
                let step = outcome.summary.step;
                self.studio.update(|s| s.mark_learned(&ids, step));
                self.params_history.update(|h| {
                    let previous = h.last().copied().unwrap_or((0, 0));
                    let s = &outcome.summary;
                    h.push((previous.0 + s.branch_params_after, previous.1 + s.branch_params_before));
                });
                self.selected.set(Vec::new());
                self.learning.set(None);
                self.progress.set(None);
                self.say(
                    format!(
                        "Step {} learned in {:.0} s. Accuracy on every class so far: {:.0}%.",
                        step + 1,
                        outcome.summary.train_seconds,
                        outcome.accuracy_seen.last().copied().unwrap_or(0.0) * 100.0
                    ),
                    false,
                );
                self.outcome.set(Some(*outcome));
                // Something worth keeping now exists: ask the browser to keep it.
                let state = *self;
                spawn_local(async move { ask_to_keep_storage(state).await });
            }
            FromWorker::ModelSaved { model, baseline } => {
                self.model.set(Some(model));
                self.baseline_model.set(baseline);
            }
            FromWorker::SpeedMeasured { case } => self.speed.update(|s| s.push(case)),
            FromWorker::SpeedDone => self.speed_running.set(false),
            FromWorker::Restored => {
                self.restore_sent.set(false);
                if let Some((session, message)) = self.pending.get_untracked() {
                    self.pending.set(None);
                    let resume = url_param("resume").as_deref() == Some("step") && !session.selected.is_empty();
                    let learned = session.outcome.is_some();
                    self.apply(session);
                    if learned {
                        let state = *self;
                        spawn_local(async move { ask_to_keep_storage(state).await });
                    }
                    self.can_save.set(true);
                    self.say(message, false);
                    self.auto_learn.set(resume);
                }
            }
            FromWorker::Failed { request: Request::Restore, error } => {
                self.restore_sent.set(false);
                self.pending.set(None);
                self.can_save.set(true);
                self.say(error.message, true);
            }
            // A failing device (a lost GPU) is a worker fault: the page offers the CPU.
            FromWorker::Failed { request: Request::Learn, error } if !error.device_fault => {
                self.learning.set(None);
                self.progress.set(None);
                self.say(error.message, true);
            }
            // Nothing learned yet, or a prediction the model could not answer: live
            // prediction stops (its next frame waits for an answer) and says why.
            FromWorker::Failed { request: Request::Predict, error } if !error.device_fault => {
                self.prediction.set(Vec::new());
                self.say(error.message, true);
            }
            FromWorker::MemoryUsage { wasm_bytes, live_bytes } => self.worker_memory.set(Some((wasm_bytes, live_bytes))),
            FromWorker::Prediction { class_order, probabilities } => {
                self.prediction.set(class_order.into_iter().zip(probabilities).collect());
            }
            FromWorker::Crashed { error } | FromWorker::Failed { error, .. } => {
                let gpu = error.device_fault;
                self.interrupted_step.set(gpu && self.learning.get_untracked().is_some());
                self.speed_running.set(false);
                self.demo_running.set(false);
                self.learning.set(None);
                self.gpu_error.set(gpu);
                self.say(error.message, true);
            }
        }
    }
}

#[component]
fn App() -> impl IntoView {
    let state = PageState::new();
    let heartbeat = RwSignal::new(0u32);
    // Ticks while the page's thread is free: it keeps counting during training.
    set_interval(move || heartbeat.update(|n| *n += 1), std::time::Duration::from_millis(100));

    let client = match WorkerClient::spawn("./worker_loader.js", move |m| state.on_worker(m)) {
        Ok(c) => Some(c),
        Err(e) => {
            state.say(e, true);
            None
        }
    };
    let client = StoredValue::new_local(client);
    let send = move |message: ToWorker| {
        client.with_value(|c| {
            if let Some(c) = c {
                c.send(message)
            }
        })
    };
    send(ToWorker::Init { backend: backend_from_url() });
    if simulate_fault_from_url() {
        send(ToWorker::SimulateFault);
    }
    if url_param("simulate").as_deref() == Some("worker-abort") {
        send(ToWorker::SimulateAbort);
    }
    // Which tab owns the saved session is settled before it is read (only the owner may set an
    // unreadable one aside).
    spawn_local(async move {
        state.tab.claim().await;
        restore_saved_session(state, "Welcome back: your session was restored from this browser").await;
    });
    // A pending session goes to the worker once it has a device.
    Effect::new(move |_| {
        if state.backend.get().is_none() || state.restore_sent.get() {
            return;
        }
        if let Some((session, _)) = state.pending.get() {
            state.restore_sent.set(true);
            send(ToWorker::Restore {
                model: session.model.clone(),
                accuracy: session.accuracy(),
                baseline: session.baseline.clone(),
                baseline_accuracy: session.baseline_accuracy(),
            });
        }
    });
    autosave(state);

    view! {
        <header class="top">
            <div>
                <h1>"DER Studio"</h1>
                <p class="tagline">"Teach a neural network new classes, one step at a time — and watch it keep the old ones."</p>
            </div>
            <BackendBadge backend=state.backend />
        </header>
        <main>
            <SessionBar state=state />
            <Notice state=state />
            <ClassesPanel state=state />
            <CameraPanel state=state />
            <StepPanel state=state send=send />
            <SettingsPanel state=state />
            <PredictPanel state=state send=send />
            <RepresentationView state=state />
            <EvaluationView state=state />
            <EngineCheck state=state send=send />
        </main>
        <footer>
            <span>"Everything runs in your browser and is saved only in this browser. Nothing is uploaded."</span>
            <span class="heartbeat" data-testid="heartbeat">{move || heartbeat.get()}</span>
        </footer>
    }
}

#[component]
fn BackendBadge(backend: RwSignal<Option<BackendInfo>>) -> impl IntoView {
    view! {
        <div class="badge" data-testid="backend" data-kind=move || backend.get().map(|b| b.kind).unwrap_or_default()>
            {move || match backend.get() {
                None => "Starting the training worker…".to_string(),
                Some(b) if b.kind == "webgpu" => format!("WebGPU · {}", b.adapter),
                Some(b) => format!("CPU · {}", b.adapter),
            }}
            <small>{move || backend.get().and_then(|b| b.fallback_reason).unwrap_or_default()}</small>
        </div>
    }
}

#[component]
fn Notice(state: PageState) -> impl IntoView {
    view! {
        <Show when=move || state.notice.get().is_some()>
            <div
                class=move || if state.notice.get().map(|(_, e)| e).unwrap_or(false) { "notice error" } else { "notice" }
                role="status"
                data-testid="notice"
            >
                <span>{move || state.notice.get().map(|(m, _)| m).unwrap_or_default()}</span>
                <Show when=move || state.gpu_error.get()>
                    <a class="button" data-testid="continue-on-cpu"
                        href=move || if state.interrupted_step.get() { "?backend=cpu&resume=step" } else { "?backend=cpu" }>
                        {move || if state.interrupted_step.get() { "Continue on the CPU (runs the step again)" } else { "Continue on the CPU" }}
                    </a>
                </Show>
                <button class="quiet" on:click=move |_| state.notice.set(None) aria-label="Dismiss">"×"</button>
            </div>
        </Show>
    }
}

/// Loads digits 0–5 as six classes of 40 real MNIST images each.
async fn load_sample_classes(state: PageState) {
    let bytes = match fetch_bytes("www/samples/mnist-28.bin").await {
        Ok(b) => b,
        Err(e) => return state.say(format!("The sample classes could not be loaded: {e}"), true),
    };
    state.studio.update(|studio| {
        for digit in 0..6 {
            let name = format!("Digit {digit}");
            let Ok(id) = studio.add_class(&name) else { continue };
            for i in 0..40 {
                if let Some(pixels) = bundled_digit(&bytes, digit, i, studio.input_size) {
                    let _ = studio.add_sample(id, pixels);
                }
            }
        }
    });
    let first_two: Vec<usize> = state.studio.get_untracked().classes.iter().take(2).map(|c| c.id).collect();
    state.selected.set(first_two);
    state.say("Six digit classes added. Digits 0 and 1 are picked for the first step: press “Learn”.", false);
}

#[component]
fn ClassesPanel(state: PageState) -> impl IntoView {
    let new_name = RwSignal::new(String::new());
    let add = move || match state.studio.try_update(|s| s.add_class(&new_name.get_untracked())) {
        Some(Ok(_)) => new_name.set(String::new()),
        Some(Err(e)) => state.say(e, true),
        None => {}
    };
    let class_ids = move || state.studio.with(|s| s.classes.iter().map(|c| c.id).collect::<Vec<usize>>());
    let drop_folders = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        let Some(data) = ev.data_transfer() else { return };
        let entries = crate::web::drop::entries(&data);
        spawn_local(async move {
            let dropped = crate::web::drop::collect(entries).await;
            if dropped.folders.is_empty() {
                if !dropped.files.is_empty() {
                    state.say("Drop images onto a class card, or drop a folder here to make a class of it.", true);
                }
                return;
            }
            let mut added_total = 0;
            let mut problems = Vec::new();
            let mut classes = Vec::new();
            for (name, files) in dropped.folders {
                let existing = state.studio.with_untracked(|s| {
                    s.classes.iter().find(|c| c.name.to_lowercase() == name.trim().to_lowercase() && c.learned_in_step.is_none()).map(|c| c.id)
                });
                let id = match existing {
                    Some(id) => id,
                    None => match state.studio.try_update(|s| s.add_class(&name)) {
                        Some(Ok(id)) => id,
                        Some(Err(e)) => {
                            problems.push(format!("Folder “{name}”: {e}"));
                            continue;
                        }
                        None => continue,
                    },
                };
                let (added, mut skipped) = add_files(state, id, files).await;
                added_total += added;
                problems.append(&mut skipped);
                classes.push(name);
            }
            let message = format!("Classes from folders: {}.", classes.join(", "));
            if problems.is_empty() {
                state.say(format!("{message} Added {added_total} images."), false);
            } else {
                state.say(format!("{message} Added {added_total} images. Skipped: {}", problems.join(" ")), true);
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="classes-title"
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=drop_folders>
            <div class="row spread">
                <h2 id="classes-title">"Classes"</h2>
                <button data-testid="try-samples" on:click=move |_| spawn_local(load_sample_classes(state))
                    disabled=move || state.studio.with(|s| !s.classes.is_empty())>
                    "Try it with sample classes"
                </button>
            </div>
            <Show when=move || state.studio.with(|s| s.classes.is_empty())>
                <p class="empty">"No classes yet. Add one by name and upload pictures, drop a folder of pictures here (a folder of folders makes one class per folder), or try the built-in handwritten digits."</p>
            </Show>
            <form class="row" on:submit=move |ev| { ev.prevent_default(); add(); }>
                <input type="text" placeholder="New class name" aria-label="New class name" data-testid="class-name"
                    prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev)) />
                <button type="submit" data-testid="add-class">"Add class"</button>
            </form>
            <div class="classes">
                <For each=class_ids key=|id| *id let:id>
                    <ClassCard state=state id=id />
                </For>
            </div>
        </section>
    }
}

#[component]
fn ClassCard(state: PageState, id: usize) -> impl IntoView {
    // Reads one field of this class without cloning its images (a class may hold thousands).
    let name = move || state.studio.with(|s| s.class(id).map(|c| c.name.clone()).ok());
    let count = move || state.studio.with(|s| s.class(id).map(|c| c.samples.len()).unwrap_or(0));
    let learned = move || state.studio.with(|s| s.class(id).ok().and_then(|c| c.learned_in_step));
    let picked = move || state.selected.get().contains(&id);
    let toggle = move |_| {
        state.selected.update(|s| if s.contains(&id) { s.retain(|&x| x != id) } else { s.push(id) })
    };
    let upload = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(files) = input.files() else { return };
        let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        input.set_value("");
        spawn_local(async move {
            let (added, problems) = add_files(state, id, files).await;
            report_added(state, added, &problems);
        });
    };
    let drop_files = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        ev.stop_propagation();
        let Some(list) = ev.data_transfer().and_then(|d| d.files()) else { return };
        let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        if learned().is_some() {
            return state.say("This class is already learned: drop images onto a new class.", true);
        }
        spawn_local(async move {
            let (added, problems) = add_files(state, id, files).await;
            report_added(state, added, &problems);
        });
    };
    let rename = move |_| {
        let Some(current) = name() else { return };
        let answer = web_sys::window().and_then(|w| w.prompt_with_message_and_default("New name for the class", &current).ok().flatten());
        if let Some(name) = answer {
            if let Some(Err(e)) = state.studio.try_update(|s| s.rename(id, &name)) {
                state.say(e, true);
            }
        }
    };
    let thumb_indices = move || (0..count().min(12)).collect::<Vec<usize>>();
    view! {
        <article class="class-card" class:learned=move || learned().is_some() data-testid="class-card"
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=drop_files>
            <header class="row spread">
                <button class="name" title="Rename" data-testid="class-title" on:click=rename>{move || name().unwrap_or_default()}</button>
                <span class="count" data-testid="sample-count">{count} " samples"</span>
            </header>
            <div class="thumbs">
                <For each=thumb_indices key=|i| *i let:i>
                    <Thumb pixels=Memo::new(move |_| state.studio.with(|s| s.class(id).ok().and_then(|c| c.samples.get(i)).map(|s| s.pixels.clone())).unwrap_or_default()).into() />
                </For>
            </div>
            {move || match learned() {
                Some(step) => view! { <p class="lock"><span class="pill locked">"locked"</span>" learned in step " {step + 1}</p> }.into_any(),
                None => view! {
                    <div class="row">
                        <label class="pick">
                            <input type="checkbox" prop:checked=picked on:change=toggle data-testid="pick" />
                            " In the next step"
                        </label>
                        <label class="button small">
                            "Upload images"
                            <input type="file" accept="image/*" multiple class="visually-hidden" on:change=upload data-testid="upload" />
                        </label>
                        <button class="quiet small" on:click=move |_| {
                            if let Some(Err(e)) = state.studio.try_update(|s| s.delete(id)) { state.say(e, true) }
                            state.selected.update(|s| s.retain(|&x| x != id));
                        }>"Delete"</button>
                    </div>
                }.into_any(),
            }}
        </article>
    }
}

/// Decodes and adds `files` to class `id`: (images added, a message per file skipped).
/// Images join the class in batches, so a folder of thousands re-renders the page a few dozen
/// times rather than once per image; every decode awaits the browser, so the page keeps
/// answering meanwhile.
async fn add_files(state: PageState, id: usize, files: Vec<web_sys::File>) -> (usize, Vec<String>) {
    const BATCH: usize = 100;
    let mut problems = Vec::new();
    let mut added = 0;
    let mut decoded = Vec::with_capacity(BATCH);
    let total = files.len();
    let flush = |decoded: &mut Vec<Vec<u8>>, problems: &mut Vec<String>| -> (usize, bool) {
        let batch = std::mem::take(decoded);
        match state.studio.try_update(|s| s.add_samples(id, batch)) {
            Some((n, None)) => (n, false),
            Some((n, Some(refused))) => {
                problems.push(refused);
                (n, true)
            }
            None => (0, true),
        }
    };
    for (index, file) in files.into_iter().enumerate() {
        match decode_upload(&file, state.studio.with_untracked(|s| s.input_size)).await {
            Ok(pixels) => decoded.push(pixels),
            Err(e) => problems.push(e),
        }
        if decoded.len() == BATCH {
            let (n, full) = flush(&mut decoded, &mut problems);
            added += n;
            if full {
                if let Some(last) = problems.last_mut() {
                    *last = format!("{last} {} more files were not read.", total - index - 1);
                }
                return (added, problems);
            }
        }
    }
    if !decoded.is_empty() {
        added += flush(&mut decoded, &mut problems).0;
    }
    (added, problems)
}

fn report_added(state: PageState, added: usize, problems: &[String]) {
    if problems.is_empty() {
        state.say(format!("Added {added} images."), false);
    } else {
        state.say(format!("Added {added} images. Skipped: {}", problems.join(" ")), true);
    }
}

/// One sample drawn at its real resolution (scaled up by CSS).
#[component]
fn Thumb(pixels: Signal<Vec<u8>>) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        if let Some(c) = canvas.get() {
            let pixels = pixels.get();
            // The side follows from the pixel count (3 × side × side).
            let side = ((pixels.len() / 3) as f64).sqrt() as usize;
            draw_sample(&c, &pixels, side);
        }
    });
    view! { <canvas node_ref=canvas class="thumb" width="32" height="32"></canvas> }
}

#[component]
fn StepPanel(state: PageState, send: impl Fn(ToWorker) + Copy + Send + Sync + 'static) -> impl IntoView {
    let learn = move |_: ()| {
        let ids = state.selected.get_untracked();
        let mut config = state.config.get_untracked();
        // Read in place: the studio may hold thousands of images, only the step's are copied.
        let (classes_seen, images) = state.planned_step(&ids);
        let checked = state.studio.with_untracked(|studio| {
            let first = studio.classes.iter().all(|c| c.learned_in_step.is_none());
            studio.check_step(&ids, first)?;
            config.backbone.input_size = studio.input_size;
            // Settings that cannot work are refused here, before anything trains.
            config.check_for_step(classes_seen, images)?;
            let mut seen: Vec<usize> = studio.classes.iter().filter(|c| c.learned_in_step.is_some()).map(|c| c.id).collect();
            seen.extend(&ids);
            Ok::<_, String>((studio.train_set(&ids), studio.test_set(&seen)))
        });
        let (train, test) = match checked {
            Ok(sets) => sets,
            Err(e) => return state.say(e, true),
        };
        state.losses.set(Vec::new());
        state.notice.set(None);
        state.learning.set(Some(ids.clone()));
        state.training_baseline.set(false);
        send(ToWorker::Learn { config, train, test, compare: state.compare.get_untracked() });
        if url_param("simulate").as_deref() == Some("fault-in-step") {
            set_timeout(move || send(ToWorker::SimulateFault), std::time::Duration::from_millis(1500));
        }
    };
    // A step interrupted by a worker fault runs again once the session is back (on the CPU).
    Effect::new(move |_| {
        if state.auto_learn.get() && state.backend.get().is_some() && state.pending.get().is_none() {
            state.auto_learn.set(false);
            learn(());
            state.say("Running the interrupted step again on the CPU…", false);
        }
    });
    let names = move || {
        let selected = state.selected.get();
        state.studio.with(|studio| selected.iter().filter_map(|&id| studio.class(id).ok().map(|c| c.name.clone())).collect::<Vec<_>>().join(", "))
    };
    view! {
        <section class="card" aria-labelledby="step-title">
            <h2 id="step-title">{move || format!("Step {}", state.outcome.get().map(|o| o.summary.step + 2).unwrap_or(1))}</h2>
            <p>{move || if state.selected.get().is_empty() { "Tick “In the next step” on the classes to learn now.".to_string() } else { format!("Will learn: {}", names()) }}</p>
            <div class="row">
                <button class="primary" data-testid="learn" on:click=move |_| learn(())
                    disabled=move || state.learning.get().is_some() || state.backend.get().is_none() || state.pending.get().is_some()
                        || matches!(state.tab.ownership.get(), Ownership::OtherTab | Ownership::TakenOver)>
                    {move || if state.learning.get().is_some() { "Learning…" } else { "Learn" }}
                </button>
                <Show when=move || state.learning.get().is_some()>
                    <button data-testid="cancel" on:click=move |_| send(ToWorker::Cancel)>"Cancel"</button>
                </Show>
            </div>
            <label class="pick">
                <input type="checkbox" data-testid="compare" prop:checked=move || state.compare.get()
                    disabled=move || state.outcome.get().is_some() || state.learning.get().is_some()
                    on:change=move |ev| state.compare.set(event_target_checked(&ev)) />
                " Also train naive fine-tuning on the same steps, to see what DER prevents (choose before the first step; steps take longer)"
            </label>
            <Show when=move || state.learning.get().is_some()>
                <TrainingProgress state=state />
            </Show>
        </section>
    }
}

#[component]
fn TrainingProgress(state: PageState) -> impl IntoView {
    let fraction = move || {
        state.progress.get().map(|p| match p.phase {
            Phase::Train if p.epochs > 0 => (p.epoch as f64 + p.batch as f64 / p.batches.max(1) as f64) / p.epochs as f64,
            Phase::Train => 0.0,
            _ => 1.0,
        }).unwrap_or(0.0)
    };
    let label = move || match state.progress.get() {
        None => "Preparing…".to_string(),
        Some(p) => match p.phase {
            Phase::Train => {
                let f = fraction();
                let left = if f > 0.02 { p.elapsed_seconds * (1.0 - f) / f } else { f64::NAN };
                format!(
                    "{}Epoch {}/{} · batch {}/{} · loss {:.3} · train accuracy {:.0}%{}",
                    if state.training_baseline.get() { "Fine-tuning baseline · " } else { "" },
                    p.epoch + 1, p.epochs, p.batch, p.batches, p.loss, p.train_accuracy * 100.0,
                    if left.is_finite() { format!(" · about {left:.0} s left") } else { String::new() }
                )
            }
            Phase::Prune => "Pruning the new branch…".into(),
            Phase::Relearn => "Re-learning the classifier on a balanced set…".into(),
            Phase::Memory => "Choosing exemplars…".into(),
        },
    };
    view! {
        <div class="progress" data-testid="progress">
            <div class="bar"><div class="fill" style:width=move || format!("{:.1}%", fraction() * 100.0)></div></div>
            <p class="progress-label">{label}</p>
            <LossChart losses=state.losses />
            <GateStrips state=state />
        </div>
    }
}

/// One progress report of the step being trained, for the live curves.
#[derive(Clone, Copy, Debug, PartialEq)]
struct CurvePoint {
    loss: f32,
    classification: f32,
    auxiliary: f32,
    /// L_S, already a fraction (0–1).
    sparsity: f32,
    /// Training accuracy (0–1).
    accuracy: f32,
}

/// The loss and its parts (scaled to the largest loss so far) and the sparsity loss and
/// training accuracy (on a fixed 0–1 scale), per progress report.
#[component]
fn LossChart(losses: RwSignal<Vec<CurvePoint>>) -> impl IntoView {
    let line = move |value: fn(&CurvePoint) -> f32, fraction: bool| {
        let l = losses.get();
        let max = if fraction {
            1.0
        } else {
            l.iter().map(|p| p.loss.max(p.classification).max(p.auxiliary)).fold(0.0f32, f32::max).max(1e-6)
        };
        let n = l.len().max(2) - 1;
        l.iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", 10.0 + 380.0 * i as f32 / n as f32, 110.0 - 100.0 * (value(p) / max).clamp(0.0, 1.0)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    view! {
        <svg class="chart" viewBox="0 0 400 120" role="img" aria-label="loss, its parts and training accuracy during training">
            <line x1="10" y1="110" x2="390" y2="110" class="axis" />
            <polyline points=move || line(|p| p.loss, false) class="loss-line" />
            <polyline points=move || line(|p| p.classification, false) class="part cls" />
            <polyline points=move || line(|p| p.auxiliary, false) class="part aux" />
            <polyline points=move || line(|p| p.sparsity, true) class="part sparsity" />
            <polyline points=move || line(|p| p.accuracy, true) class="part accuracy" />
        </svg>
        <p class="legend">
            <span class="key total"></span>"total loss "<span class="key cls"></span>"classification "
            <span class="key aux"></span>"auxiliary "<span class="key sparsity"></span>"sparsity (0–1) "
            <span class="key accuracy"></span>"training accuracy (0–100%)"
        </p>
    }
}

/// The new branch's channel gates, live: one strip per layer, one cell per channel.
#[component]
fn GateStrips(state: PageState) -> impl IntoView {
    view! {
        <div class="gates" data-testid="gates">
            {move || state.progress.get().map(|p| p.gate_masks.iter().map(|mask| view! {
                <div class="strip">
                    {mask.iter().map(|&m| view! {
                        <span class="cell" style:opacity=format!("{:.2}", 0.1 + 0.9 * m)></span>
                    }).collect_view()}
                </div>
            }).collect_view())}
        </div>
    }
}

#[component]
fn RepresentationView(state: PageState) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="rep-title">
            <h2 id="rep-title">"The representation"</h2>
            {move || match state.outcome.get() {
                None => view! { <p class="empty">"After the first step, each learned step appears here as a branch of the network."</p> }.into_any(),
                Some(o) => {
                    let before: usize = o.summary.params_before_prune;
                    view! {
                        <p>
                            "One column per step. Older branches are locked (their weights never change again); the newest is highlighted. Each row is a layer; a filled square is a channel kept, an empty one a channel pruned away."
                        </p>
                        <div class="branches" data-testid="branches">
                            {o.branches.iter().enumerate().map(|(i, b)| view! { <BranchColumn index=i branch=b.clone() /> }).collect_view()}
                        </div>
                        <p class="summary" data-testid="params">
                            {format!("Last step: {} → {} parameters after pruning ({:.0}% removed).",
                                before, o.summary.params_after_prune,
                                100.0 * (1.0 - o.summary.params_after_prune as f64 / before.max(1) as f64))}
                        </p>
                        <ParamsChart history=state.params_history />
                    }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn BranchColumn(index: usize, branch: BranchView) -> impl IntoView {
    let rows = branch
        .gate_names
        .iter()
        .zip(branch.kept.iter().zip(&branch.total))
        .map(|(name, (&kept, &total))| {
            view! {
                <div class="layer" title=format!("{name}: {kept} of {total} channels kept")>
                    {(0..total).map(|c| view! { <span class="ch" class:kept=c < kept></span> }).collect_view()}
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="branch" class:frozen=branch.frozen class:newest=!branch.frozen data-testid="branch" data-frozen=branch.frozen.to_string()>
            <h3>"Step " {index + 1} " "
                {if branch.frozen { view! { <span class="pill locked">"locked"</span> } } else { view! { <span class="pill new">"new"</span> } }}
            </h3>
            {rows}
            <p class="params">{branch.params} " parameters"</p>
        </div>
    }
}

/// Total parameters after each step, with and without pruning: bars, and the numbers.
#[component]
fn ParamsChart(history: RwSignal<Vec<(usize, usize)>>) -> impl IntoView {
    let bars = move || {
        let h = history.get();
        let max = h.iter().map(|&(_, without)| without).max().unwrap_or(1).max(1) as f32;
        let width = 360.0 / h.len().max(1) as f32;
        h.iter()
            .enumerate()
            .map(|(i, &(with, without))| {
                let x = 30.0 + i as f32 * width;
                let tall = |v: usize| 100.0 * v as f32 / max;
                view! {
                    <rect class="bar-without" x=format!("{:.1}", x) y=format!("{:.1}", 110.0 - tall(without))
                        width=format!("{:.1}", width * 0.4) height=format!("{:.1}", tall(without)) />
                    <rect class="bar-with" x=format!("{:.1}", x + width * 0.42) y=format!("{:.1}", 110.0 - tall(with))
                        width=format!("{:.1}", width * 0.4) height=format!("{:.1}", tall(with)) />
                    <text x=format!("{:.1}", x + width * 0.4) y="124" class="tick">{i + 1}</text>
                }
            })
            .collect_view()
    };
    view! {
        <svg class="chart params-chart" viewBox="0 0 400 130" role="img" aria-label="total branch parameters after each step, with and without pruning" data-testid="params-chart">
            <line x1="25" y1="110" x2="395" y2="110" class="axis" />
            {bars}
        </svg>
        <p class="legend"><span class="key without"></span>"without pruning "<span class="key with"></span>"with pruning (what DER Studio keeps), after each step"</p>
        <table class="params-table" data-testid="params-history">
            <thead><tr><th>"After step"</th><th>"branch parameters with pruning"</th><th>"without pruning"</th></tr></thead>
            <tbody>
                {move || history.get().iter().enumerate().map(|(i, (with, without))| view! {
                    <tr><td>{i + 1}</td><td>{*with}</td><td>{*without}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn EvaluationView(state: PageState) -> impl IntoView {
    let name = move |label: usize| {
        state.studio.with(|s| s.class(label).map(|c| c.name.clone()).unwrap_or_else(|_| format!("#{label}")))
    };
    view! {
        <section class="card" aria-labelledby="eval-title">
            <h2 id="eval-title">"Does it still know the old classes?"</h2>
            {move || match state.outcome.get() {
                None => view! { <p class="empty">"Accuracy on images kept aside from training (about 15% of each class) appears here after each step."</p> }.into_any(),
                Some(o) => view! {
                    <table class="matrix" data-testid="accuracy-matrix">
                        <thead><tr><th>"after step"</th>
                            {(0..o.accuracy_rows.len()).map(|j| view! { <th>"classes of step " {j + 1}</th> }).collect_view()}
                            <th>"all seen"</th></tr></thead>
                        <tbody>
                            {o.accuracy_rows.iter().zip(&o.accuracy_seen).enumerate().map(|(i, (row, seen))| view! {
                                <tr><th>{i + 1}</th>
                                    {(0..o.accuracy_rows.len()).map(|j| match row.get(j) {
                                        Some(a) => view! { <td style:background=format!("rgba(47,111,237,{:.2})", a * 0.35)>{format!("{:.0}%", a * 100.0)}</td> }.into_any(),
                                        None => view! { <td class="na"></td> }.into_any(),
                                    }).collect_view()}
                                    <td><strong>{format!("{:.0}%", seen * 100.0)}</strong></td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p class="summary">{format!("Average incremental accuracy {:.1}% · forgetting {:.1} points",
                        o.average_incremental_accuracy * 100.0, o.forgetting * 100.0)}</p>
                    {o.baseline.clone().map(|b| view! {
                        <h3>"DER against naive fine-tuning (same steps, same images)"</h3>
                        <table class="matrix" data-testid="comparison">
                            <thead><tr><th>"after step"</th><th>"DER: all classes seen"</th><th>"fine-tuning: all classes seen"</th></tr></thead>
                            <tbody>{o.accuracy_seen.iter().zip(&b.accuracy_seen).enumerate().map(|(i, (d, f))| view! {
                                <tr><th>{i + 1}</th><td>{format!("{:.0}%", d * 100.0)}</td><td class:bad=*f < d - 0.1>{format!("{:.0}%", f * 100.0)}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                        <p class="summary" data-testid="comparison-summary">{format!(
                            "Forgetting: DER {:.1} points, fine-tuning {:.1} points. Fine-tuning has one network that is retrained on the new classes only, so it overwrites what it knew.",
                            o.forgetting * 100.0, b.forgetting * 100.0)}</p>
                    })}
                    <h3>"Confusion (rows: true class, columns: predicted)"</h3>
                    <table class="matrix confusion" data-testid="confusion">
                        <thead><tr><th></th>{o.class_order.iter().map(|&l| view! { <th>{name(l)}</th> }).collect_view()}</tr></thead>
                        <tbody>{o.confusion.iter().enumerate().map(|(t, row)| view! {
                            <tr><th>{name(o.class_order[t])}</th>{row.iter().map(|&n| view! { <td class:diag=false>{n}</td> }).collect_view()}</tr>
                        }).collect_view()}</tbody>
                    </table>
                    <h3>"Memory: the exemplars kept by herding"</h3>
                    <div class="memory" data-testid="memory">
                        {o.memory.iter().map(|(label, samples)| view! {
                            <div class="memory-class"><span>{name(*label)}</span>
                                <div class="thumbs">{samples.iter().take(10).map(|s| {
                                    let pixels = s.pixels.clone();
                                    view! { <Thumb pixels=Signal::derive(move || pixels.clone()) /> }
                                }).collect_view()}</div>
                            </div>
                        }).collect_view()}
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn EngineCheck(state: PageState, send: impl Fn(ToWorker) + Copy + Send + Sync + 'static) -> impl IntoView {
    let run_demo = move |_| {
        state.demo_steps.set(Vec::new());
        state.demo_mean_millis.set(None);
        state.demo_pruned.set(Vec::new());
        state.demo_running.set(true);
        send(ToWorker::TrainDemo { seed: 42 });
    };
    view! {
        <section class="card" aria-labelledby="check-title">
            <h2 id="check-title">"Engine check"</h2>
            <p>"Runs two real DER steps (two classes each) on a small built-in pattern set in the background worker: masks, pruning, re-learning and memory included. Each step's loss should fall; the page stays responsive."</p>
            <button data-testid="train-demo" on:click=run_demo
                disabled=move || state.demo_running.get() || state.learning.get().is_some() || state.backend.get().is_none()>
                {move || if state.demo_running.get() { "Checking…" } else { "Run engine check" }}
            </button>
            <p data-testid="demo-summary" class="summary">
                {move || {
                    let s = state.demo_steps.get();
                    // Epoch means: within an epoch the loss swings as the mask scale anneals.
                    let per_step = |step: usize| {
                        let mean = |epoch: usize| {
                            let l: Vec<f32> = s.iter().filter(|i| i.der_step == step && i.epoch == epoch).map(|i| i.loss).collect();
                            (!l.is_empty()).then(|| l.iter().sum::<f32>() / l.len() as f32)
                        };
                        let last = s.iter().filter(|i| i.der_step == step).map(|i| i.epoch).max()?;
                        Some(format!("step {}: mean loss {:.3} → {:.3}", step + 1, mean(0)?, mean(last)?))
                    };
                    match (s.last(), state.demo_mean_millis.get()) {
                        (Some(_), Some(ms)) => {
                            let pruned: Vec<String> = state.demo_pruned.get().iter().enumerate()
                                .map(|(i, (before, after))| if after < before {
                                    format!("branch {} pruned {before} → {after} parameters", i + 1)
                                } else {
                                    // Ten iterations rarely push a mask below zero; classroom steps do.
                                    format!("branch {} kept all {before} parameters", i + 1)
                                }).collect();
                            let steps: Vec<String> = (0..2).filter_map(per_step).collect();
                            format!("{} · {} · {ms:.0} ms per iteration", steps.join(", "), pruned.join(", "))
                        }
                        (Some(last), None) => format!("DER step {}, epoch {} · loss {:.3}", last.der_step + 1, last.epoch + 1, last.loss),
                        _ => String::new(),
                    }
                }}
            </p>
            <ol class="steps" data-testid="demo-steps">
                <For each=move || state.demo_steps.get() key=|s| s.iteration let:s>
                    <li data-loss=s.loss.to_string() data-millis=s.millis.to_string() data-step=s.der_step data-epoch=s.epoch>
                        {format!("step {} · epoch {} · loss {:.4} · {:.0} ms", s.der_step + 1, s.epoch + 1, s.loss, s.millis)}
                    </li>
                </For>
            </ol>
            <h3>"Speed"</h3>
            <p>"Times one training iteration (batch 32) with 1, 3 and 5 branches, and a prediction for one image with 5 branches."</p>
            <button data-testid="measure-speed"
                on:click=move |_| {
                    state.speed.set(Vec::new());
                    state.speed_running.set(true);
                    let iterations = if state.backend.get_untracked().is_some_and(|b| b.kind == "webgpu") { 3 } else { 10 };
                    send(ToWorker::MeasureSpeed { settings: SpeedSettings { batch: 32, width: 8, iterations }, branches: vec![1, 3, 5] });
                }
                disabled=move || state.speed_running.get() || state.demo_running.get() || state.learning.get().is_some() || state.backend.get().is_none()>
                {move || if state.speed_running.get() { "Measuring…" } else { "Measure speed" }}
            </button>
            <MemoryUsage state=state send=send />
            <Show when=move || !state.speed.get().is_empty()>
                <table class="params-table" data-testid="speed-table" data-done=move || (!state.speed_running.get()).to_string()>
                    <thead><tr><th>"case"</th><th>"branches"</th><th>"median"</th><th>"fastest"</th></tr></thead>
                    <tbody>
                        {move || state.speed.get().into_iter().map(|c| {
                            let per_second = (c.case.starts_with("predict")).then(|| format!(" ({:.0} per second)", 1000.0 / c.median_ms));
                            view! {
                                <tr data-case=c.case.clone() data-branches=c.branches data-median=c.median_ms.to_string()>
                                    <td>{c.case.clone()}</td><td>{c.branches}</td>
                                    <td>{format!("{:.1} ms", c.median_ms)}{per_second.unwrap_or_default()}</td>
                                    <td>{format!("{:.1} ms", c.min_ms)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </Show>
        </section>
    }
}

/// What the page and the worker hold in memory, measured on request (classroom-scale checks).
#[component]
fn MemoryUsage(state: PageState, send: impl Fn(ToWorker) + Copy + Send + Sync + 'static) -> impl IntoView {
    use crate::web::diagnostics::{browser_measure, js_heap_bytes, live_heap_bytes, wasm_memory_bytes};
    let page = RwSignal::new(None::<(f64, Option<f64>, f64)>);
    let browser = RwSignal::new(None::<f64>);
    let measure = move |_| {
        page.set(Some((wasm_memory_bytes(), js_heap_bytes(), live_heap_bytes())));
        state.worker_memory.set(None);
        browser.set(None);
        send(ToWorker::MemoryUsage);
        spawn_local(async move { browser.set(browser_measure().await) });
    };
    let mb = |b: f64| storage::megabytes(b);
    let attr = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_default();
    view! {
        <h3>"Memory"</h3>
        <p>
            <button class="small" data-testid="measure-memory" on:click=measure>"Measure memory"</button>
            <span data-testid="memory-usage"
                data-page-wasm=move || attr(page.get().map(|p| p.0)) data-page-heap=move || attr(page.get().and_then(|p| p.1))
                data-page-live=move || attr(page.get().map(|p| p.2))
                data-worker-wasm=move || attr(state.worker_memory.get().map(|w| w.0)) data-worker-live=move || attr(state.worker_memory.get().map(|w| w.1))
                data-saved=move || attr(state.last_save.get().map(|s| s.session_bytes as f64))
                data-browser=move || attr(browser.get())>
                {move || match (page.get(), state.worker_memory.get()) {
                    (Some((wasm, heap, live)), worker) => format!(
                        " Page: {} (wasm, {} in use){} · worker: {} · last save: {}",
                        mb(wasm),
                        mb(live),
                        heap.map(|h| format!(" + {} (JavaScript)", mb(h))).unwrap_or_default(),
                        worker.map(|(wasm, live)| format!("{} (wasm, {} in use)", mb(wasm), mb(live))).unwrap_or_else(|| "…".into()),
                        state.last_save.get().map(|s| format!("{} ({} written) in {:.0} ms", mb(s.session_bytes as f64), mb(s.written_bytes as f64), s.millis)).unwrap_or_else(|| "none yet".into()),
                    ) + &browser.get().map(|b| format!(" · JavaScript of page and worker, as the browser measures it: {}", mb(b))).unwrap_or_default(),
                    _ => String::new(),
                }}
            </span>
        </p>
    }
}

/// One numeric setting with its help text.
#[component]
fn NumberSetting(
    label: &'static str,
    help: &'static str,
    testid: &'static str,
    value: Signal<f64>,
    set: impl Fn(f64) + Send + Sync + 'static,
    step: &'static str,
    #[prop(optional)] locked: Option<Signal<bool>>,
) -> impl IntoView {
    let locked = locked.unwrap_or(Signal::derive(|| false));
    let apply = move |text: String| {
        if let Ok(v) = text.parse::<f64>() {
            if v.is_finite() && v >= 0.0 {
                set(v)
            }
        }
    };
    view! {
        <label class="setting">
            <span class="setting-name">{label}</span>
            <input type="number" step=step data-testid=testid prop:value=move || value.get().to_string()
                disabled=move || locked.get()
                on:change=move |ev| { apply(event_target_value(&ev)) } />
            <small>{help}</small>
        </label>
    }
}

#[component]
fn SettingsPanel(state: PageState) -> impl IntoView {
    let c = state.config;
    let learned_any = Signal::derive(move || state.outcome.get().is_some());
    view! {
        <details class="card settings">
            <summary><h2>"Settings"</h2></summary>
            <div class="settings-grid">
                <NumberSetting label="Epochs" testid="epochs" step="1" value=Signal::derive(move || c.get().epochs as f64)
                    set=move |v| c.update(|c| c.epochs = v as usize)
                    help="Passes over the step's images. More learns better but takes longer." />
                <NumberSetting label="Learning rate" testid="learning-rate" step="0.01" value=Signal::derive(move || c.get().learning_rate)
                    set=move |v| c.update(|c| c.learning_rate = v)
                    help="Size of each update. Lower it if the loss jumps or becomes NaN." />
                <NumberSetting label="Batch size" testid="batch-size" step="1" value=Signal::derive(move || c.get().batch_size as f64)
                    set=move |v| c.update(|c| c.batch_size = v as usize)
                    help="Images per update." />
                <NumberSetting label="λa (auxiliary loss)" testid="lambda-aux" step="0.1" value=Signal::derive(move || c.get().lambda_aux as f64)
                    set=move |v| c.update(|c| c.lambda_aux = v as f32)
                    help="How much the new branch must tell new classes apart on its own." />
                <NumberSetting label="λs (sparsity)" testid="lambda-sparsity" step="0.1" value=Signal::derive(move || c.get().lambda_sparsity as f64)
                    set=move |v| c.update(|c| c.lambda_sparsity = v as f32)
                    help="How hard the masks push channels off. Higher prunes more." />
                <NumberSetting label="Memory size" testid="memory" step="10" value=Signal::derive(move || c.get().memory_total as f64)
                    set=move |v| c.update(|c| c.memory_total = v as usize)
                    help="Old images kept (chosen by herding) and replayed in later steps." />
                <NumberSetting label="Backbone width" testid="width" step="4" value=Signal::derive(move || c.get().backbone.width as f64)
                    set=move |v| c.update(|c| c.backbone.width = v as usize) locked=learned_any
                    help="Channels of the first layer of each branch. Fixed after the first step." />
                <label class="setting">
                    <span class="setting-name">"Image size"</span>
                    <select data-testid="input-size" disabled=move || learned_any.get()
                        prop:value=move || state.studio.with(|s| s.input_size.to_string())
                        on:change=move |ev| {
                            let Ok(size) = event_target_value(&ev).parse::<usize>() else { return };
                            match state.studio.try_update(|s| s.set_input_size(size)) {
                                Some(Ok(())) => c.update(|c| c.backbone.input_size = size),
                                Some(Err(e)) => state.say(e, true),
                                None => {}
                            }
                        }>
                        {[16usize, 24, 32, 48, 64].into_iter().map(|n| view! { <option value=n.to_string()>{format!("{n} × {n} pixels")}</option> }).collect_view()}
                    </select>
                    <small>"Every image is scaled to this square. Larger sees more detail but trains more slowly. Fixed after the first step."</small>
                </label>
            </div>
            // The same rule Learn applies, shown as soon as a setting cannot work.
            {move || {
                let selected = state.selected.get();
                let (seen, images) = state.planned_step(&selected);
                // No step picked yet: nothing to say about the batch size.
                let images = if selected.is_empty() { 0 } else { images };
                c.with(|c| c.check_for_step(seen, images).err()).map(|e| view! { <p class="setting-problem error" role="alert" data-testid="settings-problem">{e}</p> })
            }}

        </details>
    }
}

/// Shows what the model says about one image: a kept-aside sample or an uploaded picture.
#[component]
fn PredictPanel(state: PageState, send: impl Fn(ToWorker) + Copy + Send + Sync + 'static) -> impl IntoView {
    let counter = RwSignal::new(0usize);
    let ask = move |pixels: Vec<u8>| {
        state.probe.set(Some(pixels.clone()));
        state.prediction.set(Vec::new());
        send(ToWorker::Predict { sample: crate::engine::Sample { pixels, label: 0 } });
    };
    let kept_aside = move |_| {
        let studio = state.studio.get_untracked();
        let learned: Vec<usize> = studio.classes.iter().filter(|c| c.learned_in_step.is_some()).map(|c| c.id).collect();
        let test = studio.test_set(&learned);
        if test.is_empty() {
            return state.say("Learn a step first: then there are kept-aside images to test.", true);
        }
        let n = counter.get_untracked();
        counter.set(n.wrapping_add(7));
        ask(test.samples[n % test.len()].pixels.clone());
    };
    let upload = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        spawn_local(async move {
            match decode_upload(&file, state.studio.with_untracked(|s| s.input_size)).await {
                Ok(pixels) => ask(pixels),
                Err(e) => state.say(e, true),
            }
        });
    };
    // Live mode: every answer triggers the next camera frame, so there is one prediction in
    // flight at a time and the rate is whatever the backend sustains.
    let live = RwSignal::new(false);
    let answered = StoredValue::new(Vec::<f64>::new());
    let rate = RwSignal::new(0.0f64);
    let camera_frame = move || -> Option<Vec<u8>> {
        let document = web_sys::window()?.document()?;
        let video: web_sys::HtmlVideoElement =
            document.query_selector("[data-testid=camera-preview]").ok()??.dyn_into().ok()?;
        crate::web::camera::grab(&video, state.studio.with_untracked(|s| s.input_size), 0).map(|s| s.pixels)
    };
    Effect::new(move |_| {
        if state.prediction.with(Vec::is_empty) || !live.get_untracked() {
            return;
        }
        let now = web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0);
        answered.update_value(|t| {
            t.push(now);
            t.retain(|&x| now - x <= 2000.0);
            let span = (now - t[0]).max(1.0);
            rate.set(if t.len() > 1 { (t.len() - 1) as f64 * 1000.0 / span } else { 0.0 });
        });
        match camera_frame() {
            Some(pixels) => {
                state.probe.set(Some(pixels.clone()));
                send(ToWorker::Predict { sample: crate::engine::Sample { pixels, label: 0 } });
            }
            None => {
                live.set(false);
                state.say("The camera stopped, so live prediction stopped.", true);
            }
        }
    });
    let toggle_live = move |_| {
        if live.get_untracked() {
            return live.set(false);
        }
        match camera_frame() {
            Some(pixels) => {
                answered.set_value(Vec::new());
                rate.set(0.0);
                live.set(true);
                ask(pixels);
            }
            None => state.say("Turn on the camera first (in the Camera panel), then press Live again.", true),
        }
    };
    let name = move |label: usize| state.studio.with(|s| s.class(label).map(|c| c.name.clone()).unwrap_or_default());
    view! {
        <section class="card" aria-labelledby="predict-title">
            <h2 id="predict-title">"Ask the model"</h2>
            <Show when=move || state.outcome.get().is_some() fallback=|| view! {
                <p class="empty">"After the first step you can show the model an image and see what it thinks."</p>
            }>
                <div class="row">
                    <button data-testid="predict-kept-aside" on:click=kept_aside>"Test a kept-aside image"</button>
                    <label class="button">"Upload an image"
                        <input type="file" accept="image/*" class="visually-hidden" on:change=upload data-testid="predict-upload" />
                    </label>
                    <button data-testid="live" class:primary=move || live.get() on:click=toggle_live>
                        {move || if live.get() { "Stop live".to_string() } else { "Live from the camera".to_string() }}
                    </button>
                    <Show when=move || live.get()>
                        <span class="rate" data-testid="live-rate" data-rate=move || format!("{:.1}", rate.get())>
                            {move || format!("{:.0} predictions per second", rate.get())}
                        </span>
                    </Show>
                </div>
                <div class="predict row">
                    {move || state.probe.get().map(|pixels| view! { <Thumb pixels=Signal::derive(move || pixels.clone()) /> })}
                    <div class="bars" data-testid="prediction">
                        {move || state.prediction.get().into_iter().map(|(label, p)| view! {
                            <div class="bar-row">
                                <span class="bar-name">{name(label)}</span>
                                <span class="bar-track"><span class="bar-value" style:width=format!("{:.1}%", p * 100.0)></span></span>
                                <span class="bar-number">{format!("{:.0}%", p * 100.0)}</span>
                            </div>
                        }).collect_view()}
                    </div>
                </div>
            </Show>
        </section>
    }
}

/// Live camera with "hold to record" into an unlearned class.
#[component]
fn CameraPanel(state: PageState) -> impl IntoView {
    use crate::web::camera;
    let video = NodeRef::<leptos::html::Video>::new();
    let stream = StoredValue::new_local(None::<web_sys::MediaStream>);
    let timer = StoredValue::new_local(None::<leptos::leptos_dom::helpers::IntervalHandle>);
    let live = RwSignal::new(false);
    let starting = RwSignal::new(false);
    let recording = RwSignal::new(false);
    let captured = RwSignal::new(0usize);
    let cameras = RwSignal::new(Vec::<camera::CameraInfo>::new());
    let target = RwSignal::new(None::<usize>);
    let open_classes = move || {
        state.studio.with(|s| s.classes.iter().filter(|c| c.learned_in_step.is_none()).map(|c| (c.id, c.name.clone())).collect::<Vec<_>>())
    };
    // Keep the target on a class that can still take images.
    Effect::new(move |_| {
        let open = open_classes();
        let current = target.get();
        if !current.is_some_and(|t| open.iter().any(|(id, _)| *id == t)) {
            let first = open.first().map(|(id, _)| *id);
            // Setting a signal re-runs this effect: only set a different value.
            if first != current {
                target.set(first);
            }
        }
    });
    let stop_recording = move || {
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        timer.set_value(None);
        recording.set(false);
    };
    let shut = move || {
        stop_recording();
        if let Some(s) = stream.get_value() {
            camera::stop(&s);
        }
        stream.set_value(None);
        live.set(false);
    };
    let start = move |device: Option<String>| {
        shut();
        starting.set(true);
        spawn_local(async move {
            match camera::open(device.as_deref()).await {
                Ok(s) => {
                    camera::on_ended(&s, move || {
                        let had = captured.get_untracked();
                        let was_recording = recording.get_untracked();
                        shut();
                        state.say(
                            if was_recording {
                                format!("The camera stopped (was it unplugged?). The {had} images captured so far are kept.")
                            } else {
                                "The camera stopped (was it unplugged?). Start it again when it is back.".to_string()
                            },
                            true,
                        );
                    });
                    if let Some(v) = video.get_untracked() {
                        v.set_src_object(Some(&s));
                        camera::playing(&v).await;
                    }
                    stream.set_value(Some(s));
                    live.set(true);
                    cameras.set(camera::cameras().await);
                }
                Err(message) => state.say(message, true),
            }
            starting.set(false);
        });
    };
    let begin = move || {
        if recording.get_untracked() || !live.get_untracked() {
            return;
        }
        let Some(id) = target.get_untracked() else {
            return state.say("Add a class first: the camera's images go into a class.", true);
        };
        captured.set(0);
        recording.set(true);
        let handle = leptos::leptos_dom::helpers::set_interval_with_handle(
            move || {
                let Some(v) = video.get_untracked() else { return };
                let Some(sample) = camera::grab(&v, state.studio.with_untracked(|s| s.input_size), id) else { return };
                match state.studio.try_update(|s| s.add_sample(id, sample.pixels)) {
                    Some(Ok(())) => captured.update(|n| *n += 1),
                    Some(Err(e)) => {
                        stop_recording();
                        state.say(e, true);
                    }
                    None => {}
                }
            },
            std::time::Duration::from_millis(100),
        )
        .ok();
        timer.set_value(handle);
    };
    let end = move || {
        if recording.get_untracked() {
            stop_recording();
            state.say(format!("Recorded {} images.", captured.get_untracked()), false);
        }
    };
    let key_down = move |ev: leptos::ev::KeyboardEvent| {
        if (ev.key() == " " || ev.key() == "Enter") && !ev.repeat() {
            ev.prevent_default();
            begin();
        }
    };
    let key_up = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == " " || ev.key() == "Enter" {
            ev.prevent_default();
            end();
        }
    };
    on_cleanup(move || shut());
    view! {
        <section class="card camera" aria-labelledby="camera-title">
            <div class="row spread">
                <h2 id="camera-title">"Camera"</h2>
                <Show when=move || !live.get() fallback=move || view! {
                    <button class="quiet small" on:click=move |_| shut() data-testid="camera-stop">"Turn off"</button>
                }>
                    <button data-testid="camera-start" on:click=move |_| start(None) disabled=move || starting.get()>
                        {move || if starting.get() { "Starting…" } else { "Use the camera" }}
                    </button>
                </Show>
            </div>
            <div class="camera-body" class:off=move || !live.get()>
                <video node_ref=video class="preview" autoplay=true muted=true playsinline=true data-testid="camera-preview"></video>
                <div class="camera-controls">
                    <Show when=move || live.get() fallback=|| view! {
                        <p class="empty">"Show objects to the camera and hold the record button: about 10 pictures a second go into the chosen class. Only the centre square is used."</p>
                    }>
                        <Show when=move || { cameras.get().len() > 1 }>
                            <label>"Camera "
                                <select data-testid="camera-choice" on:change=move |ev| start(Some(event_target_value(&ev)))>
                                    {move || cameras.get().into_iter().map(|c| view! { <option value=c.id.clone()>{c.label.clone()}</option> }).collect_view()}
                                </select>
                            </label>
                        </Show>
                        <label>"Record into "
                            <select data-testid="camera-class" on:change=move |ev| target.set(event_target_value(&ev).parse().ok())
                                prop:value=move || target.get().map(|t| t.to_string()).unwrap_or_default()>
                                {move || open_classes().into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                            </select>
                        </label>
                        <button class="primary record" class:recording=move || recording.get() data-testid="record"
                            disabled=move || target.get().is_none()
                            on:pointerdown=move |_| begin() on:pointerup=move |_| end() on:pointerleave=move |_| end()
                            on:pointercancel=move |_| end() on:keydown=key_down on:keyup=key_up>
                            {move || if recording.get() { format!("Recording… {}", captured.get()) } else { "Hold to record".to_string() }}
                        </button>
                    </Show>
                </div>
            </div>
        </section>
    }
}
