//! The page's end of the training worker, shared through context: any component that asks
//! the worker something takes the [`WorkerLink`] with [`WorkerLink::get`].

use leptos::prelude::*;

use super::worker_client::WorkerClient;
use crate::protocol::ThreadsWanted;
use crate::protocol::{FromWorker, ToWorker};

/// A copyable handle on the worker client.
#[derive(Clone, Copy)]
pub struct WorkerLink(StoredValue<WorkerClient, LocalStorage>);

impl WorkerLink {
    /// Starts the worker once the page has painted; its messages go to `on_message` (a worker
    /// that cannot start arrives there as `Crashed`).
    pub fn spawn(on_message: impl FnMut(FromWorker) + 'static) -> Self {
        // `?threads=0` keeps the single-threaded worker even on an isolated page; `?threads=N`
        // sizes the pool (measuring how training scales).
        let threads = ThreadsWanted::from_param(super::url::url_param("threads").as_deref());
        Self(StoredValue::new_local(WorkerClient::spawn(
            super::url::backend_from_url(),
            threads,
            on_message,
        )))
    }

    /// The worker link of the page this component is part of.
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// Sends `message` to the worker (queued until its wasm has loaded).
    pub fn send(self, message: ToWorker) {
        self.0.with_value(|c| c.send(message))
    }
}
