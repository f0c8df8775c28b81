//! The page: it mounts the rooms and lays them out. Each room is a component in its own file
//! and takes only the pieces of state it needs:
//!
//! - the classroom, a store ([`state::Classroom`]): classes, steps and their outcome, settings,
//!   all that a session saves; rooms get single fields of it;
//! - plain signals for what lives only while the page is open ([`state::Training`],
//!   [`state::Checks`], [`state::Asked`], [`saving::Saving`], the backend);
//! - context for what every room may use: the worker ([`link::WorkerLink`]), the notice
//!   ([`notice::Notice`]) and the camera's frames ([`camera::CameraFrames`]);
//! - [`loading::SessionLoad`], the one place that knows whether a session is loading.

mod camera;
mod captions;
mod cell_images;
mod class_card;
mod class_images;
mod classes;
mod device;
mod diagram;
mod engine_check;
mod evaluation;
mod explain;
mod icons;
mod link;
mod loading;
mod messages;
mod model_export;
mod motion;
mod notice;
mod predict;
mod progress;
mod representation;
mod saving;
mod session_bar;
mod settings;
mod shortcuts;
mod state;
mod step;
mod url;
mod views;
mod worker_client;

use leptos::prelude::*;
use leptos::task::spawn_local;
use reactive_stores::Store;

use crate::protocol::{BackendInfo, ToWorker};
use crate::web::browser::tab_lock::TabLock;
use camera::{CameraFrames, CameraPanel};
use captions::Help;
use classes::ClassesPanel;
use diagram::Diagram;
use engine_check::EngineCheck;
use evaluation::{EvaluationView, ResultsSummary};
use link::WorkerLink;
use loading::{Loader, restore_saved_session};
use messages::WorkerMessages;
use model_export::ModelExport;
use notice::{Notice, NoticeLine};
use predict::PredictPanel;
use progress::{LastStepSchedule, LossChart};
use representation::ParamsHistory;
use saving::{Saving, autosave};
use session_bar::{OtherTabNotice, SessionBar, StorageKept};
use settings::SettingsPanel;
use shortcuts::{Commands, Presenting, ShortcutBar};
use state::{Asked, Checks, Classroom, ClassroomStoreFields, Training};
use step::StepPanel;
use views::{View, ViewTabs};

