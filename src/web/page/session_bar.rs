//! The session bar: whether the session is saved, export to a file, import from one, start
//! over; and, while another tab has the session, the offer to take it over.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reactive_stores::Store;
use wasm_bindgen::JsCast;

use super::loading::{Loader, take_over};
use super::notice::Notice;
use super::saving::Saving;
use super::state::{Classroom, ClassroomExt, empty_session};
use crate::classroom::session::Session;
use crate::web::browser::storage;
use crate::web::browser::tab_lock::{Ownership, TabLock};

/// Where the session lives: saved state, export to a file, import from one, start over; and
/// whether this tab may save it at all.
#[component]
pub fn SessionBar(
    /// The classroom, read whole for Export.
    room: Store<Classroom>,
    /// Imports and Start over queue their session here; "Opening session…" while one loads.
    load: Loader,
    /// Whether this tab owns the session.
    tab: TabLock,
    /// The save line and the browser's promise to keep the storage.
    saving: Saving,
    /// Start over is off while a step runs.
    #[prop(into)]
    step_running: Signal<bool>,
) -> impl IntoView {
    let notice = Notice::get();
    let export = move |_| {
        let bytes = room.encoded_session();
        if let Err(e) = storage::download("der-studio-session.derstudio", &bytes) {
            notice.say(format!("The session could not be exported: {e}"), true);
        }
    };
    let import = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        spawn_local(async move {
            let name = file.name();
            let result = storage::read_file(&file).await.and_then(|bytes| {
                Session::decode(&bytes).map_err(|e| {
                    format!("“{name}” could not be opened: {e}. Your current session is unchanged.")
                })
            });
            match result {
                Ok(session) => load.queue(session, format!("Opened “{name}”.")),
                Err(e) => notice.say(e, true),
            }
        });
    };
    let start_over = move |_| {
        let confirmed = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(
                    "Start a new session? Export first if you want to keep this one.",
                )
                .ok()
            })
            .unwrap_or(false);
        if confirmed {
            load.queue(empty_session(), "A new, empty session.".into());
        }
    };
    let owner = move || tab.ownership.get() == Ownership::Owner;
    let save_data = move || {
        saving
            .last
            .get()
            .map(|s| {
                (
                    s.session_bytes.to_string(),
                    format!("{:.0}", s.millis),
                    s.written_bytes.to_string(),
                )
            })
            .unwrap_or_default()
    };
    view! {
        <div class="session-bar" data-testid="session-bar">
            <span class="save-status" class:error=move || saving.status.get().1 data-testid="save-status"
                data-bytes=move || save_data().0 data-millis=move || save_data().1 data-written=move || save_data().2
                data-pending=move || saving.unsaved.get().to_string() aria-live="polite">
                {move || {
                    if load.is_loading() { "Opening session…".to_string() }
                    else if !owner() { "Not saved in this tab".to_string() }
                    else { saving.status.get().0 }
                }}
            </span>
            <button class="small" data-testid="export" aria-label="Export session" title="Save this session as a file" on:click=export>"Export"</button>
            <label class="button small" class:disabled=move || !owner() title="Open a session file">"Import"
                <input type="file" accept=".derstudio,application/octet-stream" class="visually-hidden" aria-label="Import session"
                    on:change=import data-testid="import" disabled=move || !owner() />
            </label>
            <button class="quiet small" data-testid="start-over" on:click=start_over
                disabled=move || step_running.get() || !owner()>"Start over"</button>
        </div>
    }
}

/// Whether the browser promised to keep the saved session; when it did not, a reminder to Export.
#[component]
pub fn StorageKept(
    /// The browser's answer (None: not asked yet).
    persistent: RwSignal<Option<bool>>,
) -> impl IntoView {
    move || {
        match persistent.get() {
        Some(true) => view! {
            <span class="kept" data-testid="storage-kept" data-persistent="true">"Kept by this browser"</span>
        }.into_any(),
        Some(false) => view! {
            <span class="kept warn" data-testid="storage-kept" data-persistent="false"
                title="This browser did not promise to keep saved work: when space runs low it may clear it. Export the session after each step.">
                "This browser may clear saved work: Export after each step."
            </span>
        }.into_any(),
        None => ().into_any(),
    }
    }
}

/// Shown while another tab has the session: this tab is read-only until it takes over.
#[component]
pub fn OtherTabNotice(
    /// Taking over reads the saved session again through it.
    load: Loader,
    /// Who owns the session.
    tab: TabLock,
    /// Where a refused read is reported.
    save_status: RwSignal<(String, bool)>,
) -> impl IntoView {
    let notice = Notice::get();
    move || {
        let text = match tab.ownership.get() {
            Ownership::OtherTab => {
                "This session is open in another tab. This tab shows it read-only: nothing you do here is saved, and Learn is off."
            }
            Ownership::TakenOver => {
                "This session was taken over by another tab. This tab no longer saves: close it, or take the session back here."
            }
            Ownership::Owner | Ownership::Checking => return ().into_any(),
        };
        view! {
            <div class="notice error other-tab" role="alert" data-testid="other-tab">
                <span>{text}</span>
                <button class="small" data-testid="take-over" on:click=move |_| spawn_local(take_over(load, tab, save_status, notice))>
                    "Use the session in this tab"
                </button>
            </div>
        }.into_any()
    }
}
