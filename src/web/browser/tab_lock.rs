//! One tab at a time owns the session saved in this browser. Two tabs on the same site share
//! one IndexedDB: without this, a second tab would overwrite the first one's work.
//!
//! Built on the Web Locks API (`navigator.locks`, in every current browser). The owning tab
//! holds the `OWNER` lock for as long as it is open; another tab that opens finds it taken and
//! shows the session read-only, with an offer to take it over (`steal`). Every write, and the
//! new owner's first read, runs under the short `WRITE` lock, so a save the old owner started
//! just before a take-over finishes before the new owner reads: writes never interleave.
//! web-sys exposes Web Locks only behind `--cfg web_sys_unstable_apis`, so the two calls used
//! are reached through `Reflect`. (leptos-use's `use_web_lock` has the right options,
//! `if_available` and `steal`, but it is built on those unstable bindings and compiles to
//! nothing without the cfg, and setting the cfg in RUSTFLAGS rebuilds every crate, Burn
//! included, and opts the whole build into unstable web-sys APIs.)

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

const OWNER: &str = "der-studio-session-owner";
const WRITE: &str = "der-studio-session-write";

/// Who may save the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Asking the browser.
    Checking,
    /// This tab saves (also where the browser has no Web Locks: one tab is all it can know of).
    Owner,
    /// Another tab had the session open first; this one does not save.
    OtherTab,
    /// Another tab took the session over; this one no longer saves.
    TakenOver,
}

/// The page's handle on the ownership of the saved session.
#[derive(Clone, Copy)]
pub struct TabLock {
    pub ownership: RwSignal<Ownership>,
}

fn locks() -> Option<JsValue> {
    let navigator = web_sys::window()?.navigator();
    Reflect::get(&navigator, &"locks".into())
        .ok()
        .filter(|l| !l.is_undefined() && !l.is_null())
}

/// `navigator.locks.request(name, options, callback)`; the callback gets the lock or `null`.
fn request(name: &str, options: &[(&str, bool)], callback: &Function) -> Result<Promise, JsValue> {
    let locks = locks().ok_or_else(|| JsValue::from_str("no Web Locks"))?;
    let request: Function = Reflect::get(&locks, &"request".into())?.unchecked_into();
    let opts = Object::new();
    for (key, value) in options {
        Reflect::set(&opts, &(*key).into(), &(*value).into())?;
    }
    request
        .call3(&locks, &name.into(), &opts, callback)
        .map(Promise::unchecked_from_js)
}

/// A promise that never settles: returned from a lock callback, it holds the lock while the
/// tab lives.
fn forever() -> Promise {
    Promise::new(&mut |_, _| {})
}

impl Default for TabLock {
    fn default() -> Self {
        Self::new()
    }
}

impl TabLock {
    pub fn new() -> Self {
        Self {
            ownership: RwSignal::new(Ownership::Checking),
        }
    }

    /// Asks for the session if no other tab has it; resolves with whether this tab owns it.
    pub async fn claim(self) -> bool {
        self.acquire(false).await
    }

    /// Takes the session over from the tab that holds it (which is told, and stops saving).
    /// Resolves once this tab owns it.
    pub async fn take_over(self) -> bool {
        self.ownership.set(Ownership::Checking);
        self.acquire(true).await
    }

    /// Requests the owner lock; resolves with whether it was granted.
    async fn acquire(self, steal: bool) -> bool {
        let ownership = self.ownership;
        let mut resolve_granted = None::<Function>;
        let granted_promise = Promise::new(&mut |resolve, _| resolve_granted = Some(resolve));
        let tell = move |granted: bool| {
            if let Some(resolve) = &resolve_granted {
                let _ = resolve.call1(&JsValue::UNDEFINED, &granted.into());
            }
        };
        let tell_granted = tell.clone();
        let granted = Closure::once_into_js(move |lock: JsValue| -> Promise {
            if lock.is_null() {
                ownership.set(Ownership::OtherTab);
                tell_granted(false);
                Promise::resolve(&JsValue::UNDEFINED)
            } else {
                ownership.set(Ownership::Owner);
                tell_granted(true);
                forever()
            }
        });
        let options: &[(&str, bool)] = if steal {
            &[("steal", true)]
        } else {
            &[("ifAvailable", true)]
        };
        match request(OWNER, options, granted.unchecked_ref()) {
            Ok(held) => {
                // The promise rejects (AbortError) when another tab steals the lock.
                // (`once_into_js` frees the closure once called; `Promise::catch` would need a
                // kept `Closure`, leaked for good when the lock is never stolen.)
                let on_lost =
                    Closure::once_into_js(move |_: JsValue| ownership.set(Ownership::TakenOver));
                if let Ok(catch) = Reflect::get(&held, &"catch".into()) {
                    let _ = catch.unchecked_into::<Function>().call1(&held, &on_lost);
                }
            }
            // No Web Locks in this browser: it cannot tell tabs apart, so this tab saves.
            Err(_) => {
                ownership.set(Ownership::Owner);
                tell(true);
            }
        }
        JsFuture::from(granted_promise)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    pub fn owns(self) -> bool {
        self.ownership.get_untracked() == Ownership::Owner
    }
}

/// Runs `work` while holding the write lock (at once where there are no Web Locks), so no two
/// tabs' reads and writes of the saved session interleave.
pub async fn exclusively<T: 'static>(work: impl Future<Output = T> + 'static) -> T {
    if locks().is_none() {
        return work.await;
    }
    let pending = Rc::new(RefCell::new(Some(work)));
    let result = Rc::new(RefCell::new(None));
    let (queued, slot) = (pending.clone(), result.clone());
    let run = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        let Some(work) = queued.borrow_mut().take() else {
            return Promise::resolve(&JsValue::UNDEFINED);
        };
        future_to_promise(async move {
            *slot.borrow_mut() = Some(work.await);
            Ok(JsValue::UNDEFINED)
        })
    });
    if let Ok(released) = request(WRITE, &[], run.unchecked_ref()) {
        // Settles after the callback's promise, i.e. after `work` has finished.
        let _ = JsFuture::from(released).await;
    }
    if let Some(done) = result.borrow_mut().take() {
        return done;
    }
    // The browser refused the request outright: run the work unlocked rather than lose it.
    let work = pending
        .borrow_mut()
        .take()
        .expect("the lock callback either ran the work or never took it");
    work.await
}
