//! The one place that knows whether a session is loading: read from this browser, imported
//! from a file, started over, or taken over from another tab. The page changes nothing while
//! the worker has not accepted the session's model, and autosave waits until it has.

use leptos::prelude::*;

use super::notice::Notice;
use crate::classroom::session::Session;
use crate::protocol::ToWorker;
use crate::web::browser::storage::{self, Saved};
use crate::web::browser::tab_lock::{self, TabLock};

/// Where the page is with loading a session.
#[derive(Debug)]
pub enum SessionLoad {
    /// The saved session is being read (at start, or when taking over): nothing is saved yet,
    /// so the saved one is never overwritten first.
    Reading,
    /// A session waits for the worker to load its model. `sent`: the worker has it.
    Loading {
        session: Box<Session>,
        message: String,
        sent: bool,
    },
    /// The page shows its session; autosave runs.
    Ready,
    /// Ready, and the step a worker fault interrupted runs again (`?resume=step`).
    Resume,
}

/// A copyable handle on the page's [`SessionLoad`].
#[derive(Clone, Copy)]
pub struct Loader(RwSignal<SessionLoad>);

impl Loader {
    pub fn new() -> Self {
        Self(RwSignal::new(SessionLoad::Reading))
    }

    /// A session is waiting for the worker (tracked).
    pub fn is_loading(self) -> bool {
        self.0.with(|l| matches!(l, SessionLoad::Loading { .. }))
    }

    /// Autosave may write (tracked).
    pub fn can_save(self) -> bool {
        self.0
            .with(|l| matches!(l, SessionLoad::Ready | SessionLoad::Resume))
    }

    /// Autosave may write (untracked).
    pub fn can_save_untracked(self) -> bool {
        self.0
            .with_untracked(|l| matches!(l, SessionLoad::Ready | SessionLoad::Resume))
    }

    /// The saved session is about to be read again (taking over from another tab).
    pub fn reading(self) {
        self.0.set(SessionLoad::Reading);
    }

    /// There was nothing to load, or it could not be loaded: the page goes on with what it has.
    pub fn ready(self) {
        self.0.set(SessionLoad::Ready);
    }

    /// Queues `session` for the worker; `message` is said once it is back.
    pub fn queue(self, session: Session, message: String) {
        self.0.set(SessionLoad::Loading {
            session: Box::new(session),
            message,
            sent: false,
        });
    }

    /// The restore message for the worker, once per queued session (tracked).
    pub fn to_send(self) -> Option<ToWorker> {
        let message = self.0.with(|l| match l {
            SessionLoad::Loading {
                session,
                sent: false,
                ..
            } => Some(ToWorker::Restore {
                model: session.model.clone(),
                accuracy: session.accuracy(),
                baselines: session
                    .baselines
                    .iter()
                    .map(|(b, model)| (*b, model.clone(), session.baseline_accuracy(*b)))
                    .collect(),
            }),
            _ => None,
        })?;
        self.0.update_untracked(|l| {
            if let SessionLoad::Loading { sent, .. } = l {
                *sent = true;
            }
        });
        Some(message)
    }

    /// The worker took the session: it leaves here for the page (with its message), and the
    /// page is ready; `resume` runs the interrupted step again.
    pub fn loaded(self, resume: impl FnOnce(&Session) -> bool) -> Option<(Session, String)> {
        let taken = self
            .0
            .try_update(|l| match std::mem::replace(l, SessionLoad::Ready) {
                SessionLoad::Loading {
                    session, message, ..
                } => {
                    if resume(&session) {
                        *l = SessionLoad::Resume;
                    }
                    Some((*session, message))
                }
                other => {
                    *l = other;
                    None
                }
            });
        taken.flatten()
    }

    /// Whether the interrupted step should run again now (tracked); it runs once.
    pub fn take_resume(self) -> bool {
        if self.0.with(|l| matches!(l, SessionLoad::Resume)) {
            self.0.set(SessionLoad::Ready);
            true
        } else {
            false
        }
    }
}

/// Reads the session saved in this browser and queues it for the worker. `welcome` starts the
/// message shown once it is back. The read waits for any save in flight in another tab; a
/// browser that refuses storage is reported in `save_status`.
pub async fn restore_saved_session(
    load: Loader,
    tab: TabLock,
    save_status: RwSignal<(String, bool)>,
    notice: Notice,
    welcome: &'static str,
) {
    let saved = match tab_lock::exclusively(storage::load_session()).await {
        Ok(Saved::Nothing) => return load.ready(),
        Ok(saved) => saved,
        Err(e) => {
            load.ready();
            save_status.set((format!("Not saved: this browser does not allow saving ({e}). Use Export to keep your work."), true));
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
            let message =
                format!("{welcome} ({classes} classes, {images} images, {steps} steps learned).");
            load.queue(session, message);
        }
        Err(e) => {
            // Kept aside, never overwritten: a newer app version may read it.
            let kept = tab.owns()
                && match storage::load_session().await {
                    Ok(saved) => storage::keep_aside(&saved).await.is_ok(),
                    Err(_) => false,
                };
            load.ready();
            notice.say(
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
pub async fn take_over(
    load: Loader,
    tab: TabLock,
    save_status: RwSignal<(String, bool)>,
    notice: Notice,
) {
    load.reading();
    if tab.take_over().await {
        restore_saved_session(
            load,
            tab,
            save_status,
            notice,
            "This tab now has the session",
        )
        .await;
    }
}
