//! The engine check room: two real DER steps on built-in patterns, the speed of training and
//! prediction, and what page and worker hold in memory.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::link::WorkerLink;
use super::saving::SaveFigures;
use super::state::Checks;
use crate::protocol::{BackendInfo, SpeedSettings, ToWorker};
use crate::web::browser::storage;

/// Checks that the engine learns, and how fast, on this device.
#[component]
pub fn EngineCheck(
    /// The check's and the speed measurement's figures.
    checks: Checks,
    /// The checks wait for the worker's device (and the speed check's iterations follow it).
    #[prop(into)]
    backend: Signal<Option<BackendInfo>>,
    /// Whether a step is training (the checks wait for it).
    #[prop(into)]
    step_running: Signal<bool>,
    /// The last save's size, shown with the memory figures.
    last_save: RwSignal<Option<SaveFigures>>,
) -> impl IntoView {
    let worker = WorkerLink::get();
    let run_demo = move |_| {
        checks.demo_steps.set(Vec::new());
        checks.demo_mean_millis.set(None);
        checks.demo_pruned.set(Vec::new());
        checks.demo_running.set(true);
        worker.send(ToWorker::TrainDemo { seed: 42 });
    };
    view! {
        <section class="card" aria-labelledby="check-title">
            <h2 id="check-title">"Engine check"</h2>
            <p>"Runs two real DER steps (two classes each) on a small built-in pattern set in the background worker: masks, pruning, re-learning and memory included. Each step's loss should fall; the page stays responsive."</p>
            <button data-testid="train-demo" on:click=run_demo
                disabled=move || checks.demo_running.get() || step_running.get() || backend.get().is_none()>
                {move || if checks.demo_running.get() { "Checking…" } else { "Run engine check" }}
            </button>
            <p data-testid="demo-summary" class="summary">
                {move || {
                    let s = checks.demo_steps.get();
                    // Epoch means: within an epoch the loss swings as the mask scale anneals.
                    let per_step = |step: usize| {
                        let mean = |epoch: usize| {
                            let l: Vec<f32> = s.iter().filter(|i| i.der_step == step && i.epoch == epoch).map(|i| i.loss).collect();
                            (!l.is_empty()).then(|| l.iter().sum::<f32>() / l.len() as f32)
                        };
                        let last = s.iter().filter(|i| i.der_step == step).map(|i| i.epoch).max()?;
                        Some(format!("step {}: mean loss {:.3} → {:.3}", step + 1, mean(0)?, mean(last)?))
                    };
                    match (s.last(), checks.demo_mean_millis.get()) {
                        (Some(_), Some(ms)) => {
                            let pruned: Vec<String> = checks.demo_pruned.get().iter().enumerate()
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
                <For each=move || checks.demo_steps.get() key=|s| s.iteration let:s>
                    <li data-loss=s.loss.to_string() data-millis=s.millis.to_string() data-step=s.der_step data-epoch=s.epoch>
                        {format!("step {} · epoch {} · loss {:.4} · {:.0} ms", s.der_step + 1, s.epoch + 1, s.loss, s.millis)}
                    </li>
                </For>
            </ol>
            <h3>"Speed"</h3>
            <p>"Times one training iteration (batch 32) with 1, 3 and 5 branches, and a prediction for one image with 5 branches."</p>
            <button data-testid="measure-speed"
                on:click=move |_| {
                    checks.speed.set(Vec::new());
                    checks.speed_running.set(true);
                    let iterations = if backend.get_untracked().is_some_and(|b| b.kind == "webgpu") { 3 } else { 10 };
                    worker.send(ToWorker::MeasureSpeed { settings: SpeedSettings { batch: 32, width: 8, input_size: 32, iterations }, branches: vec![1, 3, 5] });
                }
                disabled=move || checks.speed_running.get() || checks.demo_running.get() || step_running.get() || backend.get().is_none()>
                {move || if checks.speed_running.get() { "Measuring…" } else { "Measure speed" }}
            </button>
            <MemoryUsage worker_memory=checks.worker_memory last_save=last_save />
            <Show when=move || !checks.speed.get().is_empty()>
                <table class="params-table" data-testid="speed-table" data-done=move || (!checks.speed_running.get()).to_string()>
                    <thead><tr><th>"case"</th><th>"branches"</th><th>"median"</th><th>"fastest"</th></tr></thead>
                    <tbody>
                        {move || checks.speed.get().into_iter().map(|c| {
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
fn MemoryUsage(
    /// What the worker last reported.
    worker_memory: RwSignal<Option<(f64, f64)>>,
    /// The last save.
    last_save: RwSignal<Option<SaveFigures>>,
) -> impl IntoView {
    let worker = WorkerLink::get();
    use crate::web::browser::diagnostics::{
        BrowserMeasure, browser_measure, js_heap_bytes, live_heap_bytes, wasm_memory_bytes,
    };
    let page = RwSignal::new(None::<(f64, Option<f64>, f64)>);
    // None while the browser's own measure runs.
    let browser = RwSignal::new(None::<BrowserMeasure>);
    let measure = move |_| {
        page.set(Some((
            wasm_memory_bytes(),
            js_heap_bytes(),
            live_heap_bytes(),
        )));
        worker_memory.set(None);
        browser.set(None);
        worker.send(ToWorker::MemoryUsage);
        spawn_local(async move { browser.set(Some(browser_measure().await)) });
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
                data-worker-wasm=move || attr(worker_memory.get().map(|w| w.0)) data-worker-live=move || attr(worker_memory.get().map(|w| w.1))
                data-saved=move || attr(last_save.get().map(|s| s.session_bytes as f64))
                data-browser=move || attr(browser.get().and_then(|b| match b { BrowserMeasure::Bytes(v) => Some(v), _ => None }))
                data-browser-state=move || match browser.get() {
                    None => "measuring",
                    Some(BrowserMeasure::Bytes(_)) => "measured",
                    Some(BrowserMeasure::Unavailable) => "unavailable",
                    Some(BrowserMeasure::NoAnswer) => "no-answer",
                }>
                {move || match (page.get(), worker_memory.get()) {
                    (Some((wasm, heap, live)), worker) => format!(
                        " Page: {} (wasm, {} in use){} · worker: {} · last save: {}",
                        mb(wasm),
                        mb(live),
                        heap.map(|h| format!(" + {} (JavaScript)", mb(h))).unwrap_or_default(),
                        worker.map(|(wasm, live)| format!("{} (wasm, {} in use)", mb(wasm), mb(live))).unwrap_or_else(|| "…".into()),
                        last_save.get().map(|s| format!("{} ({} written) in {:.0} ms", mb(s.session_bytes as f64), mb(s.written_bytes as f64), s.millis)).unwrap_or_else(|| "none yet".into()),
                    ) + &match browser.get() {
                        Some(BrowserMeasure::Bytes(b)) => format!(" · JavaScript of page and worker, as the browser measures it: {}", mb(b)),
                        Some(BrowserMeasure::NoAnswer) => " · the browser's own measure did not answer (the training threads are idle)".to_string(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                }}
            </span>
        </p>
    }
}
