//! What the worker says, turned into changes of the page's state. The only code that touches
//! most of the pieces: each message changes the few it concerns.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reactive_stores::Store;

use super::loading::Loader;
use super::notice::Notice;
use super::saving::{Saving, ask_to_keep_storage};
use super::state::{
    Asked, Checks, Classroom, ClassroomExt, ClassroomStoreFields, CurvePoint, Training,
};
use super::url::resume_step;
use crate::engine::report::Phase;
use crate::protocol::{BackendInfo, FromWorker, Request};

/// The state the worker's messages change.
#[derive(Clone, Copy)]
pub struct WorkerMessages {
    pub room: Store<Classroom>,
    pub backend: RwSignal<Option<BackendInfo>>,
    pub training: Training,
    pub checks: Checks,
    pub asked: Asked,
    pub saving: Saving,
    pub load: Loader,
    pub notice: Notice,
}

impl WorkerMessages {
    /// Applies one message from the worker.
    pub fn handle(self, message: FromWorker) {
        let Self {
            room,
            training,
            checks,
            notice,
            ..
        } = self;
        match message {
            FromWorker::Loaded => {}
            FromWorker::MeasuringDevices => checks.measuring_devices.set(true),
            FromWorker::BackendReady { backend } => {
                checks.measuring_devices.set(false);
                self.backend.set(Some(backend));
            }
            FromWorker::DemoIteration { iteration } => {
                checks.demo_steps.update(|s| s.push(iteration))
            }
            FromWorker::DemoDone {
                mean_millis,
                branch_params,
                ..
            } => {
                checks.demo_running.set(false);
                checks.demo_mean_millis.set(Some(mean_millis));
                checks.demo_pruned.set(branch_params);
            }
            FromWorker::StepProgress { progress, baseline } => {
                training.baseline.set(baseline);
                if progress.phase == Phase::Train && baseline.is_none() {
                    training.losses.update(|l| {
                        l.push(CurvePoint {
                            loss: progress.loss,
                            classification: progress.loss_classifier,
                            auxiliary: progress.loss_aux,
                            sparsity: progress.loss_sparsity,
                            accuracy: progress.train_accuracy,
                        })
                    });
                    training.masks.set(Some(progress.gate_masks.clone()));
                }
                training.progress.set(Some(progress));
            }
            FromWorker::StepDone { outcome } => {
                let ids = training.learning.get_untracked().unwrap_or_default();
                let step = outcome.summary.step;
                room.studio().update(|s| s.mark_learned(&ids, step));
                room.params_history().update(|h| {
                    let previous = h.last().copied().unwrap_or((0, 0));
                    let s = &outcome.summary;
                    h.push((
                        previous.0 + s.branch_params_after,
                        previous.1 + s.branch_params_before,
                    ));
                });
                room.selected().set(Vec::new());
                training.learning.set(None);
                training.progress.set(None);
                notice.say(
                    format!(
                        "Step {} learned in {:.0} s. Accuracy on every class so far: {:.0}%.",
                        step + 1,
                        outcome.summary.train_seconds,
                        outcome.accuracy_seen.last().copied().unwrap_or(0.0) * 100.0
                    ),
                    false,
                );
                room.outcome().set(Some(*outcome));
                // Something worth keeping now exists: ask the browser to keep it.
                spawn_local(ask_to_keep_storage(self.saving.persistent));
            }
            FromWorker::ModelSaved { model, baselines } => {
                room.model().set(Some(model));
                room.baseline_models().set(baselines);
            }
            FromWorker::SpeedMeasured { case } => checks.speed.update(|s| s.push(case)),
            FromWorker::SpeedDone => checks.speed_running.set(false),
            FromWorker::Restored => {
                let resume = resume_step();
                if let Some((session, message)) =
                    self.load.loaded(|s| resume && !s.selected.is_empty())
                {
                    let learned = session.outcome.is_some();
                    self.saving.saved_images.set_value(None);
                    room.apply(session);
                    training.losses.set(Vec::new());
                    self.asked.probe.set(None);
                    self.asked.answer.set(Vec::new());
                    if learned {
                        spawn_local(ask_to_keep_storage(self.saving.persistent));
                    }
                    notice.say(message, false);
                }
            }
            FromWorker::Failed {
                request: Request::Restore,
                error,
            } => {
                self.load.ready();
                notice.say(error.message, true);
            }
            // A failing device (a lost GPU) is a worker fault (below): the page offers the CPU.
            FromWorker::Failed {
                request: Request::Learn,
                error,
            } if !error.device_fault => {
                training.learning.set(None);
                training.progress.set(None);
                notice.say(error.message, true);
            }
            // Nothing learned yet: live prediction stops (each frame waits for an answer) and
            // the page says why.
            FromWorker::Failed {
                request: Request::Predict,
                error,
            } if !error.device_fault => {
                self.asked.answer.set(Vec::new());
                self.asked.explanation.set(None);
                notice.say(error.message, true);
            }
            // A question about the model that could not be answered (a step that cannot be
            // shown, no model): the page says why and stops waiting.
            FromWorker::Failed {
                request: Request::Answer | Request::Occlude | Request::ExportOnnx,
                error,
            } if !error.device_fault => {
                self.asked.occluding.set(false);
                self.asked.cell.update(|c| {
                    if let Some(c) = c.as_mut().filter(|c| c.answers.is_none()) {
                        c.answers = Some(Vec::new());
                    }
                });
                notice.say(error.message, true);
            }
            FromWorker::Answers { cell, labels, .. } => self.asked.cell.update(|c| {
                if let Some(c) = c.as_mut().filter(|c| c.key == cell) {
                    c.answers = Some(labels);
                }
            }),
            FromWorker::Occlusion { map, step } => {
                self.asked.occluding.set(false);
                // A map for another model than the one now chosen is stale.
                if step == self.asked.step.get_untracked() {
                    self.asked.occlusion.set(Some(map));
                }
            }
            FromWorker::OnnxModel { onnx } => {
                if let Err(e) =
                    crate::web::browser::storage::download("der-studio-model.onnx", &onnx)
                {
                    notice.say(format!("The model could not be exported: {e}"), true);
                } else {
                    notice.say(
                        "Exported der-studio-model.onnx: the network for ONNX Runtime and other tools (its class names are inside, and in the JSON beside the button).",
                        false,
                    );
                }
            }
            FromWorker::MemoryUsage {
                wasm_bytes,
                live_bytes,
            } => checks.worker_memory.set(Some((wasm_bytes, live_bytes))),
            FromWorker::Prediction {
                class_order,
                probabilities,
                explanation,
                ..
            } => {
                self.asked
                    .answer
                    .set(class_order.into_iter().zip(probabilities).collect());
                self.asked.explanation.set(Some(explanation));
                self.asked.answered.update(|n| *n += 1);
            }
            // A cancel or a memory reading that could not be sent changes nothing: the step, if
            // one runs, goes on.
            FromWorker::Failed {
                request: Request::Cancel | Request::MemoryUsage,
                error,
            } if !error.device_fault => notice.say(error.message, true),
            FromWorker::Crashed { error } | FromWorker::Failed { error, .. } => {
                let gpu = error.device_fault;
                notice
                    .interrupted_step
                    .set(gpu && training.learning.get_untracked().is_some());
                checks.speed_running.set(false);
                checks.demo_running.set(false);
                training.learning.set(None);
                notice.gpu_error.set(gpu);
                notice.say(error.message, true);
            }
        }
    }
}
