//! The page's end of the training worker, shared through context: any component that asks
//! the worker something takes the [`WorkerLink`] with [`WorkerLink::get`].

use leptos::prelude::*;

use crate::protocol::{FromWorker, ToWorker};
use crate::web::worker_client::{ThreadsWanted, WorkerClient};

/// A copyable handle on the worker client (none when the worker could not start).
#[derive(Clone, Copy)]
pub struct WorkerLink(StoredValue<Option<WorkerClient>, LocalStorage>);

impl WorkerLink {
    /// Starts the worker; its messages go to `on_message`. On failure the error is returned
    /// with a link that sends nothing.
    pub fn spawn(on_message: impl FnMut(FromWorker) + 'static) -> (Self, Option<String>) {
        // `?threads=0` keeps the single-threaded worker even on an isolated page; `?threads=N`
        // sizes the pool (measuring how training scales).
        let threads = ThreadsWanted::from_param(super::url::url_param("threads").as_deref());
        let (client, error) = match WorkerClient::spawn(super::url::backend_from_url(), threads, on_message) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        (Self(StoredValue::new_local(client)), error)
    }

    /// The worker link of the page this component is part of.
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// Sends `message` to the worker (queued until its wasm has loaded).
    pub fn send(self, message: ToWorker) {
        self.0.with_value(|c| {
            if let Some(c) = c {
                c.send(message)
            }
        })
    }
}
