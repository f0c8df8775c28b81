//! Which device the worker trains on. A hardware WebGPU adapter and the CPU each time a few
//! real training updates of the classroom's network, and the faster one trains. A software
//! adapter (SwiftShader, Chromium's fallback) is never chosen by itself: it is tens of times
//! slower than the CPU path (BENCHMARKS.md), and timing it would take tens of seconds. The URL
//! can force either device (`?backend=cpu`, `?backend=webgpu`).
//!
//! The threaded worker (feature `threads`, no WebGPU) always trains on the CPU: the page starts
//! it only where the CPU is wanted (`?backend=cpu`, or after this worker's choice fell on the
//! CPU; `worker_client.rs`).

use burn::tensor::Device;
#[cfg(feature = "webgpu")]
use burn::tensor::wgpu::wgpu::{AdapterInfo, DeviceType};
#[cfg(feature = "webgpu")]
use wasm_bindgen::JsValue;

#[cfg(feature = "webgpu")]
use super::outbox::{post, scope};
#[cfg(feature = "webgpu")]
use crate::protocol::FromWorker;
use crate::protocol::{BackendChoice, BackendInfo, DeviceTimes, SpeedSettings};
#[cfg(feature = "webgpu")]
use crate::tools::benchmark::time_training;

/// The CPU path as the badge names it, with the threads it trains on.
fn cpu_name() -> String {
    match super::pool::threads() {
        1 => "Burn flex, wasm SIMD128, 1 thread".to_string(),
        n => format!("Burn flex, wasm SIMD128, {n} threads"),
    }
}

#[cfg(feature = "webgpu")]
/// Timed updates on each device, after one warm-up: the median of three. About a second for
/// the classroom's network on a laptop's CPU; on a GPU the warm-up also compiles the shaders
/// the first step would compile anyway.
const TIMED_UPDATES: usize = 3;

fn cpu(reason: impl Into<String>, measured: Option<DeviceTimes>) -> (Device, BackendInfo) {
    let info = BackendInfo {
        kind: "cpu".into(),
        adapter: cpu_name(),
        reason: Some(reason.into()),
        measured,
    };
    (Device::flex(), info)
}

/// The threaded worker's device: the CPU, on the pool's threads.
#[cfg(not(feature = "webgpu"))]
pub(super) async fn choose_device(
    choice: BackendChoice,
    _network: &SpeedSettings,
    _simulate_hardware_adapter: bool,
) -> (Device, BackendInfo) {
    match choice {
        BackendChoice::Cpu => cpu("CPU requested with ?backend=cpu", None),
        _ => cpu(
            "The CPU trains, on every core this browser lends the page.",
            None,
        ),
    }
}

#[cfg(feature = "webgpu")]
fn webgpu(
    device: Device,
    adapter: String,
    reason: impl Into<String>,
    measured: Option<DeviceTimes>,
) -> (Device, BackendInfo) {
    (
        device,
        BackendInfo {
            kind: "webgpu".into(),
            adapter,
            reason: Some(reason.into()),
            measured,
        },
    )
}

#[cfg(feature = "webgpu")]
/// Browsers often hide the adapter's name; say at least what kind of device it is.
fn describe(info: &AdapterInfo) -> String {
    let kind = match info.device_type {
        DeviceType::DiscreteGpu => "discrete GPU",
        DeviceType::IntegratedGpu => "integrated GPU",
        DeviceType::Cpu => "software renderer, no GPU (slow)",
        _ => "GPU",
    };
    if info.name.is_empty() {
        kind.to_string()
    } else {
        format!("{} · {kind}", info.name)
    }
}

#[cfg(feature = "webgpu")]
/// The device to train on, and what the page shows about it. `network`: the page's network
/// (one branch), on which both devices are timed.
pub(super) async fn choose_device(
    choice: BackendChoice,
    network: &SpeedSettings,
    simulate_hardware_adapter: bool,
) -> (Device, BackendInfo) {
    if choice == BackendChoice::Cpu {
        return cpu("CPU requested with ?backend=cpu", None);
    }
    let navigator = scope().navigator();
    let has_gpu = js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu"))
        .map(|gpu| !gpu.is_undefined() && !gpu.is_null())
        .unwrap_or(false);
    if !has_gpu {
        return cpu("This browser has no WebGPU.", None);
    }
    let (device, setup) = match Device::wgpu_options().init_with_setup_async().await {
        Ok(started) => started,
        Err(e) => return cpu(format!("WebGPU could not start: {e}"), None),
    };
    let info = setup.adapter.get_info();
    let adapter = describe(&info);
    if choice == BackendChoice::WebGpu {
        return webgpu(
            device,
            adapter,
            "WebGPU requested with ?backend=webgpu",
            None,
        );
    }
    if info.device_type == DeviceType::Cpu && !simulate_hardware_adapter {
        let named = if info.name.is_empty() {
            String::new()
        } else {
            format!(" ({})", info.name)
        };
        return cpu(
            format!(
                "The only WebGPU adapter here is a software renderer{named}, with no GPU behind it: it trains far slower than the CPU, so the CPU trains. (?backend=webgpu uses it anyway.)"
            ),
            None,
        );
    }
    post(&FromWorker::MeasuringDevices);
    let measured = SpeedSettings {
        iterations: TIMED_UPDATES,
        ..network.clone()
    };
    let on_gpu = match time_training(&measured, 1, false, &device).await {
        Ok(case) => case.median_ms,
        Err(e) => {
            return cpu(
                format!("WebGPU failed while it was being measured: {e}"),
                None,
            );
        }
    };
    let on_cpu = match time_training(&measured, 1, false, &Device::flex()).await {
        Ok(case) => case.median_ms,
        Err(_) => {
            return webgpu(
                device,
                adapter,
                format!("WebGPU {on_gpu:.0} ms per update (the CPU could not be measured)"),
                None,
            );
        }
    };
    let measured = Some(DeviceTimes {
        webgpu_ms: on_gpu,
        cpu_ms: on_cpu,
    });
    let figures = format!("WebGPU {on_gpu:.0} ms · CPU {on_cpu:.0} ms per update");
    if on_gpu < on_cpu {
        webgpu(device, adapter, format!("{figures} → WebGPU"), measured)
    } else {
        cpu(format!("{figures} → CPU"), measured)
    }
}
