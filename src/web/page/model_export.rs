//! Taking the model out: the current network as an ONNX file for other tools (ONNX Runtime in
//! Python, onnxruntime-web on another page), written by the worker, offline, with a JSON of
//! what a program needs beside it (class names in output order, input size, normalisation).
//! The same JSON travels inside the ONNX file's metadata.

use leptos::prelude::*;
use reactive_stores::Store;

use super::link::WorkerLink;
use super::notice::Notice;
use super::state::{Classroom, ClassroomStoreFields};
use crate::protocol::ToWorker;
use crate::web::browser::storage;

/// The Results view's card with the two exports.
#[component]
pub fn ModelExport(room: Store<Classroom>) -> impl IntoView {
    let notice = Notice::get();
    let has_model = move || room.outcome().with(Option::is_some);
    let export_onnx = move |_| {
        let metadata = vec![("der_studio".to_string(), model_description(room))];
        WorkerLink::get().send(ToWorker::ExportOnnx { metadata });
    };
    let export_json = move |_| {
        if let Err(e) =
            storage::download("der-studio-model.json", model_description(room).as_bytes())
        {
            notice.say(
                format!("The model's description could not be exported: {e}"),
                true,
            );
        }
    };
    view! {
        <section class="card" aria-labelledby="model-export-title">
            <h2 id="model-export-title">"Use this model in other tools"</h2>
            <p>"The network as it predicts now, as an ONNX file: ONNX Runtime loads it in Python or on another web page (the README shows how). Nothing leaves this browser."</p>
            <div class="row">
                <button data-testid="export-onnx" disabled=move || !has_model() on:click=export_onnx>"Export model (ONNX)"</button>
                <button class="quiet" data-testid="export-onnx-json" disabled=move || !has_model() on:click=export_json>"Class names and input (JSON)"</button>
            </div>
            <Show when=move || !has_model()>
                <p class="empty">"Learn a step first: then there is a model to export."</p>
            </Show>
        </section>
    }
}

/// What a program loading the ONNX file needs to know: the input's shape and normalisation and
/// the classes in output order (softmax is left to the caller).
fn model_description(room: Store<Classroom>) -> String {
    let classes: Vec<String> = room.outcome().with_untracked(|o| {
        o.as_ref().map_or_else(Vec::new, |o| {
            room.studio().with_untracked(|s| {
                o.class_order
                    .iter()
                    .map(|&l| {
                        s.class(l)
                            .map(|c| c.name.clone())
                            .unwrap_or_else(|_| format!("#{l}"))
                    })
                    .collect()
            })
        })
    });
    let size = room.config().with_untracked(|c| c.backbone.input_size);
    let steps = room
        .outcome()
        .with_untracked(|o| o.as_ref().map_or(0, |o| o.accuracy_rows.len()));
    serde_json::json!({
        "format": "DER Studio model for ONNX",
        "input": {
            "name": "image",
            "shape": ["batch", 3, size, size],
            "layout": "NCHW, RGB",
            "normalisation": "pixel / 255 * 2 - 1 (pixels 0..255 become -1..1)",
        },
        "output": {
            "name": "logits",
            "classes": classes,
            "note": "one score per class in this order; apply softmax for probabilities",
        },
        "steps": steps,
    })
    .to_string()
}
