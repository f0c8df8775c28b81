//! The page's views: the classroom loop on one screen, and the details behind it (results,
//! settings, the engine check) as tabs.

use leptos::prelude::*;

/// One view of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Classes with capture, Learn, the representation, live prediction.
    Classroom,
    /// Accuracy after every step, DER against fine-tuning, confusion, memory, curves.
    Results,
    Settings,
    /// The engine check and the speed and memory figures.
    Check,
}

impl View {
    const ALL: [View; 4] = [View::Classroom, View::Results, View::Settings, View::Check];

    fn id(self) -> &'static str {
        match self {
            View::Classroom => "classroom",
            View::Results => "results",
            View::Settings => "settings",
            View::Check => "check",
        }
    }

    fn title(self) -> &'static str {
        match self {
            View::Classroom => "Classroom",
            View::Results => "Results",
            View::Settings => "Settings",
            View::Check => "Engine check",
        }
    }
}

/// The tabs, with the arrow keys moving between them (the WAI-ARIA tabs pattern).
#[component]
pub fn ViewTabs(
    /// The view shown.
    view: RwSignal<View>,
) -> impl IntoView {
    let key = move |ev: leptos::ev::KeyboardEvent| {
        let at = View::ALL
            .iter()
            .position(|v| *v == view.get_untracked())
            .unwrap_or(0);
        let next = match ev.key().as_str() {
            "ArrowRight" => (at + 1) % View::ALL.len(),
            "ArrowLeft" => (at + View::ALL.len() - 1) % View::ALL.len(),
            "Home" => 0,
            "End" => View::ALL.len() - 1,
            _ => return,
        };
        ev.prevent_default();
        view.set(View::ALL[next]);
        if let Some(tab) = document().get_element_by_id(&format!("tab-{}", View::ALL[next].id())) {
            use wasm_bindgen::JsCast;
            let _ = tab.unchecked_into::<web_sys::HtmlElement>().focus();
        }
    };
    view! {
        <nav class="tabs" role="tablist" aria-label="Views" on:keydown=key>
            {View::ALL.into_iter().map(|v| view! {
                <button role="tab" id=format!("tab-{}", v.id()) data-testid=format!("tab-{}", v.id())
                    aria-controls=format!("view-{}", v.id())
                    aria-selected=move || (view.get() == v).to_string()
                    tabindex=move || if view.get() == v { "0" } else { "-1" }
                    on:click=move |_| view.set(v)>
                    {v.title()}
                </button>
            }).collect_view()}
        </nav>
    }
}
