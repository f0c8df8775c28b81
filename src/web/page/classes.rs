//! The classes room: the class list, adding classes by name, from folders or the built-in
//! digits, and adding uploaded images to a class.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reactive_stores::Field;

use super::class_card::ClassCard;
use super::class_images::add_files;
use super::notice::Notice;
use super::shortcuts::{Commands, on_command};
use crate::classroom::studio::Studio;
use crate::web::browser::images::{bundled_digit, fetch_bytes};

/// Loads digits 0–5 as six classes of 40 real MNIST images each.
async fn load_sample_classes(studio: Field<Studio>, selected: Field<Vec<usize>>, notice: Notice) {
    let bytes = match fetch_bytes("www/samples/mnist-28.bin").await {
        Ok(b) => b,
        Err(e) => return notice.say(format!("The sample classes could not be loaded: {e}"), true),
    };
    studio.update(|studio| {
        for digit in 0..6 {
            let name = format!("Digit {digit}");
            let Ok(id) = studio.add_digit_class(&name) else {
                continue;
            };
            for i in 0..40 {
                if let Some(pixels) = bundled_digit(&bytes, digit, i, studio.input_size) {
                    let _ = studio.add_sample(id, pixels);
                }
            }
        }
    });
    let first_two: Vec<usize> =
        studio.with_untracked(|s| s.classes.iter().take(2).map(|c| c.id).collect());
    selected.set(first_two);
    notice.say(
        "Six digit classes added. Digits 0 and 1 are picked for the first step: press “Learn”.",
        false,
    );
}

/// The class list: add a class, drop folders, try the sample classes, one card per class.
#[component]
pub fn ClassesPanel(
    /// The classes and their images.
    studio: Field<Studio>,
    /// Classes picked for the next step (the cards tick them).
    selected: Field<Vec<usize>>,
) -> impl IntoView {
    let notice = Notice::get();
    let new_name = RwSignal::new(String::new());
    let add = move || match studio.try_update(|s| s.add_class(&new_name.get_untracked())) {
        Some(Ok(_)) => new_name.set(String::new()),
        Some(Err(e)) => notice.say(e, true),
        None => {}
    };
    let name_field = NodeRef::<leptos::html::Input>::new();
    on_command(Commands::get().new_class, move || {
        if let Some(field) = name_field.get_untracked() {
            let _ = field.focus();
        }
    });
    let class_ids = move || studio.with(|s| s.classes.iter().map(|c| c.id).collect::<Vec<usize>>());
    let drop_folders = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        let Some(data) = ev.data_transfer() else {
            return;
        };
        let entries = crate::web::browser::drop::entries(&data);
        spawn_local(async move {
            let dropped = crate::web::browser::drop::collect(entries).await;
            if dropped.folders.is_empty() {
                if !dropped.files.is_empty() {
                    notice.say("Drop images onto a class card, or drop a folder here to make a class of it.", true);
                }
                return;
            }
            let mut added_total = 0;
            let mut problems = Vec::new();
            let mut classes = Vec::new();
            for (name, files) in dropped.folders {
                let existing = studio.with_untracked(|s| {
                    s.classes
                        .iter()
                        .find(|c| {
                            c.name.to_lowercase() == name.trim().to_lowercase()
                                && c.learned_in_step.is_none()
                        })
                        .map(|c| c.id)
                });
                let id = match existing {
                    Some(id) => id,
                    None => match studio.try_update(|s| s.add_class(&name)) {
                        Some(Ok(id)) => id,
                        Some(Err(e)) => {
                            problems.push(format!("Folder “{name}”: {e}"));
                            continue;
                        }
                        None => continue,
                    },
                };
                let (added, mut skipped) = add_files(studio, id, files).await;
                added_total += added;
                problems.append(&mut skipped);
                classes.push(name);
            }
            let message = format!("Classes from folders: {}.", classes.join(", "));
            if problems.is_empty() {
                notice.say(format!("{message} Added {added_total} images."), false);
            } else {
                notice.say(
                    format!(
                        "{message} Added {added_total} images. Skipped: {}",
                        problems.join(" ")
                    ),
                    true,
                );
            }
        });
    };
    view! {
        <section class="card classes-card" aria-labelledby="classes-title"
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=drop_folders>
            <div class="row spread">
                <h2 id="classes-title">"Classes"</h2>
                <button data-testid="try-samples" on:click=move |_| spawn_local(load_sample_classes(studio, selected, notice))
                    disabled=move || studio.with(|s| !s.classes.is_empty())>
                    "Try sample classes"
                </button>
            </div>
            <Show when=move || studio.with(|s| s.classes.is_empty())>
                <p class="empty">"No classes yet. Name one and add pictures (upload, camera, or drop a folder here), or try the sample digits."</p>
            </Show>
            <form class="row add-class" on:submit=move |ev| { ev.prevent_default(); add(); }>
                <input type="text" node_ref=name_field placeholder="New class name" aria-label="New class name" data-testid="class-name" aria-keyshortcuts="N"
                    prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev)) />
                <button type="submit" data-testid="add-class">"Add class"</button>
            </form>
            <div class="classes">
                <For each=class_ids key=|id| *id let:id>
                    <ClassCard studio=studio selected=selected id=id />
                </For>
            </div>
        </section>
    }
}
