//! Icons drawn as inline SVG, so they look the same on every machine (an emoji needs a colour
//! emoji font, which many classroom machines and the test machine lack).

use leptos::prelude::*;

/// A padlock: a locked branch, a learned class.
#[component]
pub fn LockIcon(
    /// What the icon means, for screen readers; none when the text beside it says it.
    #[prop(optional)]
    label: Option<&'static str>,
) -> impl IntoView {
    view! {
        <svg class="lock-icon" viewBox="0 0 16 16" width="14" height="14" role=label.map(|_| "img") aria-label=label aria-hidden=label.is_none().then_some("true")>
            <path fill="currentColor" d="M4 7V5a4 4 0 0 1 8 0v2h1.5v8h-11V7H4zm2 0h4V5a2 2 0 0 0-4 0v2z" />
        </svg>
    }
}
