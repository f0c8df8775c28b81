//! The page's handle on the training worker: spawns it, waits until its wasm has loaded
//! (messages sent earlier are lost), and turns its messages into calls on the page.
//!
//! There are two workers (docs/threads.md). The regular one has WebGPU and the CPU on one
//! thread; the threaded one trains on the CPU with every core, and needs a cross-origin
//! isolated page (shared memory). On such a page `?backend=cpu` starts the threaded worker, and
//! so does Auto where the browser has no WebGPU; otherwise Auto starts the regular worker, which
//! measures the devices, and a choice of the CPU is handed over to the threaded worker before
//! the page hears of it. A threaded worker that cannot start gives way to the regular one.
//! `?threads=0` keeps the regular one.
//!
//! The worker starts after the page's first frame is painted: its wasm (megabytes) then
//! downloads and compiles, streaming, while the page already answers (BENCHMARKS.md, "Time to
//! interactive"). Messages sent meanwhile wait in the queue.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::protocol::{
    BackendChoice, BackendInfo, FromWorker, Request, ThreadsWanted, ToWorker, WorkerError,
};
use crate::web::browser::wire;

/// Which of the two workers runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Script {
    /// `worker_loader.js`: WebGPU, and the CPU on one thread.
    Regular,
    /// `threads/loader.js` (a module worker): the CPU on a pool of this many threads (`None`:
    /// one per core, up to 8).
    Threaded(Option<usize>),
}

impl Script {
    fn start(self) -> Result<Worker, String> {
        let worker = match self {
            Script::Regular => Worker::new("./worker_loader.js"),
            Script::Threaded(threads) => {
                let options = WorkerOptions::new();
                options.set_type(WorkerType::Module);
                // The worker reads the pool's size from its own address.
                let query = threads.map(|n| format!("?threads={n}")).unwrap_or_default();
                Worker::new_with_options(&format!("./threads/loader.js{query}"), &options)
            }
        };
        worker.map_err(|e| format!("cannot start the training worker: {e:?}"))
    }
}

/// Whether this page may share memory with workers (served with COOP and COEP).
fn cross_origin_isolated() -> bool {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn browser_has_webgpu() -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &"gpu".into()).ok())
        .is_some_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

/// The worker to start, and whether a CPU choice of the regular worker goes to the threaded one.
fn plan(backend: BackendChoice, wanted: ThreadsWanted) -> (Script, bool) {
    let threaded = match wanted {
        _ if !cross_origin_isolated() => return (Script::Regular, false),
        ThreadsWanted::None => return (Script::Regular, false),
        ThreadsWanted::Exactly(n) => Script::Threaded(Some(n)),
        ThreadsWanted::PerCore => Script::Threaded(None),
    };
    match backend {
        BackendChoice::Cpu => (threaded, false),
        BackendChoice::WebGpu => (Script::Regular, false),
        BackendChoice::Auto if !browser_has_webgpu() => (threaded, false),
        BackendChoice::Auto => (Script::Regular, true),
    }
}

#[derive(Clone)]
pub struct WorkerClient(Rc<Inner>);

struct Inner {
    /// None until the page's first frame has been painted.
    worker: RefCell<Option<Worker>>,
    /// The current worker's message and error listeners: replacing the worker drops them,
    /// which removes them (gloo's `EventListener`), so no closure outlives its worker.
    listeners: RefCell<Vec<EventListener>>,
    script: Cell<Script>,
    /// Counts the workers started: events of a replaced worker are ignored.
    generation: Cell<u32>,
    loaded: Cell<bool>,
    queue: RefCell<Vec<ToWorker>>,
    crashed: Cell<bool>,
    /// The regular worker's first choice of the CPU goes to this threaded worker.
    hand_over: Cell<Option<Script>>,
    /// What was sent since the last `Init` while a handover may come: the threaded worker
    /// gets it all again.
    since_init: RefCell<Vec<ToWorker>>,
    /// Why the regular worker chose the CPU: the threaded worker's answer keeps the reason.
    chosen_because: RefCell<Option<BackendInfo>>,
    on_message: RefCell<Box<dyn FnMut(FromWorker)>>,
}

/// The handlers hold the client weakly, so nothing keeps a worker alive once its client is
/// gone: stop it too.
impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.get_mut().take() {
            worker.terminate();
        }
    }
}

