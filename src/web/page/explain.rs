//! Why the model answered: the winning class's evidence split by step's branch (bars in the
//! diagram's step colours), where in the image it looked (an occlusion map), and which model
//! answers (the rewind slider: the model as it was after any earlier step).

use leptos::prelude::*;
use reactive_stores::Field;

use super::link::WorkerLink;
use super::state::Asked;
use crate::classroom::studio::Studio;
use crate::engine::Sample;
use crate::protocol::{StepOutcome, ToWorker};
use crate::web::browser::images::draw_heat_map;

/// Each step's colour: its column in the diagram and its bar here (Okabe and Ito's palette,
/// told apart with the common colour-vision deficiencies; every one has 3:1 contrast on white).
const STEP_COLOURS: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#5a6b00", "#7b3fb0", "#8a6d00", "#505a6b",
];

pub fn step_colour(step: usize) -> &'static str {
    STEP_COLOURS[step % STEP_COLOURS.len()]
}

/// Sends the probe again to the model now chosen (after a rewind), and forgets the old map.
pub fn ask_again(asked: Asked, worker: WorkerLink) {
    asked.occlusion.set(None);
    if let Some(pixels) = asked.probe.get_untracked() {
        asked.answer.set(Vec::new());
        asked.explanation.set(None);
        worker.send(ToWorker::Predict {
            sample: Sample { pixels, label: 0 },
            step: asked.step.get_untracked(),
        });
    }
}

/// Which model answers: a slider over the steps learned. Nothing is retrained and the current
/// model is untouched: the worker reads the first k branches and step k's classifier.
#[component]
pub fn RewindSlider(
    /// The last step's outcome (how many steps there are).
    outcome: Field<Option<StepOutcome>>,
    asked: Asked,
) -> impl IntoView {
    let worker = WorkerLink::get();
    let steps = move || outcome.with(|o| o.as_ref().map_or(0, |o| o.accuracy_rows.len()));
    let chosen = move || asked.step.get().unwrap_or(steps()).min(steps());
    // A new step makes the newest model the one asked again.
    Effect::new(move |_| {
        steps();
        asked.step.set(None);
    });
    let change = move |ev: leptos::ev::Event| {
        let k: usize = event_target_value(&ev).parse().unwrap_or(1);
        let latest = steps();
        asked
            .step
            .set(if k >= latest { None } else { Some(k.max(1)) });
        ask_again(asked, worker);
    };
    view! {
        <Show when=move || { steps() >= 2 }>
            <div class="rewind" data-testid="rewind" class:rewound=move || asked.step.get().is_some()>
                <label for="rewind-step">"Model after step"</label>
                <input id="rewind-step" type="range" min="1" max=move || steps().to_string() step="1"
                    prop:value=move || chosen().to_string() on:input=change data-testid="rewind-step"
                    aria-valuetext=move || format!("the model after step {} of {}", chosen(), steps()) />
                <output for="rewind-step" data-testid="rewind-value">{move || format!("{} of {}", chosen(), steps())}</output>
                <p class="rewind-note" data-testid="rewind-note" aria-live="polite">{move || match asked.step.get() {
                    Some(k) => format!("Rewound: the model as it was after step {k}. It only knows the classes of {}. Nothing was retrained; the current model is unchanged.",
                        if k == 1 { "step 1".to_string() } else { format!("steps 1–{k}") }),
                    None => "The current model.".to_string(),
                }}</p>
            </div>
        </Show>
    }
}

