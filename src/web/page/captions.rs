//! The first-run explanation: four short captions on the representation diagram, one per move
//! DER makes. Shown on the first visit; "Got it" hides them (remembered in this browser) and
//! the help button brings them back.

use leptos::prelude::*;

use super::icons::LockIcon;

/// Remembers in this browser that the captions were dismissed.
const DISMISSED_KEY: &str = "der-studio-captions-dismissed";

/// Whether the captions show, provided as context (the help button opens them).
#[derive(Clone, Copy)]
pub struct Help(pub RwSignal<bool>);

impl Help {
    /// Open on the first visit: nothing remembers a dismissal yet.
    pub fn new() -> Self {
        let dismissed = local_storage()
            .and_then(|s| s.get_item(DISMISSED_KEY).ok().flatten())
            .is_some();
        Self(RwSignal::new(!dismissed))
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }

    pub fn dismiss(self) {
        self.0.set(false);
        if let Some(s) = local_storage() {
            let _ = s.set_item(DISMISSED_KEY, "1");
        }
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Captions 1–3, laid over the diagram's columns (its `.diagram-area`).
#[component]
pub fn Captions() -> impl IntoView {
    let help = Help::get();
    view! {
        <Show when=move || help.0.get()>
            <div class="captions" data-testid="captions" role="note" aria-label="How DER works, part 1 of 2">
                <p class="caption" data-testid="caption"><b>"1 · A new branch per step."</b>" Each step adds a fresh column of channels that learns the new classes."</p>
                <p class="caption" data-testid="caption"><b>"2 · Old branches are locked."</b><LockIcon />" Earlier columns never train again, so what they learned stays."</p>
                <p class="caption" data-testid="caption"><b>"3 · Channels are pruned."</b>" Channels that fade during training are switched off and removed: the column narrows."</p>
            </div>
        </Show>
    }
}

/// Caption 4, on the classifier (its `.classifier-area`), with the button that dismisses all.
#[component]
pub fn ClassifierCaption() -> impl IntoView {
    let help = Help::get();
    view! {
        <Show when=move || help.0.get()>
            <div class="captions classifier-caption" role="note" aria-label="How DER works, part 2 of 2">
                <p class="caption" data-testid="caption"><b>"4 · The classifier is re-balanced."</b>" After each step it is re-learned on equal numbers of old and new images."</p>
                <button class="primary small got-it" data-testid="captions-dismiss" on:click=move |_| help.dismiss()>"Got it"</button>
            </div>
        </Show>
    }
}
