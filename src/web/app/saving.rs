//! Where the session lives: saved in this browser after every change (only by the tab that
//! owns it), restored on reload, exported and imported as a file, taken over from another tab,
//! and what the browser promises about keeping it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_use_fn_debounce_throttle::{use_debounce_fn_with_options, DebounceOptions};
use wasm_bindgen::JsCast;

use std::collections::HashMap;

use super::{classroom_config, PageState, SaveFigures, INPUT_SIZE};
use crate::session::Session;
use crate::studio::Studio;
use crate::web::storage::{self, Saved};
use crate::web::tab_lock::{self, Ownership};

/// Reads the session saved in this browser and queues it for the worker. `welcome` starts the
/// message shown once it is back. The read waits for any save in flight in another tab.
pub(super) async fn restore_saved_session(state: PageState, welcome: &'static str) {
    let saved = match tab_lock::exclusively(storage::load_session()).await {
        Ok(Saved::Nothing) => return state.can_save.set(true),
        Ok(saved) => saved,
        Err(e) => {
            state.can_save.set(true);
            state.save_status.set((format!("Not saved: this browser does not allow saving ({e}). Use Export to keep your work."), true));
            return;
        }
    };
    // The images move into the session (no copy of thousands of them); a session that cannot
    // be read is read again to be kept aside.
    let decoded = match saved {
        Saved::Whole(bytes) => Session::decode(&bytes),
        Saved::Split { meta, images } => Session::decode_split(&meta, images),
        Saved::Nothing => unreachable!("returned above"),
    };
    match decoded {
        Ok(session) => {
            let classes = session.studio.classes.len();
            let images = session.studio.sample_count();
            let steps = session.outcome.as_ref().map_or(0, |o| o.summary.step + 1);
            let message = format!("{welcome} ({classes} classes, {images} images, {steps} steps learned).");
            state.pending.set(Some((session, message)));
        }
        Err(e) => {
            // Kept aside, never overwritten: a newer app version may read it.
            let kept = state.tab.owns()
                && match storage::load_session().await {
                    Ok(saved) => storage::keep_aside(&saved).await.is_ok(),
                    Err(_) => false,
                };
            state.can_save.set(true);
            state.say(
                format!(
                    "The session saved in this browser could not be opened: {e}.{} Starting a new session.",
                    if kept { " It was kept aside, not deleted." } else { "" }
                ),
                true,
            );
        }
    }
}

/// Takes the session over from another tab: that tab stops saving, and this one reads what it
/// saved last (after its save in flight, if any) before saving anything itself.
async fn take_over(state: PageState) {
    state.can_save.set(false);
    if state.tab.take_over().await {
        restore_saved_session(state, "This tab now has the session").await;
    }
}

/// Once there is something worth keeping, asks the browser not to clear this site's storage
/// when space runs low (once per page), and shows the answer.
pub(super) async fn ask_to_keep_storage(state: PageState) {
    if state.persistent.get_untracked() == Some(true) {
        return;
    }
    let granted = match storage::persistent(false).await {
        Some(true) => Some(true),
        _ if state.persistent.get_untracked().is_none() => storage::persistent(true).await,
        known => known,
    };
    state.persistent.set(granted.or(Some(false)));
}