impl WorkerClient {
    /// Starts the worker the page's address and isolation call for (see the module comment),
    /// once the page has painted its first frame. A worker that cannot be created is reported
    /// to `on_message` as `Crashed`.
    pub fn spawn(
        backend: BackendChoice,
        threads: ThreadsWanted,
        on_message: impl FnMut(FromWorker) + 'static,
    ) -> Self {
        let (script, hand_over) = plan(backend, threads);
        let hand_over = hand_over.then_some(match threads {
            ThreadsWanted::Exactly(n) => Script::Threaded(Some(n)),
            _ => Script::Threaded(None),
        });
        let client = Self(Rc::new(Inner {
            worker: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
            script: Cell::new(script),
            generation: Cell::new(0),
            loaded: Cell::new(false),
            queue: RefCell::new(Vec::new()),
            crashed: Cell::new(false),
            hand_over: Cell::new(hand_over),
            since_init: RefCell::new(Vec::new()),
            chosen_because: RefCell::new(None),
            on_message: RefCell::new(Box::new(on_message)),
        }));
        // Two animation frames: the first runs before the first paint, the second after it. A
        // page opened in a background tab gets no frames: a timer starts the worker there.
        let first = client.clone();
        leptos::prelude::request_animation_frame(move || {
            let second = first.clone();
            leptos::prelude::request_animation_frame(move || second.start_first());
        });
        let late = client.clone();
        leptos::prelude::set_timeout(
            move || late.start_first(),
            std::time::Duration::from_secs(1),
        );
        client
    }

    /// Starts the first worker (once).
    fn start_first(&self) {
        if self.0.worker.borrow().is_none() && !self.0.crashed.get() && self.0.generation.get() == 0
        {
            self.replace_worker(self.0.script.get());
        }
    }

