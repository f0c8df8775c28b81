//! The dedicated Web Worker that owns Burn: picks WebGPU or the CPU, runs training, and
//! reports back. GPU failures become messages for the page, never a silent death.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::engine::demo::train_demo;
use crate::protocol::{BackendChoice, BackendInfo, FromWorker, ToWorker};

thread_local! {
    static DEVICE: RefCell<Option<Device>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(message: &FromWorker) {
    let _ = scope().post_message(&JsValue::from_str(&message.to_json()));
}

pub fn start() {
    // A panic (e.g. cubecl's handler for an invalid shader or a lost device) is reported to the
    // page before the worker dies, so the page can offer the CPU.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(&FromWorker::Error { message: format!("The training worker stopped: {info}"), gpu: true });
    }));
    let busy = Rc::new(RefCell::new(false));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else { return };
        let busy = busy.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match ToWorker::from_json(&text) {
                Ok(message) => handle(message, busy).await,
                Err(e) => post(&FromWorker::Error { message: e, gpu: false }),
            }
        });
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&FromWorker::Loaded);
}

async fn handle(message: ToWorker, busy: Rc<RefCell<bool>>) {
    match message {
        ToWorker::Init { backend } => {
            let (device, info) = choose_device(backend).await;
            DEVICE.with(|d| *d.borrow_mut() = Some(device));
            post(&FromWorker::BackendReady { backend: info });
        }
        ToWorker::TrainDemo { steps, seed } => {
            let Some(device) = DEVICE.with(|d| d.borrow().clone()) else {
                post(&FromWorker::Error { message: "the worker has no device yet".into(), gpu: false });
                return;
            };
            if busy.replace(true) {
                post(&FromWorker::Error { message: "training is already running".into(), gpu: false });
                return;
            }
            let mut total = 0.0;
            let result = train_demo(&device, steps, seed, |step, loss, millis| {
                total += millis;
                post(&FromWorker::DemoStep { step, loss, millis });
            })
            .await;
            busy.replace(false);
            match result {
                Ok(losses) => post(&FromWorker::DemoDone { steps: losses.len(), mean_millis: total / steps.max(1) as f64 }),
                Err(e) => post(&FromWorker::Error { message: e.to_string(), gpu: true }),
            }
        }
    }
}

/// WebGPU when asked for and available; otherwise the CPU, with the reason.
async fn choose_device(choice: BackendChoice) -> (Device, BackendInfo) {
    let cpu = |reason: Option<String>| {
        (
            Device::flex(),
            BackendInfo { kind: "cpu".into(), adapter: "CPU (Burn flex, wasm SIMD128)".into(), fallback_reason: reason },
        )
    };
    if choice == BackendChoice::Cpu {
        return cpu(Some("CPU requested with ?backend=cpu".into()));
    }
    let navigator = scope().navigator();
    let has_gpu = js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu"))
        .map(|gpu| !gpu.is_undefined() && !gpu.is_null())
        .unwrap_or(false);
    if !has_gpu {
        return cpu(Some("this browser has no WebGPU".into()));
    }
    match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let info = setup.adapter.get_info();
            let name = if info.name.is_empty() { format!("{:?}", info.device_type) } else { info.name.clone() };
            (device, BackendInfo { kind: "webgpu".into(), adapter: format!("{name} ({:?})", info.backend), fallback_reason: None })
        }
        Err(e) => cpu(Some(format!("WebGPU could not start: {e}"))),
    }
}