/// Saves the session a moment after every change: one write for a burst of changes, but at
/// least every two seconds while changes keep coming (thousands of images arriving), never two
/// writes at once, and only in the tab that owns the session.
///
/// The timing is leptos-use's `use_debounce_fn` with `max_wait`: 0.4 s after the last change,
/// and at most 2 s after the first unsaved one. "Never two at once" is ours (`saving`/`again`
/// below): a debounce only spaces the calls, and a save of thousands of images can outlast
/// the next call. (`use_interval_fn` does not fit: it would wake every 2 s with nothing to
/// save.)
pub(super) fn autosave(state: PageState) {
    const QUIET_MS: f64 = 400.0;
    const MAX_WAIT_MS: f64 = 2000.0;
    let oldest_unsaved = StoredValue::new_local(None::<f64>);
    let saving = StoredValue::new_local(false);
    let again = StoredValue::new_local(false);
    let save = move || {
        spawn_local(async move {
            if saving.get_value() {
                again.set_value(true);
                return;
            }
            saving.set_value(true);
            loop {
                oldest_unsaved.set_value(None);
                again.set_value(false);
                if !(state.tab.owns() && state.can_save.get_untracked()) {
                    break;
                }
                let started = now_ms();
                // Only the classes whose images changed since the last save are written (all of
                // them after a restore, an import or Start over).
                let known = state.saved_images.get_value();
                let whole = known.is_none();
                let known = known.unwrap_or_default();
                let rest = state.session_without_images();
                let (meta, images, removed, now_saved, session_bytes) = state.studio.with_untracked(|studio| {
                    let mark = |c: &crate::studio::ClassEntry| (c.samples.len(), studio.input_size);
                    let (meta, images) = rest.encode_split(studio, |c| whole || known.get(&c.id) != Some(&mark(c)));
                    let removed: Vec<usize> = known.keys().filter(|id| studio.class(**id).is_err()).copied().collect();
                    let now_saved: HashMap<usize, (usize, usize)> = studio.classes.iter().map(|c| (c.id, mark(c))).collect();
                    let pixels = studio.sample_count() * 3 * studio.input_size * studio.input_size;
                    let session_bytes = meta.len() + pixels;
                    (meta, images, removed, now_saved, session_bytes)
                });
                let written_bytes = meta.len() + images.iter().map(|(_, p)| p.len()).sum::<usize>();
                let tab = state.tab;
                // The ownership is checked again under the write lock: a tab that lost the
                // session a moment ago must not write over the new owner's.
                let written = tab_lock::exclusively(async move {
                    if tab.owns() { Some(storage::save_session(&meta, &images, &removed, whole).await) } else { None }
                })
                .await;
                if matches!(written, Some(Ok(()))) {
                    state.saved_images.set_value(Some(now_saved));
                }
                match written {
                    Some(Ok(())) => {
                        state.last_save.set(Some(SaveFigures { session_bytes, written_bytes, millis: now_ms() - started }));
                        state.save_status.set((format!("Saved in this browser ({})", storage::megabytes(session_bytes as f64)), false));
                    }
                    Some(Err(e)) if e.contains("storage for this site is full") => {
                        state.save_status.set((format!("Not saved: {}.", storage::full_message().await), true));
                    }
                    Some(Err(e)) => state.save_status.set((format!("Not saved: {e}. Your work is still here: use Export to keep it."), true)),
                    None => {}
                }
                if !again.get_value() {
                    break;
                }
            }
            saving.set_value(false);
            state.unsaved.set(oldest_unsaved.get_value().is_some());
        });
    };
    let save_soon = use_debounce_fn_with_options(save, QUIET_MS, DebounceOptions::default().max_wait(Some(MAX_WAIT_MS)));
    Effect::new(move |_| {
        state.studio.track();
        state.config.track();
        state.outcome.track();
        state.params_history.track();
        state.model.track();
        state.selected.track();
        state.compare.track();
        state.baseline_model.track();
        if !state.can_save.get() || state.tab.ownership.get() != Ownership::Owner {
            return;
        }
        state.unsaved.set(true);
        if oldest_unsaved.get_value().is_none() {
            oldest_unsaved.set_value(Some(now_ms()));
        }
        save_soon();
    });
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// Where the session lives: saved state, export to a file, import from one, start over; and
/// whether this tab may save it at all.
#[component]
pub(super) fn SessionBar(state: PageState) -> impl IntoView {
    let export = move |_| {
        let bytes = state.encoded_session();
        if let Err(e) = storage::download("der-studio-session.derstudio", &bytes) {
            state.say(format!("The session could not be exported: {e}"), true);
        }
    };
    let import = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        spawn_local(async move {
            let name = file.name();
            let result = storage::read_file(&file).await.and_then(|bytes| {
                Session::decode(&bytes).map_err(|e| format!("“{name}” could not be opened: {e}. Your current session is unchanged."))
            });
            match result {
                Ok(session) => state.pending.set(Some((session, format!("Opened “{name}”.")))),
                Err(e) => state.say(e, true),
            }
        });
    };
    let start_over = move |_| {
        let confirmed = web_sys::window()
            .and_then(|w| w.confirm_with_message("Start a new session? Export first if you want to keep this one.").ok())
            .unwrap_or(false);
        if confirmed {
            let session = Session {
                studio: Studio::new(INPUT_SIZE),
                config: classroom_config(),
                outcome: None,
                params_history: Vec::new(),
                model: None,
                selected: Vec::new(),
                compare: false,
                baseline: None,
            };
            state.pending.set(Some((session, "A new, empty session.".into())));
        }
    };
    let owner = move || state.tab.ownership.get() == Ownership::Owner;
    let save_data = move || {
        state.last_save.get().map(|s| (s.session_bytes.to_string(), format!("{:.0}", s.millis), s.written_bytes.to_string())).unwrap_or_default()
    };
    view! {
        <div class="session-bar" data-testid="session-bar">
            <span class="save-status" class:error=move || state.save_status.get().1 data-testid="save-status"
                data-bytes=move || save_data().0 data-millis=move || save_data().1 data-written=move || save_data().2
                data-pending=move || state.unsaved.get().to_string() aria-live="polite">
                {move || {
                    if state.pending.get().is_some() { "Opening session…".to_string() }
                    else if !owner() { "Not saved in this tab".to_string() }
                    else { state.save_status.get().0 }
                }}
            </span>
            <StorageKept state=state />
            <button class="small" data-testid="export" on:click=export>"Export session"</button>
            <label class="button small" class:disabled=move || !owner()>"Import session"
                <input type="file" accept=".derstudio,application/octet-stream" class="visually-hidden"
                    on:change=import data-testid="import" disabled=move || !owner() />
            </label>
            <button class="quiet small" data-testid="start-over" on:click=start_over
                disabled=move || state.learning.get().is_some() || !owner()>"Start over"</button>
        </div>
        <OtherTabNotice state=state />
    }
}

/// Whether the browser promised to keep the saved session; when it did not, a reminder to Export.
#[component]
fn StorageKept(state: PageState) -> impl IntoView {
    move || match state.persistent.get() {
        Some(true) => view! {
            <span class="kept" data-testid="storage-kept" data-persistent="true">"Kept by this browser"</span>
        }.into_any(),
        Some(false) => view! {
            <span class="kept warn" data-testid="storage-kept" data-persistent="false">
                "This browser may clear saved work when space runs low: Export the session after each step."
            </span>
        }.into_any(),
        None => ().into_any(),
    }
}

/// Shown while another tab has the session: this tab is read-only until it takes over.
#[component]
fn OtherTabNotice(state: PageState) -> impl IntoView {
    move || {
        let text = match state.tab.ownership.get() {
            Ownership::OtherTab => "This session is open in another tab. This tab shows it read-only: nothing you do here is saved, and Learn is off.",
            Ownership::TakenOver => "This session was taken over by another tab. This tab no longer saves: close it, or take the session back here.",
            Ownership::Owner | Ownership::Checking => return ().into_any(),
        };
        view! {
            <div class="notice error other-tab" role="alert" data-testid="other-tab">
                <span>{text}</span>
                <button class="small" data-testid="take-over" on:click=move |_| spawn_local(take_over(state))>
                    "Use the session in this tab"
                </button>
            </div>
        }.into_any()
    }
}