    /// Attaches the page's handlers to the current worker. They hold the client weakly: the
    /// client owns them (through `listeners`), not the other way round.
    fn listen(&self) {
        let generation = self.0.generation.get();
        let worker = self.0.worker.borrow();
        let Some(worker) = worker.as_ref() else {
            return;
        };
        let weak = Rc::downgrade(&self.0);
        let on_message = EventListener::new(worker, "message", move |event| {
            let Some(inner) = weak.upgrade().map(WorkerClient) else {
                return;
            };
            if inner.0.generation.get() != generation {
                return;
            }
            let data = event.unchecked_ref::<MessageEvent>().data();
            let message =
                FromWorker::decode(&wire::received(&data)).unwrap_or_else(|e| FromWorker::Failed {
                    request: Request::Unreadable,
                    error: WorkerError::input(e),
                });
            inner.receive(message);
        });

        // A worker that dies without a Rust panic (a wasm trap, memory exhausted, its script
        // missing) only fires this event. After a panic it fires too, just behind the worker's
        // own Crashed message: wait a moment so that message, which names the cause, wins.
        let weak = Rc::downgrade(&self.0);
        let on_error = EventListener::new(worker, "error", move |event| {
            let Some(inner) = weak.upgrade().map(WorkerClient) else {
                return;
            };
            if inner.0.generation.get() != generation {
                return;
            }
            let cause = event
                .dyn_ref::<web_sys::ErrorEvent>()
                .map(|e| e.message())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "its script could not be loaded or it ran out of memory".into());
            if inner.threaded_failed_to_start(&cause) {
                return;
            }
            leptos::prelude::set_timeout(
                move || {
                    if inner.0.generation.get() == generation && inner.stop_for_good() {
                        (inner.0.on_message.borrow_mut())(FromWorker::Crashed {
                            error: WorkerError::device(format!(
                                "The training worker stopped: {cause}"
                            )),
                        });
                    }
                },
                std::time::Duration::from_millis(300),
            );
        });
        self.0.listeners.replace(vec![on_message, on_error]);
    }

    fn receive(&self, mut message: FromWorker) {
        let inner = &self.0;
        match &mut message {
            FromWorker::Crashed { error } if self.threaded_failed_to_start(&error.message) => {
                return;
            }
            FromWorker::Crashed { .. } => {
                self.stop_for_good();
            }
            FromWorker::Loaded => {
                inner.loaded.set(true);
                for queued in inner.queue.take() {
                    self.post(&queued);
                }
            }
            FromWorker::BackendReady { backend }
                if inner.hand_over.get().is_some() && backend.kind == "cpu" =>
            {
                let threaded = inner.hand_over.take().expect("checked above");
                // The page hears the threaded worker's answer instead.
                inner.chosen_because.replace(Some(backend.clone()));
                let mut replay = inner.since_init.take();
                replay.append(&mut inner.queue.borrow_mut());
                inner.queue.replace(replay);
                self.replace_worker(threaded);
                return;
            }
            FromWorker::BackendReady { backend } => {
                inner.hand_over.set(None);
                inner.since_init.borrow_mut().clear();
                if let Some(regular) = inner.chosen_because.take() {
                    backend.reason = regular.reason;
                    backend.measured = regular.measured;
                }
            }
            _ => {}
        }
        (inner.on_message.borrow_mut())(message);
    }

    /// A threaded worker that fails before it has loaded (no shared memory after all, its files
    /// missing, its pool refused) gives way to the regular worker, with every queued message.
    fn threaded_failed_to_start(&self, cause: &str) -> bool {
        let inner = &self.0;
        if !matches!(inner.script.get(), Script::Threaded(_))
            || inner.loaded.get()
            || inner.crashed.get()
        {
            return false;
        }
        web_sys::console::warn_1(&format!("the threaded training worker could not start ({cause}); using the single-threaded one").into());
        inner.hand_over.set(None);
        inner.chosen_because.replace(None);
        self.replace_worker(Script::Regular);
        true
    }

    /// Starts `script`'s worker in place of the current one, if any.
    fn replace_worker(&self, script: Script) {
        let inner = &self.0;
        if let Some(old) = inner.worker.take() {
            old.terminate();
        }
        inner.listeners.borrow_mut().clear();
        inner.generation.set(inner.generation.get() + 1);
        inner.loaded.set(false);
        inner.script.set(script);
        match script.start() {
            Ok(worker) => {
                inner.worker.replace(Some(worker));
                self.listen();
            }
            Err(e) => {
                // Not the device's fault: the CPU would not help.
                inner.crashed.set(true);
                (inner.on_message.borrow_mut())(FromWorker::Crashed {
                    error: WorkerError::input(e),
                });
            }
        }
    }

    /// Terminates the worker (tasks queued in a panicked worker may still run and report);
    /// false if it was already stopped.
    fn stop_for_good(&self) -> bool {
        if self.0.crashed.replace(true) {
            return false;
        }
        if let Some(worker) = self.0.worker.borrow().as_ref() {
            worker.terminate();
        }
        true
    }

    /// Sends a message as bytes in a transferred buffer: one copy out of wasm memory, none on
    /// the way to the worker. A post the browser refuses is answered as the worker would answer
    /// a failed request, `Failed` with the reason, on the next turn of the event loop (the
    /// caller may be inside the message handler).
    fn post(&self, message: &ToWorker) {
        let sent = {
            let worker = self.0.worker.borrow();
            let Some(worker) = worker.as_ref() else {
                return;
            };
            wire::send(
                Some(message.kind()),
                "to worker",
                || message.encode(),
                |data, transfer| worker.post_message_with_transfer(data, transfer),
            )
        };
        if let Err(cause) = sent {
            let failed = FromWorker::Failed {
                request: message.request(),
                // Not the device's fault: the worker and its model are as they were.
                error: WorkerError::input(format!(
                    "The {} request could not reach the training worker ({cause}); nothing changed, try again.",
                    message.kind()
                )),
            };
            let inner = self.clone();
            leptos::prelude::set_timeout(
                move || (inner.0.on_message.borrow_mut())(failed),
                std::time::Duration::ZERO,
            );
        }
    }

    pub fn send(&self, message: ToWorker) {
        let inner = &self.0;
        if inner.crashed.get() {
            return;
        }
        if inner.hand_over.get().is_some() {
            let mut log = inner.since_init.borrow_mut();
            if matches!(message, ToWorker::Init { .. }) {
                log.clear();
            }
            log.push(message.clone());
        }
        if inner.loaded.get() {
            self.post(&message);
        } else {
            inner.queue.borrow_mut().push(message);
        }
    }
}
