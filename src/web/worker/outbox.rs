//! The worker's one way out: every message to the page goes through [`post`], as bytes in a
//! transferred buffer; one that cannot go is replaced by a `Failed` for its request.

use wasm_bindgen::JsCast;
use web_sys::DedicatedWorkerGlobalScope;

use crate::protocol::{FromWorker, WorkerError};
use crate::web::browser::wire;

/// This worker's global scope.
pub(super) fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Sends a message as bytes in a transferred buffer (no copy on the way to the page). The
/// frequent progress messages are not logged. A final answer the browser refuses to post is
/// replaced by a small `Failed` for its request, so the page is never left waiting; a progress
/// report that cannot go is only logged (the next one, or the step's end, follows). If even the
/// `Failed` cannot go, the console says why.
pub(super) fn post(message: &FromWorker) {
    let frequent = matches!(
        message,
        FromWorker::StepProgress { .. } | FromWorker::DemoIteration { .. }
    );
    let kind = (!frequent).then(|| message.kind());
    let send = |message: &FromWorker, kind| {
        wire::send(
            kind,
            "from worker",
            || message.encode(),
            |data, transfer| scope().post_message_with_transfer(data, transfer),
        )
    };
    let Err(cause) = send(message, kind) else {
        return;
    };
    let lost = || {
        web_sys::console::error_1(&format!("a {} message was lost: {cause}", message.kind()).into())
    };
    if frequent
        || matches!(
            message,
            FromWorker::Failed { .. } | FromWorker::Crashed { .. }
        )
    {
        return lost();
    }
    // Not the device's fault: the browser refused the message, not the computation.
    let instead = FromWorker::Failed {
        request: message.answers(),
        error: WorkerError::input(format!(
            "The training worker could not send its {} message: {cause}",
            message.kind()
        )),
    };
    if send(&instead, Some(instead.kind())).is_err() {
        lost();
    }
}
