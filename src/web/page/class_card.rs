//! One class: its name, image count, thumbnails, and what can still be done with it (pick it
//! for the next step, upload or drop images, rename, delete) until a step learns it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reactive_stores::Field;
use wasm_bindgen::JsCast;

use super::class_images::{add_files, report_added};
use super::icons::LockIcon;
use super::notice::Notice;
use crate::classroom::studio::Studio;
use crate::web::browser::images::draw_sample;

/// The card of class `id`.
#[component]
pub fn ClassCard(
    /// The classes; the card reads and changes only class `id`.
    studio: Field<Studio>,
    /// Classes picked for the next step (the card's tick box).
    selected: Field<Vec<usize>>,
    /// The class shown.
    id: usize,
) -> impl IntoView {
    let notice = Notice::get();
    // Reads one field of this class without cloning its images (a class may hold thousands).
    let name = move || studio.with(|s| s.class(id).map(|c| c.name.clone()).ok());
    let count = move || studio.with(|s| s.class(id).map(|c| c.samples.len()).unwrap_or(0));
    let learned = move || studio.with(|s| s.class(id).ok().and_then(|c| c.learned_in_step));
    let picked = move || selected.with(|s| s.contains(&id));
    let toggle = move |_| {
        selected.update(|s| {
            if s.contains(&id) {
                s.retain(|&x| x != id)
            } else {
                s.push(id)
            }
        })
    };
    let upload = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(files) = input.files() else { return };
        let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        input.set_value("");
        spawn_local(async move {
            let (added, problems) = add_files(studio, id, files).await;
            report_added(notice, added, &problems);
        });
    };
    let drop_files = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        ev.stop_propagation();
        let Some(list) = ev.data_transfer().and_then(|d| d.files()) else {
            return;
        };
        let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        if learned().is_some() {
            return notice.say(
                "This class is already learned: drop images onto a new class.",
                true,
            );
        }
        spawn_local(async move {
            let (added, problems) = add_files(studio, id, files).await;
            report_added(notice, added, &problems);
        });
    };
    let rename = move |_| {
        let Some(current) = name() else { return };
        let answer = web_sys::window().and_then(|w| {
            w.prompt_with_message_and_default("New name for the class", &current)
                .ok()
                .flatten()
        });
        if let Some(name) = answer
            && let Some(Err(e)) = studio.try_update(|s| s.rename(id, &name))
        {
            notice.say(e, true);
        }
    };
    let thumb_indices = move || (0..count().min(10)).collect::<Vec<usize>>();
    let label = move |what: &str| format!("{what} “{}”", name().unwrap_or_default());
    view! {
        <article class="class-card" class:learned=move || learned().is_some() class:picked=picked data-testid="class-card"
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=drop_files>
            <header class="class-head">
                {move || match learned() {
                    Some(step) => view! { <span class="lock" title=format!("learned in step {}, locked", step + 1)><LockIcon label="learned, locked" /></span> }.into_any(),
                    None => view! {
                        <input type="checkbox" class="pick" prop:checked=picked on:change=toggle data-testid="pick"
                            aria-label=move || label("Learn in the next step:") title="Learn in the next step" />
                    }.into_any(),
                }}
                <button class="name" title="Rename" aria-label=move || label("Rename") data-testid="class-title" on:click=rename>{move || name().unwrap_or_default()}</button>
                {move || match learned() {
                    Some(step) => view! { <span class="learned-in">"step " {step + 1}</span> }.into_any(),
                    None => view! {
                        <label class="button small upload" title="Upload images">
                            "Upload"
                            <input type="file" accept="image/*" multiple class="visually-hidden" on:change=upload data-testid="upload"
                                aria-label=move || label("Upload images to") />
                        </label>
                        <button class="quiet small delete" aria-label=move || label("Delete") title="Delete" on:click=move |_| {
                            if let Some(Err(e)) = studio.try_update(|s| s.delete(id)) { notice.say(e, true) }
                            selected.update(|s| s.retain(|&x| x != id));
                        }>"×"</button>
                    }.into_any(),
                }}
            </header>
            <div class="class-body">
                <div class="thumbs">
                    <For each=thumb_indices key=|i| *i let:i>
                        <Thumb pixels=Memo::new(move |_| studio.with(|s| s.class(id).ok().and_then(|c| c.samples.get(i)).map(|s| s.pixels.clone())).unwrap_or_default()).into() />
                    </For>
                </div>
                <span class="count" data-testid="sample-count">{count} " images"</span>
            </div>
        </article>
    }
}

/// One sample drawn at its real resolution (scaled up by CSS).
#[component]
pub fn Thumb(
    /// The sample's pixels, RGB (3 × side × side bytes).
    pixels: Signal<Vec<u8>>,
) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        if let Some(c) = canvas.get() {
            let pixels = pixels.get();
            // The side follows from the pixel count (3 × side × side).
            let side = ((pixels.len() / 3) as f64).sqrt() as usize;
            draw_sample(&c, &pixels, side);
        }
    });
    view! { <canvas node_ref=canvas class="thumb" width="32" height="32"></canvas> }
}
