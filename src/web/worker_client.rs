//! The page's handle on the training worker: spawns it, waits until its wasm has loaded
//! (messages sent earlier are lost), and turns its messages into calls on the page.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

use crate::protocol::{FromWorker, Request, ToWorker, WorkerError};
use crate::web::wire;

#[derive(Clone)]
pub struct WorkerClient {
    worker: Worker,
    loaded: Rc<RefCell<bool>>,
    queue: Rc<RefCell<Vec<ToWorker>>>,
    crashed: Rc<RefCell<bool>>,
    on_message: Rc<RefCell<Box<dyn FnMut(FromWorker)>>>,
}

impl WorkerClient {
    /// `script` is the worker's loader, relative to the page (so sub-path hosting works).
    pub fn spawn(script: &str, on_message: impl FnMut(FromWorker) + 'static) -> Result<Self, String> {
        let worker = Worker::new(script).map_err(|e| format!("cannot start the training worker: {e:?}"))?;
        let client = Self {
            worker,
            loaded: Rc::new(RefCell::new(false)),
            queue: Rc::new(RefCell::new(Vec::new())),
            crashed: Rc::new(RefCell::new(false)),
            on_message: Rc::new(RefCell::new(Box::new(on_message))),
        };
        let inner = client.clone();
        let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let message = FromWorker::decode(&wire::received(&event.data()))
                .unwrap_or_else(|e| FromWorker::Failed { request: Request::Unreadable, error: WorkerError::input(e) });
            if matches!(message, FromWorker::Crashed { .. }) {
                inner.stop_for_good();
            }
            if message == FromWorker::Loaded {
                inner.loaded.replace(true);
                for queued in inner.queue.borrow_mut().drain(..) {
                    inner.post(&queued);
                }
            }
            (inner.on_message.borrow_mut())(message);
        });
        client.worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        handler.forget();

        // A worker that dies without a Rust panic (a wasm trap, memory exhausted, its script
        // missing) only fires this event. After a panic it fires too, just behind the worker's
        // own Crashed message: wait a moment so that message, which names the cause, wins.
        let inner = client.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let cause = event
                .dyn_ref::<web_sys::ErrorEvent>()
                .map(|e| e.message())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "its script could not be loaded or it ran out of memory".into());
            let inner = inner.clone();
            leptos::prelude::set_timeout(
                move || {
                    if inner.stop_for_good() {
                        (inner.on_message.borrow_mut())(FromWorker::Crashed {
                            error: WorkerError::device(format!("The training worker stopped: {cause}")),
                        });
                    }
                },
                std::time::Duration::from_millis(300),
            );
        });
        client.worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        Ok(client)
    }

    /// Terminates the worker (tasks queued in a panicked worker may still run and report);
    /// false if it was already stopped.
    fn stop_for_good(&self) -> bool {
        if self.crashed.replace(true) {
            return false;
        }
        self.worker.terminate();
        true
    }

    /// Sends a message as bytes in a transferred buffer: one copy out of wasm memory, none on
    /// the way to the worker.
    fn post(&self, message: &ToWorker) {
        wire::send(Some(message.kind()), "to worker", || message.encode(), |data, transfer| self.worker.post_message_with_transfer(data, transfer));
    }

    pub fn send(&self, message: ToWorker) {
        if *self.crashed.borrow() {
            return;
        }
        if *self.loaded.borrow() {
            self.post(&message);
        } else {
            self.queue.borrow_mut().push(message);
        }
    }
}
