//! Asking the worker for a device: at start, and again when the network the page will train
//! changes shape (width, image size, batch) before the first step, so the choice is measured
//! on that network. Once a step is learned the model lives on its device and the worker keeps
//! it.

use leptos::prelude::*;
use reactive_stores::Store;

use super::link::WorkerLink;
use super::state::{Classroom, ClassroomStoreFields};
use super::url;
use crate::protocol::{BackendChoice, BackendInfo, SpeedSettings, ToWorker};

/// The page's network as the worker times it (one branch; the worker sets the updates timed).
fn network(room: Store<Classroom>) -> SpeedSettings {
    room.config().with(|c| SpeedSettings {
        batch: c.batch_size,
        width: c.backbone.width,
        input_size: c.backbone.input_size,
        iterations: 0,
    })
}

fn init(worker: WorkerLink, network: SpeedSettings) {
    worker.send(ToWorker::Init {
        backend: url::backend_from_url(),
        network,
        simulate_hardware_adapter: url::simulate("hardware-adapter"),
    });
}

/// Sends the first `Init`, then a new one whenever the network's shape changes while nothing
/// is learned yet and the URL does not force a device. `backend` goes back to `None` meanwhile
/// (the badge says "Measuring this computer…", Learn waits).
pub fn choose_device(
    room: Store<Classroom>,
    backend: RwSignal<Option<BackendInfo>>,
    worker: WorkerLink,
) {
    let measured_on = StoredValue::new(network(room));
    init(worker, measured_on.get_value());
    Effect::new(move |_| {
        let now = network(room);
        // Tracked: a change during a measurement is measured once that one has answered.
        let ready = backend.with(Option::is_some);
        let learned = room.outcome().with(Option::is_some);
        if !ready
            || learned
            || url::backend_from_url() != BackendChoice::Auto
            || measured_on.with_value(|m| *m == now)
        {
            return;
        }
        measured_on.set_value(now.clone());
        backend.set(None);
        init(worker, now);
    });
}
