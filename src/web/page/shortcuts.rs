//! Keyboard shortcuts for the classroom loop, and presentation mode (large type, only the
//! loop, full screen, the shortcuts on screen).
//!
//! A shortcut is a [`Commands`] pulse: the key handler here only counts it, and the room that
//! owns the action (the step, the camera, the prediction, the classes) reacts through
//! [`on_command`], so no room reaches into another.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::url::url_param;

/// The shortcuts, as pulses (a counter that goes up) and one held key.
#[derive(Clone, Copy)]
pub struct Commands {
    /// L: learn the picked classes.
    pub learn: RwSignal<u32>,
    /// P: start or stop live prediction.
    pub live: RwSignal<u32>,
    /// N: name a new class.
    pub new_class: RwSignal<u32>,
    /// Esc: cancel the running step.
    pub cancel: RwSignal<u32>,
    /// Space, held: record from the camera.
    pub record: RwSignal<bool>,
}

impl Commands {
    pub fn new() -> Self {
        Self {
            learn: RwSignal::new(0),
            live: RwSignal::new(0),
            new_class: RwSignal::new(0),
            cancel: RwSignal::new(0),
            record: RwSignal::new(false),
        }
    }

    /// The commands of the page this component is part of.
    pub fn get() -> Self {
        expect_context::<Self>()
    }
}

/// Runs `action` (untracked) each time `pulse` goes up, never when it is created.
pub fn on_command(pulse: RwSignal<u32>, action: impl Fn() + 'static) {
    Effect::new(move |previous: Option<u32>| {
        let now = pulse.get();
        if previous.is_some_and(|p| p != now) {
            untrack(&action);
        }
        now
    });
}

/// Presentation mode, provided as context: `?present` or the Present button.
#[derive(Clone, Copy)]
pub struct Presenting(pub RwSignal<bool>);

impl Presenting {
    pub fn new() -> Self {
        let on = RwSignal::new(url_param("present").is_some());
        // The whole document changes (type size, what is shown): one class on <html>.
        Effect::new(move |_| {
            if let Some(root) = document().document_element() {
                let _ = root.class_list().toggle_with_force("present", on.get());
            }
        });
        Self(on)
    }

    /// Enters (with full screen, which needs this click) or leaves presentation mode.
    pub fn toggle(self) {
        let entering = !self.0.get_untracked();
        self.0.set(entering);
        let document = document();
        if entering {
            if let Some(root) = document.document_element() {
                let _ = root.request_fullscreen();
            }
        } else if document.fullscreen_element().is_some() {
            document.exit_fullscreen();
        }
    }
}

/// Whether a key pressed in `target` belongs to it (typing, or a control's own keys) rather
/// than to the shortcuts. In presentation mode only text fields and lists keep Space.
fn keeps_key(target: Option<web_sys::EventTarget>, key: &str, presenting: bool) -> bool {
    let Some(element) = target.and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
        return false;
    };
    let tag = element.tag_name().to_ascii_lowercase();
    let typing = matches!(tag.as_str(), "textarea" | "select")
        || (tag == "input"
            && element
                .get_attribute("type")
                .is_none_or(|t| matches!(t.as_str(), "text" | "number" | "search")));
    if typing {
        return true;
    }
    // Space presses a focused button or ticks a box; in presentation mode it always records.
    key == " "
        && !presenting
        && matches!(tag.as_str(), "button" | "input" | "a" | "summary" | "label")
}

/// Listens for the shortcuts on the whole page.
pub fn listen(commands: Commands, presenting: Presenting) {
    let down = window_event_listener(ev::keydown, move |e: web_sys::KeyboardEvent| {
        if e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        let key = e.key();
        if keeps_key(e.target(), &key, presenting.0.get_untracked()) {
            return;
        }
        let pulse = |s: RwSignal<u32>| s.update(|n| *n += 1);
        match key.as_str() {
            " " => {
                e.prevent_default();
                if !e.repeat() {
                    commands.record.set(true);
                }
            }
            "l" | "L" => pulse(commands.learn),
            "p" | "P" => pulse(commands.live),
            "n" | "N" => {
                // The key would otherwise type an "n" into the name field it focuses.
                e.prevent_default();
                pulse(commands.new_class);
            }
            "Escape" => pulse(commands.cancel),
            _ => {}
        }
    });
    let up = window_event_listener(ev::keyup, move |e: web_sys::KeyboardEvent| {
        if e.key() == " " && commands.record.get_untracked() {
            e.prevent_default();
            commands.record.set(false);
        }
    });
    on_cleanup(move || {
        down.remove();
        up.remove();
    });
}

/// The shortcuts, on screen (always in presentation mode; in the help otherwise).
#[component]
pub fn ShortcutBar() -> impl IntoView {
    view! {
        <p class="shortcut-bar" data-testid="shortcuts" aria-label="Keyboard shortcuts">
            <span><kbd>"Space"</kbd>" hold to record"</span>
            <span><kbd>"L"</kbd>" learn"</span>
            <span><kbd>"P"</kbd>" live prediction"</span>
            <span><kbd>"N"</kbd>" new class"</span>
            <span><kbd>"Esc"</kbd>" cancel"</span>
        </p>
    }
}