/// The winning class's evidence, one bar per step's branch: the classifier's weights for that
/// branch's features times the features. The bars plus the bias are the class's score exactly.
#[component]
pub fn StepContributions(studio: Field<Studio>, asked: Asked) -> impl IntoView {
    let winner = move || {
        asked
            .answer
            .with(|a| a.iter().copied().max_by(|x, y| x.1.total_cmp(&y.1)))
            .and_then(|(label, _)| studio.with(|s| s.class(label).ok().map(|c| c.name.clone())))
            .unwrap_or_default()
    };
    view! {
        {move || asked.explanation.get().filter(|e| e.contributions.len() > 1).map(|e| {
            let shares = e.shares();
            let strongest = e.strongest().unwrap_or(0);
            let name = winner();
            view! {
                <div class="contributions" data-testid="contributions" data-strongest=strongest + 1>
                    <h3>"Which step recognised it"</h3>
                    <p class="contributions-said">{format!("Most of the evidence for “{name}” came from step {}’s branch.", strongest + 1)}</p>
                    <div class="bars" role="list" aria-label=format!("Evidence for {name} by step")>
                        {e.contributions.iter().zip(shares).enumerate().map(|(k, (&value, share))| view! {
                            <div class="bar-row" role="listitem" data-testid="contribution" data-step=k + 1 data-value=format!("{value:.4}")>
                                <span class="bar-name"><span class="step-swatch" style:background=step_colour(k)></span>{format!("Step {}", k + 1)}</span>
                                <span class="bar-track"><span class="bar-value" class:against=value < 0.0
                                    style:width=format!("{:.1}%", share * 100.0) style:background=step_colour(k)></span></span>
                                <span class="bar-number" title=if value < 0.0 { "evidence against this answer" } else { "evidence for this answer" }>
                                    {if value < 0.0 { format!("−{:.0}%", share * 100.0) } else { format!("{:.0}%", share * 100.0) }}</span>
                            </div>
                        }).collect_view()}
                    </div>
                    {e.contributions.iter().any(|&c| c < 0.0).then(|| view! {
                        <p class="muted small-print">{format!("A bar marked − (striped) is evidence against “{name}”.")}</p>
                    })}
                    <p class="muted small-print">{format!("Score for “{name}”: {:.2} = the steps’ terms {} + bias {:.2}.",
                        e.logit,
                        e.contributions.iter().map(|c| format!("{c:+.2}")).collect::<Vec<_>>().join(" "),
                        e.bias)}</p>
                </div>
            }
        })}
    }
}

/// "Where did it look?": a grey square slides over the image; the map is red where hiding the
/// image lowered the answer's probability most. Computed in the worker: the page never waits.
#[component]
pub fn OcclusionView(studio: Field<Studio>, asked: Asked) -> impl IntoView {
    let worker = WorkerLink::get();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        let (Some(c), Some(map), Some(pixels)) = (
            canvas.get(),
            asked.occlusion.get(),
            asked.probe.get_untracked(),
        ) else {
            return;
        };
        draw_heat_map(&c, &pixels, &map.drop, map.size, map.peak());
    });
    let look = move |_| {
        let Some(pixels) = asked.probe.get_untracked() else {
            return;
        };
        asked.occluding.set(true);
        asked.occlusion.set(None);
        worker.send(ToWorker::Occlude {
            sample: Sample { pixels, label: 0 },
            step: asked.step.get_untracked(),
        });
    };
    let name = move |output: usize| {
        asked
            .answer
            .with(|a| a.get(output).map(|(label, _)| *label))
            .and_then(|label| studio.with(|s| s.class(label).ok().map(|c| c.name.clone())))
            .unwrap_or_default()
    };
    view! {
        <div class="occlusion">
            // Only once there is an image to look at.
            <Show when=move || asked.probe.with(Option::is_some)>
                <button class="small" data-testid="where-looked" on:click=look disabled=move || asked.occluding.get()>
                    {move || if asked.occluding.get() { "Looking…" } else { "Where did it look?" }}
                </button>
            </Show>
            {move || asked.occlusion.get().map(|map| view! {
                <figure class="heat-map" data-testid="occlusion" data-millis=format!("{:.0}", map.millis) data-images=map.images>
                    <canvas node_ref=canvas class="thumb large" width="32" height="32" role="img"
                        aria-label=format!("Where the model looked for “{}”: red where hiding the image lowered its answer most", name(map.output))></canvas>
                    <figcaption>{format!("Red: hiding this part lowers “{}” most (by up to {:.0} points of {:.0}%). {} covered images in {:.0} ms.",
                        name(map.output), map.peak() * 100.0, map.probability * 100.0, map.images, map.millis)}</figcaption>
                </figure>
            })}
        </div>
    }
}
