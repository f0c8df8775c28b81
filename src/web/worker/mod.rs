//! The dedicated Web Worker that owns Burn: picks WebGPU or the CPU, runs training, and
//! reports back. GPU failures become messages for the page, never a silent death.
//!
//! Rooms: [`state`] (the one state and its rules), [`step`] (a classroom step), [`device`]
//! (WebGPU or the CPU), [`speed`] (the engine check's speed table), [`outbox`] (every message
//! to the page), [`pool`] (the training threads). This file receives the page's messages and
//! answers every one; the rooms never call back into it.

mod device;
mod outbox;
mod pool;
mod speed;
mod state;
mod step;

use wasm_bindgen::JsCast;
use web_sys::MessageEvent;

use crate::engine::demo::train_demo;
use crate::protocol::{FromWorker, Request, ToWorker, WorkerError};
use crate::web::browser::wire;
use outbox::{post, scope};
use state::{Busy, device, restore, with_state};

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
        post(&FromWorker::Crashed {
            error: WorkerError::device(format!("The training worker stopped: {cause}")),
        });
    }));
    // Lives as long as the worker: the handler is never removed.
    let on_message = gloo_events::EventListener::new(&scope(), "message", |event| {
        let Some(event) = event.dyn_ref::<MessageEvent>() else {
            return;
        };
        let bytes = wire::received(&event.data());
        wasm_bindgen_futures::spawn_local(async move {
            match ToWorker::decode(&bytes) {
                Ok(message) => {
                    let request = message.request();
                    if let Err(error) = handle(message).await {
                        post(&FromWorker::Failed { request, error });
                    }
                }
                Err(e) => post(&FromWorker::Failed {
                    request: Request::Unreadable,
                    error: WorkerError::input(e),
                }),
            }
        });
    });
    on_message.forget();
    // The page queues its messages until Loaded: the pool exists before any of them runs.
    #[cfg(feature = "threads")]
    wasm_bindgen_futures::spawn_local(async {
        pool::start_pool().await;
        post(&FromWorker::Loaded);
    });
    #[cfg(not(feature = "threads"))]
    post(&FromWorker::Loaded);
}

/// The model of the last completed step, for a question about it.
fn committed_learner() -> Result<crate::engine::Learner, WorkerError> {
    with_state(|s| s.learner.clone()).ok_or_else(|| {
        WorkerError::input("Nothing has been learned yet: learn a step before asking the model.")
    })
}

/// A question the model could not answer: the device failed, or the input was wrong (no
/// model, a step that cannot be shown).
fn asked(error: crate::engine::learner::explain::AskError) -> WorkerError {
    match error {
        crate::engine::learner::explain::AskError::Device(e) => WorkerError::device(e.to_string()),
        other => WorkerError::input(format!("{}.", capitalised(&other.to_string()))),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Runs one request; its success answers are posted here, its failure by the caller.
async fn handle(message: ToWorker) -> Result<(), WorkerError> {
    match message {
        ToWorker::Cancel => with_state(|s| s.cancel = s.busy.is_some()),
        ToWorker::MemoryUsage => post(&FromWorker::MemoryUsage {
            wasm_bytes: crate::web::browser::diagnostics::wasm_memory_bytes(),
            live_bytes: crate::web::browser::diagnostics::live_heap_bytes(),
        }),
        ToWorker::SimulateFault => panic!("simulated GPU fault: device lost (test hook)"),
        // Not a Rust panic: a JavaScript exception escapes the worker, as a wasm trap or an
        // allocation failure would; only the Worker's error event tells the page.
        ToWorker::SimulateAbort => {
            wasm_bindgen::throw_str("simulated abort: out of memory (test hook)")
        }
        ToWorker::Learn {
            config,
            train,
            test,
            comparison,
        } => {
            let device = device()?;
            let _busy = Busy::claim(Request::Learn)?;
            let outcome = step::learn(config, device, train, test, comparison).await?;
            post(&FromWorker::StepDone {
                outcome: Box::new(outcome),
            });
        }
        ToWorker::Predict { sample, step } => {
            // A clone of the committed model: a step or restore that completes meanwhile
            // replaces the committed one, and nothing here writes it back.
            let learner = committed_learner()?;
            let answer = learner.explain(&sample, step).await.map_err(asked)?;
            post(&FromWorker::Prediction {
                class_order: learner.class_order_after(step).to_vec(),
                probabilities: answer.probabilities,
                explanation: answer.explanation,
                step,
            });
        }
        ToWorker::Answer {
            samples,
            step,
            cell,
        } => {
            let learner = committed_learner()?;
            let refs: Vec<&crate::engine::Sample> = samples.iter().collect();
            let labels = learner.answers_after(&refs, step).await.map_err(asked)?;
            post(&FromWorker::Answers { cell, step, labels });
        }
        ToWorker::Occlude { sample, step } => {
            let learner = committed_learner()?;
            let map = learner.occlusion(&sample, step).await.map_err(asked)?;
            post(&FromWorker::Occlusion { map, step });
        }
        ToWorker::ExportOnnx { metadata } => {
            let learner = committed_learner()?;
            let network = learner.after_step(None).map_err(asked)?;
            let onnx = crate::engine::onnx_export::onnx_model(
                &network,
                learner.config.backbone.input_size,
                &metadata,
            )
            .await
            .map_err(|e| WorkerError::device(e.to_string()))?;
            post(&FromWorker::OnnxModel { onnx });
        }
        ToWorker::Restore {
            model,
            accuracy,
            baselines,
        } => {
            let _busy = Busy::claim(Request::Restore)?;
            restore(model, accuracy, baselines)?;
            post(&FromWorker::Restored);
        }
        ToWorker::MeasureSpeed { settings, branches } => {
            let device = device()?;
            let _busy = Busy::claim(Request::MeasureSpeed)?;
            speed::measure_speed(&settings, &branches, &device)
                .await
                .map_err(|e| WorkerError::device(e.to_string()))?;
            post(&FromWorker::SpeedDone);
        }
        ToWorker::Init {
            backend,
            network,
            simulate_hardware_adapter,
        } => {
            // A model lives on its device: once a step is learned (or restored) the device stays.
            let kept = with_state(|s| s.learner.as_ref().and(s.backend.clone()));
            let info = match kept {
                Some(info) => info,
                None => {
                    let _busy = Busy::claim(Request::Init)?;
                    let (device, info) =
                        device::choose_device(backend, &network, simulate_hardware_adapter).await;
                    with_state(|s| {
                        s.device = Some(device);
                        s.backend = Some(info.clone());
                    });
                    info
                }
            };
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
                branch_params: summaries
                    .iter()
                    .map(|s| (s.branch_params_before, s.branch_params_after))
                    .collect(),
            });
        }
    }
    Ok(())
}
