//! The running step's progress: a bar with what is happening and the time left; and the loss
//! curves (in the results view; the new branch's masks are drawn live by the diagram).

use leptos::prelude::*;

use reactive_stores::Field;

use super::state::{CurvePoint, Training};
use crate::engine::augment::Augment;
use crate::engine::report::Phase;
use crate::protocol::StepOutcome;

/// The progress of the step being trained.
#[component]
pub fn TrainingProgress(
    /// The running step: its progress reports and loss curve.
    training: Training,
) -> impl IntoView {
    let fraction = move || {
        training
            .progress
            .get()
            .map(|p| match p.phase {
                Phase::Train if p.epochs > 0 => {
                    (p.epoch as f64 + p.batch as f64 / p.batches.max(1) as f64) / p.epochs as f64
                }
                Phase::Train => 0.0,
                _ => 1.0,
            })
            .unwrap_or(0.0)
    };
    let running = move || training.learning.with(Option::is_some);
    let label = move || match training.progress.get() {
        None if !running() => "Pick the classes, then press Learn.".to_string(),
        None => "Preparing…".to_string(),
        Some(p) => match p.phase {
            Phase::Train => {
                let f = fraction();
                let left = if f > 0.02 {
                    p.elapsed_seconds * (1.0 - f) / f
                } else {
                    f64::NAN
                };
                format!(
                    "{}Epoch {}/{} · batch {}/{} · loss {:.3} · train accuracy {:.0}%{}",
                    training
                        .baseline
                        .get()
                        .map(|b| format!("{} baseline · ", b.name()))
                        .unwrap_or_default(),
                    p.epoch + 1,
                    p.epochs,
                    p.batch,
                    p.batches,
                    p.loss,
                    p.train_accuracy * 100.0,
                    if left.is_finite() {
                        format!(" · about {left:.0} s left")
                    } else {
                        String::new()
                    }
                )
            }
            Phase::Prune => "Pruning the new branch…".into(),
            Phase::Relearn => "Re-learning the classifier on a balanced set…".into(),
            Phase::Memory => "Choosing exemplars…".into(),
        },
    };
    view! {
        <div class="progress" data-testid="progress" class:idle=move || !running()>
            <div class="bar" role="progressbar" aria-label="Step progress" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", fraction() * 100.0)>
                <div class="fill" style:width=move || format!("{:.1}%", fraction() * 100.0)></div>
            </div>
            <p class="progress-label" data-testid="progress-label">{label}</p>
            // The phase, for screen readers: announced when it changes, not at every report.
            <p class="visually-hidden" aria-live="polite" data-testid="progress-phase">{move || match (training.progress.get().map(|p| p.phase), training.baseline.get()) {
                (None, _) if running() => "Learning started.".to_string(),
                (None, _) => String::new(),
                (Some(Phase::Train), Some(b)) => format!("Training the {} baseline.", b.name().to_lowercase()),
                (Some(Phase::Train), None) => "Training the new branch.".into(),
                (Some(Phase::Prune), _) => "Pruning the new branch.".into(),
                (Some(Phase::Relearn), _) => "Re-learning the classifier on a balanced set.".into(),
                (Some(Phase::Memory), _) => "Choosing exemplars.".into(),
            }}</p>
        </div>
    }
}

/// How the last step trained: its updates, epochs and augmentation.
#[component]
pub fn LastStepSchedule(
    /// The last step's outcome.
    outcome: Field<Option<StepOutcome>>,
) -> impl IntoView {
    move || {
        outcome.with(|o| {
            o.as_ref().filter(|o| o.summary.updates > 0).map(|o| {
                let s = &o.summary;
                let augment = match s.augment {
                    Augment::None => "no augmentation".to_string(),
                    a => format!("augmentation: {}", a.description()),
                };
                let stopped = s.stop.map(|stop| format!(" {}", stop.sentence(s.updates))).unwrap_or_default();
                view! { <p class="summary" data-testid="step-schedule">{format!(
                    "Step {}: {} updates ({} passes over its images), {augment}, {:.0} s.{stopped}", s.step + 1, s.updates, s.epochs, s.train_seconds)}</p> }
            })
        })
    }
}

/// The loss and its parts (scaled to the largest loss so far) and the sparsity loss and
/// training accuracy (on a fixed 0–1 scale), per progress report.
#[component]
pub fn LossChart(
    /// One point per progress report of the running step.
    losses: RwSignal<Vec<CurvePoint>>,
) -> impl IntoView {
    let line = move |value: fn(&CurvePoint) -> f32, fraction: bool| {
        let l = losses.get();
        let max = if fraction {
            1.0
        } else {
            l.iter()
                .map(|p| p.loss.max(p.classification).max(p.auxiliary))
                .fold(0.0f32, f32::max)
                .max(1e-6)
        };
        let n = l.len().max(2) - 1;
        l.iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{:.1},{:.1}",
                    10.0 + 380.0 * i as f32 / n as f32,
                    110.0 - 100.0 * (value(p) / max).clamp(0.0, 1.0)
                )
            })
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
