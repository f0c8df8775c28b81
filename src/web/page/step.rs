//! The step room: what the next step will learn, Learn and Cancel, the comparison choice, and
//! the running step's progress.

use leptos::prelude::*;
use reactive_stores::Field;

use super::link::WorkerLink;
use super::loading::Loader;
use super::notice::Notice;
use super::progress::TrainingProgress;
use super::shortcuts::{Commands, on_command};
use super::state::{Training, planned_step};
use super::url::simulate;
use crate::classroom::outcome::Comparison;
use crate::classroom::studio::Studio;
use crate::engine::LearnerConfig;
use crate::engine::augment::Augment;
use crate::protocol::{BackendInfo, StepOutcome, ToWorker};
use crate::web::browser::tab_lock::{Ownership, TabLock};

/// The next step: its classes, Learn, and its progress while it runs.
#[component]
pub fn StepPanel(
    /// The classes (the step's images are copied from here).
    studio: Field<Studio>,
    /// The classes picked for the step.
    selected: Field<Vec<usize>>,
    /// The step's settings, checked before anything trains.
    config: Field<LearnerConfig>,
    /// The last step's outcome: the step number, its exemplars, and whether comparing is fixed.
    outcome: Field<Option<StepOutcome>>,
    /// The baselines that learn beside DER.
    comparison: Field<Comparison>,
    /// The augmentation the user chose (`None`: by the images' source).
    augmentation: Field<Option<Augment>>,
    /// The running step.
    training: Training,
    /// Learn waits for the worker's device.
    #[prop(into)]
    backend: Signal<Option<BackendInfo>>,
    /// Learn waits for a loading session; a resumed session runs its interrupted step again.
    load: Loader,
    /// Learn is off in a tab that does not own the session.
    tab: TabLock,
) -> impl IntoView {
    let notice = Notice::get();
    let worker = WorkerLink::get();
    let learn = move || {
        let ids = selected.get_untracked();
        let mut config = config.get_untracked();
        // Read in place: the studio may hold thousands of images, only the step's are copied.
        let (classes_seen, images) = planned_step(studio, outcome, &ids);
        let checked = studio.with_untracked(|studio| {
            let first = studio.classes.iter().all(|c| c.learned_in_step.is_none());
            studio.check_step(&ids, first)?;
            config.backbone.input_size = studio.input_size;
            config.augment = augmentation
                .get_untracked()
                .unwrap_or_else(|| studio.augmentation_for(&ids));
            // Settings that cannot work are refused here, before anything trains.
            config.check_for_step(classes_seen, images)?;
            let mut seen: Vec<usize> = studio
                .classes
                .iter()
                .filter(|c| c.learned_in_step.is_some())
                .map(|c| c.id)
                .collect();
            seen.extend(&ids);
            Ok::<_, String>((studio.train_set(&ids), studio.test_set(&seen)))
        });
        let (train, test) = match checked {
            Ok(sets) => sets,
            Err(e) => return notice.say(e, true),
        };
        training.losses.set(Vec::new());
        training.masks.set(None);
        notice.clear();
        training.learning.set(Some(ids.clone()));
        training.baseline.set(None);
        worker.send(ToWorker::Learn {
            config,
            train,
            test,
            comparison: comparison.get_untracked(),
        });
        if simulate("fault-in-step") {
            set_timeout(
                move || worker.send(ToWorker::SimulateFault),
                std::time::Duration::from_millis(1500),
            );
        }
    };
    // A step interrupted by a worker fault runs again once the session is back (on the CPU).
    Effect::new(move |_| {
        if backend.with(Option::is_some) && load.take_resume() {
            learn();
            notice.say("Running the interrupted step again on the CPU…", false);
        }
    });
    let names = move || {
        let selected = selected.get();
        studio.with(|studio| {
            selected
                .iter()
                .filter_map(|&id| studio.class(id).ok().map(|c| c.name.clone()))
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let running = move || training.learning.with(Option::is_some);
    let commands = Commands::get();
    on_command(commands.learn, move || {
        if !running() && backend.with(Option::is_some) && !load.is_loading() {
            learn();
        }
    });
    on_command(commands.cancel, move || {
        if running() {
            worker.send(ToWorker::Cancel);
        }
    });
    view! {
        <section class="card step-card" aria-labelledby="step-title">
            <div class="row spread">
                <h2 id="step-title">{move || format!("Step {}", outcome.with(|o| o.as_ref().map(|o| o.summary.step + 2).unwrap_or(1)))}</h2>
                <p class="will-learn" data-testid="will-learn">{move || if selected.with(Vec::is_empty) { "Tick the classes to learn in this step.".to_string() } else { format!("Will learn: {}", names()) }}</p>
            </div>
            <div class="row">
                <button class="primary learn" data-testid="learn" aria-keyshortcuts="L" on:click=move |_| learn()
                    disabled=move || running() || backend.with(Option::is_none) || load.is_loading()
                        || matches!(tab.ownership.get(), Ownership::OtherTab | Ownership::TakenOver)>
                    {move || if running() { "Learning…" } else { "Learn" }}
                </button>
                // Always laid out (hidden when idle): its appearing would shift the row.
                <button data-testid="cancel" class:invisible=move || !running() aria-keyshortcuts="Escape"
                    on:click=move |_| worker.send(ToWorker::Cancel)>"Cancel"</button>
                // Chosen before the first step: a baseline must learn every step to be compared.
                <label class="compare">
                    "Compare: "
                    <select data-testid="compare" prop:value=move || comparison.get().key()
                        disabled=move || outcome.with(Option::is_some) || running()
                        title="A baseline learns the same steps after DER, so the results show what DER adds. Chosen before the first step."
                        on:change=move |ev| if let Some(c) = Comparison::from_key(&event_target_value(&ev)) { comparison.set(c) }>
                        {Comparison::ALL.into_iter().map(|c| view! { <option value=c.key()>{c.label()}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <TrainingProgress training=training />
            // Why the last step ended (the loss stopped falling, or its length), while idle.
            {move || (!running()).then(|| outcome.with(|o| o.as_ref().and_then(|o| {
                let s = &o.summary;
                s.stop.map(|stop| format!("Step {}: {} ({:.0} s)", s.step + 1, stop.sentence(s.updates), s.train_seconds))
            }))).flatten().map(|text| view! { <p class="step-stopped" data-testid="step-stopped">{text}</p> })}
        </section>
    }
}
