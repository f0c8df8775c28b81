//! The page. For now: which device trains, and a demo training run in the worker with its
//! falling loss and milliseconds per step.

use leptos::prelude::*;

use crate::protocol::{BackendChoice, BackendInfo, FromWorker, ToWorker};
use crate::web::worker_client::WorkerClient;

pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// `?backend=cpu` forces the CPU (useful when a classroom GPU misbehaves).
fn backend_from_url() -> BackendChoice {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
    match params.and_then(|p| p.get("backend")).as_deref() {
        Some("cpu") => BackendChoice::Cpu,
        _ => BackendChoice::Auto,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct DemoStep {
    step: usize,
    loss: f32,
    millis: f64,
}

#[component]
fn App() -> impl IntoView {
    let (backend, set_backend) = signal(None::<BackendInfo>);
    let (steps, set_steps) = signal(Vec::<DemoStep>::new());
    let (running, set_running) = signal(false);
    let (mean_millis, set_mean_millis) = signal(None::<f64>);
    let (error, set_error) = signal(None::<(String, bool)>);
    let (heartbeat, set_heartbeat) = signal(0u32);

    // Ticks while the page's thread is free: it keeps counting during training.
    set_interval(move || set_heartbeat.update(|n| *n += 1), std::time::Duration::from_millis(100));

    let client = WorkerClient::spawn("./worker_loader.js", move |message| match message {
        FromWorker::Loaded => {}
        FromWorker::BackendReady { backend } => set_backend.set(Some(backend)),
        FromWorker::DemoStep { step, loss, millis } => {
            set_steps.update(|s| s.push(DemoStep { step, loss, millis }))
        }
        FromWorker::DemoDone { mean_millis, .. } => {
            set_running.set(false);
            set_mean_millis.set(Some(mean_millis));
        }
        FromWorker::Error { message, gpu } => {
            set_running.set(false);
            set_error.set(Some((message, gpu)));
        }
    });
    let client = match client {
        Ok(c) => Some(c),
        Err(e) => {
            set_error.set(Some((e, false)));
            None
        }
    };
    let client = StoredValue::new_local(client);
    client.with_value(|c| {
        if let Some(c) = c {
            c.send(ToWorker::Init { backend: backend_from_url() })
        }
    });

    let run_demo = move |_| {
        set_steps.set(Vec::new());
        set_mean_millis.set(None);
        set_error.set(None);
        set_running.set(true);
        client.with_value(|c| {
            if let Some(c) = c {
                c.send(ToWorker::TrainDemo { steps: 10, seed: 42 })
            }
        });
    };

    view! {
        <header class="top">
            <div>
                <h1>"DER Studio"</h1>
                <p class="tagline">"Teach a neural network new classes, one step at a time — and watch it keep the old ones."</p>
            </div>
            <BackendBadge backend=backend />
        </header>
        <main>
            <section class="card">
                <h2>"Engine check"</h2>
                <p>
                    "Trains DER's network for 10 steps on a small built-in pattern set, in a background worker. "
                    "The loss should fall; the page stays responsive."
                </p>
                <button
                    data-testid="train-demo"
                    class="primary"
                    on:click=run_demo
                    disabled=move || running.get() || backend.get().is_none()
                >
                    {move || if running.get() { "Training…" } else { "Run demo training" }}
                </button>
                <Show when=move || error.get().is_some()>
                    <div class="error" role="alert" data-testid="error">
                        <p>{move || error.get().map(|(m, _)| m).unwrap_or_default()}</p>
                        <Show when=move || error.get().map(|(_, gpu)| gpu).unwrap_or(false)>
                            <a class="button" href="?backend=cpu">"Continue on the CPU"</a>
                        </Show>
                    </div>
                </Show>
                <LossChart steps=steps />
                <p data-testid="demo-summary" class="summary">
                    {move || {
                        let s = steps.get();
                        match (s.first(), s.last(), mean_millis.get()) {
                            (Some(first), Some(last), Some(ms)) => format!(
                                "Loss {:.3} → {:.3} in {} steps · {:.0} ms per step",
                                first.loss, last.loss, s.len(), ms
                            ),
                            (Some(_), Some(last), None) => format!("Step {} · loss {:.3}", last.step + 1, last.loss),
                            _ => "Press the button to train.".to_string(),
                        }
                    }}
                </p>
                <ol class="steps" data-testid="demo-steps">
                    <For each=move || steps.get() key=|s| s.step let:s>
                        <li data-loss=s.loss.to_string() data-millis=s.millis.to_string()>
                            {format!("loss {:.4} · {:.0} ms", s.loss, s.millis)}
                        </li>
                    </For>
                </ol>
            </section>
        </main>
        <footer>
            <span>"Everything runs in your browser. Nothing is uploaded."</span>
            <span class="heartbeat" data-testid="heartbeat">{move || heartbeat.get()}</span>
        </footer>
    }
}

#[component]
fn BackendBadge(backend: ReadSignal<Option<BackendInfo>>) -> impl IntoView {
    view! {
        <div class="badge" data-testid="backend" data-kind=move || backend.get().map(|b| b.kind).unwrap_or_default()>
            {move || match backend.get() {
                None => "Starting the training worker…".to_string(),
                Some(b) if b.kind == "webgpu" => format!("GPU (WebGPU) · {}", b.adapter),
                Some(b) => format!("CPU · {}", b.adapter),
            }}
            <small>{move || backend.get().and_then(|b| b.fallback_reason).unwrap_or_default()}</small>
        </div>
    }
}

/// Loss per step as a line.
#[component]
fn LossChart(steps: ReadSignal<Vec<DemoStep>>) -> impl IntoView {
    let points = move || {
        let s = steps.get();
        let max = s.iter().map(|d| d.loss).fold(0.0f32, f32::max).max(1e-6);
        let n = s.len().max(2) - 1;
        s.iter()
            .enumerate()
            .map(|(i, d)| format!("{:.1},{:.1}", 10.0 + 380.0 * i as f32 / n as f32, 110.0 - 100.0 * d.loss / max))
            .collect::<Vec<_>>()
            .join(" ")
    };
    view! {
        <svg class="chart" viewBox="0 0 400 120" role="img" aria-label="training loss per step">
            <line x1="10" y1="110" x2="390" y2="110" class="axis" />
            <polyline points=points class="loss-line" />
        </svg>
    }
}
