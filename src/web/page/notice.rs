//! The notice: one line at the top of the page that says what just happened (or went wrong),
//! shared through context so any component can [`Notice::say`] something.

use leptos::prelude::*;

/// The page's notice, provided as context by the page.
#[derive(Clone, Copy)]
pub struct Notice {
    /// The message and whether it is an error.
    pub message: RwSignal<Option<(String, bool)>>,
    /// The worker failed as a lost GPU does: the notice offers the CPU.
    pub gpu_error: RwSignal<bool>,
    /// The worker died during a step: continuing on the CPU runs that step again.
    pub interrupted_step: RwSignal<bool>,
}

impl Notice {
    pub fn new() -> Self {
        Self {
            message: RwSignal::new(None),
            gpu_error: RwSignal::new(false),
            interrupted_step: RwSignal::new(false),
        }
    }

    /// The notice of the page this component is part of.
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// Shows `message` (in red when `is_error`).
    pub fn say(self, message: impl Into<String>, is_error: bool) {
        self.message.set(Some((message.into(), is_error)));
    }

    /// Hides the notice.
    pub fn clear(self) {
        self.message.set(None);
    }
}

/// The notice line, with "Continue on the CPU" after a GPU fault; with no notice, a quiet hint
/// of what to do next (the line keeps its place either way). Takes the [`Notice`] from context.
#[component]
pub fn NoticeLine(
    /// What to do next, shown while there is no notice.
    #[prop(into)]
    hint: Signal<String>,
) -> impl IntoView {
    let notice = Notice::get();
    view! {
        <Show when=move || notice.message.get().is_some() fallback=move || view! { <p class="notice hint">{hint}</p> }>
            <div
                class=move || if notice.message.get().map(|(_, e)| e).unwrap_or(false) { "notice error" } else { "notice" }
                role=move || if notice.message.get().is_some_and(|(_, e)| e) { "alert" } else { "status" }
                data-testid="notice"
            >
                <span>{move || notice.message.get().map(|(m, _)| m).unwrap_or_default()}</span>
                <Show when=move || notice.gpu_error.get()>
                    <a class="button" data-testid="continue-on-cpu"
                        href=move || if notice.interrupted_step.get() { "?backend=cpu&resume=step" } else { "?backend=cpu" }>
                        {move || if notice.interrupted_step.get() { "Continue on the CPU (runs the step again)" } else { "Continue on the CPU" }}
                    </a>
                </Show>
                <button class="quiet" on:click=move |_| notice.clear() aria-label="Dismiss">"×"</button>
            </div>
        </Show>
    }
}