/// Mounts the page on the document's body.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// The whole page: creates the state, starts the worker, restores the saved session, and lays
/// out the rooms.
#[component]
fn App() -> impl IntoView {
    let room = Store::new(Classroom::new());
    let backend = RwSignal::new(None::<BackendInfo>);
    let (training, checks, asked, saving) =
        (Training::new(), Checks::new(), Asked::new(), Saving::new());
    let (load, tab, notice) = (Loader::new(), TabLock::new(), Notice::new());
    let heartbeat = RwSignal::new(0u32);
    // Ticks while the page's thread is free: it keeps counting during training.
    set_interval(
        move || heartbeat.update(|n| *n += 1),
        std::time::Duration::from_millis(100),
    );

    let messages = WorkerMessages {
        room,
        backend,
        training,
        checks,
        asked,
        saving,
        load,
        notice,
    };
    let worker = WorkerLink::spawn(move |m| messages.handle(m));
    provide_context(worker);
    provide_context(notice);
    provide_context(asked);
    provide_context(CameraFrames::new());
    let (commands, presenting, help) = (Commands::new(), Presenting::new(), Help::new());
    provide_context(commands);
    provide_context(presenting);
    provide_context(help);
    shortcuts::listen(commands, presenting);
    let view = RwSignal::new(View::Classroom);
    // Presentation mode shows the classroom loop only.
    Effect::new(move |_| {
        if presenting.0.get() {
            view.set(View::Classroom);
        }
    });

    device::choose_device(room, backend, worker);
    if url::simulate("worker-fault") {
        worker.send(ToWorker::SimulateFault);
    }
    if url::simulate("worker-abort") {
        worker.send(ToWorker::SimulateAbort);
    }
    // Which tab owns the saved session is settled before it is read (only the owner may set an
    // unreadable one aside).
    spawn_local(async move {
        tab.claim().await;
        restore_saved_session(
            load,
            tab,
            saving.status,
            notice,
            "Welcome back: your session was restored from this browser",
        )
        .await;
    });
    // A loading session goes to the worker once it has a device.
    Effect::new(move |_| {
        if backend.with(Option::is_none) {
            return;
        }
        if let Some(restore) = load.to_send() {
            worker.send(restore);
        }
    });
    autosave(room, load, tab, saving);

    let step_running = Signal::derive(move || training.learning.with(Option::is_some));
    let shown = move |v: View| move || view.get() != v;
    let hint = Signal::derive(move || {
        if training.learning.with(Option::is_some) {
            "Learning: the new column’s channels brighten as they switch on and fade as they switch off.".to_string()
        } else if room.studio().with(|s| s.classes.is_empty()) {
            "Start here: add a class (N), or try the sample classes.".to_string()
        } else if room.selected().with(Vec::is_empty) {
            "Tick the classes for the next step, then press Learn (L).".to_string()
        } else {
            "Press Learn (L) to teach the network the ticked classes.".to_string()
        }
    });
    view! {
        <header class="top">
            <h1>"DER Studio"</h1>
            <ViewTabs view=view />
            <SessionBar room=room load=load tab=tab saving=saving step_running=step_running />
            <div class="header-actions">
                <button class="quiet help" data-testid="help" aria-label="How DER works (help)" aria-pressed=move || help.0.get().to_string()
                    on:click=move |_| help.0.update(|open| *open = !*open)>"?"</button>
                <button data-testid="present" aria-pressed=move || presenting.0.get().to_string() on:click=move |_| presenting.toggle()>
                    {move || if presenting.0.get() { "Exit presentation" } else { "Present" }}
                </button>
            </div>
        </header>
        <main>
        <div class="alerts">
            <OtherTabNotice load=load tab=tab save_status=saving.status />
            <NoticeLine hint=hint />
        </div>
        <div class="view classroom" id="view-classroom" role="tabpanel" aria-labelledby="tab-classroom" hidden=shown(View::Classroom)>
            <div class="loop-classes">
                <ClassesPanel studio=room.studio().into() selected=room.selected().into() />
                <CameraPanel studio=room.studio().into() />
            </div>
            <div class="loop-learn">
                <StepPanel studio=room.studio().into() selected=room.selected().into() config=room.config().into()
                    outcome=room.outcome().into() comparison=room.comparison().into() augmentation=room.augmentation().into() training=training backend=backend load=load tab=tab />
                <Diagram studio=room.studio().into() outcome=room.outcome().into() config=room.config().into() training=training />
            </div>
            <div class="loop-predict">
                <PredictPanel studio=room.studio().into() outcome=room.outcome().into() asked=asked />
                <ResultsSummary outcome=room.outcome().into() on_details=move || view.set(View::Results) />
            </div>
        </div>
        <div class="view results" id="view-results" role="tabpanel" aria-labelledby="tab-results" tabindex="0" hidden=shown(View::Results)>
            <EvaluationView studio=room.studio().into() outcome=room.outcome().into() />
            <section class="card" aria-labelledby="curves-title">
                <h2 id="curves-title">"Training curves of the last step"</h2>
                <LastStepSchedule outcome=room.outcome().into() />
                <LossChart losses=training.losses />
            </section>
            <ParamsHistory params_history=room.params_history().into() />
            <ModelExport room=room />
        </div>
        <div class="view settings-view" id="view-settings" role="tabpanel" aria-labelledby="tab-settings" hidden=shown(View::Settings)>
            <SettingsPanel config=room.config().into() studio=room.studio().into() selected=room.selected().into() outcome=room.outcome().into() augmentation=room.augmentation().into() />
        </div>
        <div class="view check-view" id="view-check" role="tabpanel" aria-labelledby="tab-check" hidden=shown(View::Check)>
            <EngineCheck checks=checks backend=backend step_running=step_running last_save=saving.last />
        </div>
        </main>
        <footer>
            <BackendBadge backend=backend measuring=checks.measuring_devices />
            <StorageKept persistent=saving.persistent />
            <span class="privacy">"Runs and saves only in this browser. Nothing is uploaded."</span>
            // Shown in presentation mode (style.css), and with the help.
            <ShortcutBar />
            <span class="heartbeat" data-testid="heartbeat" aria-hidden="true">{move || heartbeat.get()}</span>
        </footer>
    }
}

/// Which device the worker trains on, and why: forced by the URL, the measured times of both
/// devices, or the GPU skipped (none, or only a software renderer).
#[component]
fn BackendBadge(
    /// The worker's device, once it has one.
    backend: RwSignal<Option<BackendInfo>>,
    /// The worker is timing its devices before it chooses.
    measuring: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="badge" data-testid="backend" data-kind=move || backend.get().map(|b| b.kind).unwrap_or_default()
            title=move || backend.get().and_then(|b| b.reason).unwrap_or_default()>
            {move || match backend.get() {
                None if measuring.get() => "Measuring this computer…".to_string(),
                None => "Starting the training worker…".to_string(),
                Some(b) if b.kind == "webgpu" => format!("WebGPU · {}", b.adapter),
                Some(b) => format!("CPU · {}", b.adapter),
            }}
            <small data-testid="backend-reason">{move || backend.get().and_then(|b| b.reason).unwrap_or_default()}</small>
        </div>
    }
}
