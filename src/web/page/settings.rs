//! The settings room: the step's numbers (epochs, learning rate, …) with their help, the
//! image size, and the problem with them if Learn would refuse them.

use leptos::prelude::*;
use reactive_stores::Field;

use super::notice::Notice;
use super::state::planned_step;
use crate::classroom::studio::Studio;
use crate::engine::LearnerConfig;
use crate::engine::augment::Augment;
use crate::protocol::StepOutcome;

/// One numeric setting with its help text.
#[component]
fn NumberSetting(
    /// The setting's name.
    label: &'static str,
    /// What the setting does, under it.
    help: &'static str,
    /// The input's `data-testid`.
    testid: &'static str,
    /// The current value.
    value: Signal<f64>,
    /// Called with a new finite, non-negative value.
    set: impl Fn(f64) + Send + Sync + 'static,
    /// The input's step.
    step: &'static str,
    /// When true, the setting cannot change (fixed after the first step).
    #[prop(optional)]
    locked: Option<Signal<bool>>,
) -> impl IntoView {
    let locked = locked.unwrap_or(Signal::derive(|| false));
    let apply = move |text: String| {
        if let Ok(v) = text.parse::<f64>()
            && v.is_finite()
            && v >= 0.0
        {
            set(v)
        }
    };
    view! {
        <label class="setting">
            <span class="setting-name">{label}</span>
            // Rounded to 6 decimals: λs is an f32, and 0.1 as f64 would read 0.10000000149.
            <input type="number" step=step data-testid=testid prop:value=move || ((value.get() * 1e6).round() / 1e6).to_string()
                disabled=move || locked.get()
                on:change=move |ev| { apply(event_target_value(&ev)) } />
            <small>{help}</small>
        </label>
    }
}

/// The settings of the next step, folded away until opened.
#[component]
pub fn SettingsPanel(
    /// The settings of the next step.
    config: Field<LearnerConfig>,
    /// The classes (the image size is theirs).
    studio: Field<Studio>,
    /// The classes picked for the next step (the settings are checked against it).
    selected: Field<Vec<usize>>,
    /// The last step's outcome: some settings are fixed once a step is learned.
    outcome: Field<Option<StepOutcome>>,
    /// The augmentation the user chose; `None`: by the images' source.
    augmentation: Field<Option<Augment>>,
) -> impl IntoView {
    let notice = Notice::get();
    let c = config;
    let learned_any = Signal::derive(move || outcome.with(Option::is_some));
    view! {
        <section class="card settings" aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings of the next step"</h2>
            <div class="settings-grid">
                <NumberSetting label="Updates per step" testid="min-updates" step="50" value=Signal::derive(move || c.get().min_updates as f64)
                    set=move |v| c.update(|c| c.min_updates = v as usize)
                    help="Each update learns from one batch. A step runs up to this many, passing over its images as often as needed, so a small class trains, and prunes, as much as a large one. It stops sooner once its loss has stopped falling (checked every 50 updates, after at least 150); the page then says so." />
                <NumberSetting label="Epochs (at least)" testid="epochs" step="1" value=Signal::derive(move || c.get().epochs as f64)
                    set=move |v| c.update(|c| c.epochs = v as usize)
                    help="Fewest passes over the step's images. Large steps use it; small ones run more passes to reach the updates above." />
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
                <NumberSetting label="Memory per class" testid="memory" step="5"
                    // A session saved with a shared total shows that total's share per class.
                    value=Signal::derive(move || {
                        let (seen, _) = planned_step(studio, outcome, &selected.get());
                        c.with(|c| c.memory_per_class.unwrap_or_else(|| c.exemplars_per_class(seen.max(1)))) as f64
                    })
                    set=move |v| c.update(|c| c.memory_per_class = Some(v as usize))
                    help="Old images of each class kept (chosen by herding) and replayed in later steps." />
                <NumberSetting label="Backbone width" testid="width" step="4" value=Signal::derive(move || c.get().backbone.width as f64)
                    set=move |v| c.update(|c| c.backbone.width = v as usize) locked=learned_any
                    help="Channels of the first layer of each branch. Fixed after the first step." />
                <label class="setting">
                    <span class="setting-name">"Augmentation"</span>
                    <select data-testid="augmentation" prop:value=move || augmentation.get().map_or("auto", Augment::key)
                        // "auto" parses as no augmentation: chosen by the images' source.
                        on:change=move |ev| augmentation.set(event_target_value(&ev).parse::<Augment>().ok())>
                        <option value="auto">{move || format!("By the images (now: {})", studio.with(|s| s.augmentation_for(&selected.get())).description())}</option>
                        {Augment::ALL.into_iter().map(|a| view! { <option value=a.key()>{a.description()}</option> }).collect_view()}
                    </select>
                    <small>"Small random changes to each training image, so a few dozen images teach more. By the images: shifts for the built-in digits (a mirrored digit is another symbol), shifts, mirroring and light for camera and photos."</small>
                </label>
                <label class="setting">
                    <span class="setting-name">"Image size"</span>
                    <select data-testid="input-size" disabled=move || learned_any.get()
                        prop:value=move || studio.with(|s| s.input_size.to_string())
                        on:change=move |ev| {
                            let Ok(size) = event_target_value(&ev).parse::<usize>() else { return };
                            match studio.try_update(|s| s.set_input_size(size)) {
                                Some(Ok(())) => c.update(|c| c.backbone.input_size = size),
                                Some(Err(e)) => notice.say(e, true),
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
                let selected = selected.get();
                let (seen, images) = planned_step(studio, outcome, &selected);
                // No step picked yet: nothing to say about the batch size.
                let images = if selected.is_empty() { 0 } else { images };
                c.with(|c| c.check_for_step(seen, images).err()).map(|e| view! { <p class="setting-problem error" role="alert" data-testid="settings-problem">{e}</p> })
            }}

        </section>
    }
}
