//! The page's handle on the training worker: spawns it, waits until its wasm has loaded
//! (messages sent earlier are lost), and turns its messages into calls on the page.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

use crate::protocol::{FromWorker, ToWorker};

#[derive(Clone)]
pub struct WorkerClient {
    worker: Worker,
    loaded: Rc<RefCell<bool>>,
    queue: Rc<RefCell<Vec<ToWorker>>>,
    crashed: Rc<RefCell<bool>>,
}

impl WorkerClient {
    /// `script` is the worker's loader, relative to the page (so sub-path hosting works).
    pub fn spawn(script: &str, mut on_message: impl FnMut(FromWorker) + 'static) -> Result<Self, String> {
        let worker = Worker::new(script).map_err(|e| format!("cannot start the training worker: {e:?}"))?;
        let client = Self {
            worker,
            loaded: Rc::new(RefCell::new(false)),
            queue: Rc::new(RefCell::new(Vec::new())),
            crashed: Rc::new(RefCell::new(false)),
        };
        let inner = client.clone();
        let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else { return };
            let message = match FromWorker::from_json(&text) {
                Ok(m) => m,
                Err(e) => FromWorker::Error { message: e, gpu: false },
            };
            if matches!(message, FromWorker::Crashed { .. }) {
                // Tasks queued in a panicked worker may still run and report; stop it for good.
                inner.worker.terminate();
                inner.crashed.replace(true);
            }
            if message == FromWorker::Loaded {
                inner.loaded.replace(true);
                for queued in inner.queue.borrow_mut().drain(..) {
                    let _ = inner.worker.post_message(&JsValue::from_str(&queued.to_json()));
                }
            }
            on_message(message);
        });
        client.worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        handler.forget();
        Ok(client)
    }

    pub fn send(&self, message: ToWorker) {
        if *self.crashed.borrow() {
            return;
        }
        if *self.loaded.borrow() {
            let _ = self.worker.post_message(&JsValue::from_str(&message.to_json()));
        } else {
            self.queue.borrow_mut().push(message);
        }
    }
}
