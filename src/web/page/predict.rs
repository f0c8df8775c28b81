//! The prediction room: show the model a kept-aside image, an uploaded picture, or the camera
//! live, and see what it thinks.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reactive_stores::Field;
use wasm_bindgen::JsCast;

use super::camera::CameraFrames;
use super::class_card::Thumb;
use super::explain::{OcclusionView, RewindSlider, StepContributions};
use super::link::WorkerLink;
use super::notice::Notice;
use super::shortcuts::{Commands, on_command};
use super::state::Asked;
use crate::classroom::studio::Studio;
use crate::protocol::{StepOutcome, ToWorker};
use crate::web::browser::images::decode_upload;

/// Shows what the model says about one image: a kept-aside sample or an uploaded picture.
#[component]
pub fn PredictPanel(
    /// The classes: kept-aside images come from here, and their names label the answer.
    studio: Field<Studio>,
    /// The last step's outcome (nothing to ask before the first step).
    outcome: Field<Option<StepOutcome>>,
    /// The image asked about and the model's answer.
    asked: Asked,
) -> impl IntoView {
    let notice = Notice::get();
    let worker = WorkerLink::get();
    let camera = CameraFrames::get();
    let counter = RwSignal::new(0usize);
    let ask = move |pixels: Vec<u8>| {
        asked.probe.set(Some(pixels.clone()));
        asked.answer.set(Vec::new());
        asked.explanation.set(None);
        asked.occlusion.set(None);
        worker.send(ToWorker::Predict {
            sample: crate::engine::Sample { pixels, label: 0 },
            step: asked.step.get_untracked(),
        });
    };
    let kept_aside = move |_| {
        let studio = studio.get_untracked();
        let learned: Vec<usize> = studio
            .classes
            .iter()
            .filter(|c| c.learned_in_step.is_some())
            .map(|c| c.id)
            .collect();
        let test = studio.test_set(&learned);
        if test.is_empty() {
            return notice.say(
                "Learn a step first: then there are kept-aside images to test.",
                true,
            );
        }
        let n = counter.get_untracked();
        counter.set(n.wrapping_add(7));
        ask(test.samples[n % test.len()].pixels.clone());
    };
    let upload = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        spawn_local(async move {
            match decode_upload(&file, studio.with_untracked(|s| s.input_size)).await {
                Ok(pixels) => ask(pixels),
                Err(e) => notice.say(e, true),
            }
        });
    };
    // Live mode: every answer triggers the next camera frame, so there is one prediction in
    // flight at a time and the rate is whatever the backend sustains.
    let live = RwSignal::new(false);
    let answered = StoredValue::new(Vec::<f64>::new());
    let rate = RwSignal::new(0.0f64);
    let camera_frame = move || camera.grab(studio.with_untracked(|s| s.input_size));
    Effect::new(move |_| {
        if asked.answer.with(Vec::is_empty) || !live.get_untracked() {
            return;
        }
        let now = web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.now())
            .unwrap_or(0.0);
        answered.update_value(|t| {
            t.push(now);
            t.retain(|&x| now - x <= 2000.0);
            let span = (now - t[0]).max(1.0);
            rate.set(if t.len() > 1 {
                (t.len() - 1) as f64 * 1000.0 / span
            } else {
                0.0
            });
        });
        match camera_frame() {
            Some(pixels) => {
                asked.probe.set(Some(pixels.clone()));
                asked.occlusion.set(None);
                worker.send(ToWorker::Predict {
                    sample: crate::engine::Sample { pixels, label: 0 },
                    step: asked.step.get_untracked(),
                });
            }
            None => {
                live.set(false);
                notice.say("The camera stopped, so live prediction stopped.", true);
            }
        }
    });
    let toggle_live = move |_: ()| {
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
            None => notice.say(
                "Turn on the camera first (in the Camera panel), then press Live again.",
                true,
            ),
        }
    };
    on_command(Commands::get().live, move || {
        if outcome.with(Option::is_some) {
            toggle_live(());
        } else {
            notice.say("Learn a step first: then the model can predict.", true);
        }
    });
    let name = move |label: usize| {
        studio.with(|s| s.class(label).map(|c| c.name.clone()).unwrap_or_default())
    };
    view! {
        <section class="card" aria-labelledby="predict-title">
            <h2 id="predict-title">"Live prediction"</h2>
            <Show when=move || outcome.get().is_some() fallback=|| view! {
                <p class="empty">"After the first step you can show the model an image and see what it thinks."</p>
            }>
                <div class="row">
                    <button data-testid="predict-kept-aside" on:click=kept_aside>"Test a kept-aside image"</button>
                    <label class="button">"Upload an image"
                        <input type="file" accept="image/*" class="visually-hidden" on:change=upload data-testid="predict-upload" />
                    </label>
                    <button data-testid="live" class:primary=move || live.get() aria-keyshortcuts="P" on:click=move |_| toggle_live(())>
                        {move || if live.get() { "Stop live".to_string() } else { "Live from the camera".to_string() }}
                    </button>
                    <Show when=move || live.get()>
                        <span class="rate" data-testid="live-rate" data-rate=move || format!("{:.1}", rate.get())>
                            {move || format!("{:.0} predictions per second", rate.get())}
                        </span>
                    </Show>
                </div>
                // One sentence for screen readers per asked image (not per live frame: that would
                // be a dozen announcements a second).
                <p class="visually-hidden" aria-live="polite" data-testid="prediction-said">
                    {move || if live.get() { String::new() } else {
                        asked.answer.with(|a| a.iter().copied().max_by(|x, y| x.1.total_cmp(&y.1)))
                            .map(|(label, p)| format!("The model says {} ({:.0}%).", name(label), p * 100.0)).unwrap_or_default()
                    }}
                </p>
                <RewindSlider outcome=outcome asked=asked />
                <div class="predict row">
                    {move || asked.probe.get().map(|pixels| view! { <Thumb pixels=Signal::derive(move || pixels.clone()) /> })}
                    <div class="bars" data-testid="prediction" aria-label="What the model thinks" data-answered=move || asked.answered.get()>
                        {move || asked.answer.get().into_iter().map(|(label, p)| view! {
                            <div class="bar-row">
                                <span class="bar-name">{name(label)}</span>
                                <span class="bar-track"><span class="bar-value" style:width=format!("{:.1}%", p * 100.0)></span></span>
                                <span class="bar-number">{format!("{:.0}%", p * 100.0)}</span>
                            </div>
                        }).collect_view()}
                    </div>
                </div>
                <StepContributions studio=studio asked=asked />
                <OcclusionView studio=studio asked=asked />
            </Show>
        </section>
    }
}
