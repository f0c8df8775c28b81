//! Autosave: the session is saved in this browser after every change (only by the tab that
//! owns it), and the browser is asked to keep it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_use_fn_debounce_throttle::{DebounceOptions, use_debounce_fn_with_options};
use reactive_stores::Store;

use std::collections::HashMap;

use super::loading::Loader;
use super::state::{Classroom, ClassroomExt, ClassroomStoreFields};
use crate::web::browser::storage;
use crate::web::browser::tab_lock::{self, Ownership, TabLock};

/// One save of the session in this browser.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SaveFigures {
    /// The whole saved session (what Export would write, near enough).
    pub session_bytes: usize,
    /// What this save wrote: the meta and the classes whose images changed.
    pub written_bytes: usize,
    /// Encoding and writing, in milliseconds.
    pub millis: f64,
}

/// What the page knows about the saved session.
#[derive(Clone, Copy)]
pub struct Saving {
    /// The save line's text, and whether it is an error.
    pub status: RwSignal<(String, bool)>,
    /// The last save.
    pub last: RwSignal<Option<SaveFigures>>,
    /// Changes not saved yet (a save is scheduled or running).
    pub unsaved: RwSignal<bool>,
    /// Whether the browser keeps this site's storage when space runs low (None: not known yet).
    pub persistent: RwSignal<Option<bool>>,
    /// What the browser holds of each class's images since the last save: (images, image
    /// size) by class id, so a save writes only the classes that changed. `None`: the page
    /// holds a session it has not saved whole yet (restored, imported, started over).
    pub saved_images: StoredValue<Option<SavedImages>, LocalStorage>,
}

/// (images, image size) by class id, as last saved.
pub type SavedImages = HashMap<usize, (usize, usize)>;

impl Saving {
    pub fn new() -> Self {
        Self {
            status: RwSignal::new((String::new(), false)),
            last: RwSignal::new(None),
            unsaved: RwSignal::new(false),
            persistent: RwSignal::new(None),
            saved_images: StoredValue::new_local(None),
        }
    }
}

/// Once there is something worth keeping, asks the browser not to clear this site's storage
/// when space runs low (once per page), and shows the answer.
pub async fn ask_to_keep_storage(persistent: RwSignal<Option<bool>>) {
    if persistent.get_untracked() == Some(true) {
        return;
    }
    let granted = match storage::persistent(false).await {
        Some(true) => Some(true),
        _ if persistent.get_untracked().is_none() => storage::persistent(true).await,
        known => known,
    };
    persistent.set(granted.or(Some(false)));
}

/// Saves the session a moment after every change: one write for a burst of changes, but at
/// least every two seconds while changes keep coming (thousands of images arriving), never two
/// writes at once, and only in the tab that owns the session (and once `load` allows it).
///
/// The timing is leptos-use's `use_debounce_fn` with `max_wait`: 0.4 s after the last change,
/// and at most 2 s after the first unsaved one. "Never two at once" is ours: a debounce only
/// spaces the calls, and a save of thousands of images can outlast the next call.
/// (`use_interval_fn` does not fit: it would wake every 2 s with nothing to save.)
pub fn autosave(room: Store<Classroom>, load: Loader, tab: TabLock, saving: Saving) {
    const QUIET_MS: f64 = 400.0;
    const MAX_WAIT_MS: f64 = 2000.0;
    let oldest_unsaved = StoredValue::new_local(None::<f64>);
    let busy = StoredValue::new_local(false);
    let again = StoredValue::new_local(false);
    let save = move || {
        spawn_local(async move {
            if busy.get_value() {
                again.set_value(true);
                return;
            }
            busy.set_value(true);
            loop {
                oldest_unsaved.set_value(None);
                again.set_value(false);
                if !(tab.owns() && load.can_save_untracked()) {
                    break;
                }
                let started = now_ms();
                // Only the classes whose images changed since the last save are written (all of
                // them after a restore, an import or Start over).
                let known = saving.saved_images.get_value();
                let whole = known.is_none();
                let known = known.unwrap_or_default();
                let rest = room.session_without_images();
                let (meta, images, removed, now_saved, session_bytes) =
                    room.studio().with_untracked(|studio| {
                        let mark = |c: &crate::classroom::studio::ClassEntry| {
                            (c.samples.len(), studio.input_size)
                        };
                        let (meta, images) = rest
                            .encode_split(studio, |c| whole || known.get(&c.id) != Some(&mark(c)));
                        let removed: Vec<usize> = known
                            .keys()
                            .filter(|id| studio.class(**id).is_err())
                            .copied()
                            .collect();
                        let now_saved: HashMap<usize, (usize, usize)> =
                            studio.classes.iter().map(|c| (c.id, mark(c))).collect();
                        let pixels =
                            studio.sample_count() * 3 * studio.input_size * studio.input_size;
                        let session_bytes = meta.len() + pixels;
                        (meta, images, removed, now_saved, session_bytes)
                    });
                let written_bytes = meta.len() + images.iter().map(|(_, p)| p.len()).sum::<usize>();
                // The ownership is checked again under the write lock: a tab that lost the
                // session a moment ago must not write over the new owner's.
                let written = tab_lock::exclusively(async move {
                    if tab.owns() {
                        Some(storage::save_session(&meta, &images, &removed, whole).await)
                    } else {
                        None
                    }
                })
                .await;
                if matches!(written, Some(Ok(()))) {
                    saving.saved_images.set_value(Some(now_saved));
                }
                match written {
                    Some(Ok(())) => {
                        saving.last.set(Some(SaveFigures {
                            session_bytes,
                            written_bytes,
                            millis: now_ms() - started,
                        }));
                        saving.status.set((
                            format!(
                                "Saved in this browser ({})",
                                storage::megabytes(session_bytes as f64)
                            ),
                            false,
                        ));
                    }
                    Some(Err(e)) if e.contains("storage for this site is full") => {
                        saving.status.set((
                            format!("Not saved: {}.", storage::full_message().await),
                            true,
                        ));
                    }
                    Some(Err(e)) => saving.status.set((
                        format!("Not saved: {e}. Your work is still here: use Export to keep it."),
                        true,
                    )),
                    None => {}
                }
                if !again.get_value() {
                    break;
                }
            }
            busy.set_value(false);
            saving.unsaved.set(oldest_unsaved.get_value().is_some());
        });
    };
    let save_soon = use_debounce_fn_with_options(
        save,
        QUIET_MS,
        DebounceOptions::default().max_wait(Some(MAX_WAIT_MS)),
    );
    Effect::new(move |_| {
        room.studio().track();
        room.config().track();
        room.outcome().track();
        room.params_history().track();
        room.model().track();
        room.selected().track();
        room.comparison().track();
        room.baseline_models().track();
        room.augmentation().track();
        if !load.can_save() || tab.ownership.get() != Ownership::Owner {
            return;
        }
        saving.unsaved.set(true);
        if oldest_unsaved.get_value().is_none() {
            oldest_unsaved.set_value(Some(now_ms()));
        }
        save_soon();
    });
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}
