//! Which device the worker trains on: WebGPU when asked for and available, otherwise the CPU,
//! with the reason.

use burn::tensor::Device;
use wasm_bindgen::JsValue;

use super::scope;
use crate::protocol::{BackendChoice, BackendInfo};

/// WebGPU when asked for and available; otherwise the CPU, with the reason.
pub(super) async fn choose_device(choice: BackendChoice) -> (Device, BackendInfo) {
    let cpu = |reason: Option<String>| {
        (
            Device::flex(),
            BackendInfo { kind: "cpu".into(), adapter: "Burn flex, wasm SIMD128".into(), fallback_reason: reason },
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
            // Browsers often hide the adapter's name; say at least what kind of device it is.
            let kind = match info.device_type {
                burn::tensor::wgpu::wgpu::DeviceType::DiscreteGpu => "discrete GPU",
                burn::tensor::wgpu::wgpu::DeviceType::IntegratedGpu => "integrated GPU",
                burn::tensor::wgpu::wgpu::DeviceType::Cpu => "software renderer, no GPU (slow)",
                _ => "GPU",
            };
            let adapter = if info.name.is_empty() { kind.to_string() } else { format!("{} · {kind}", info.name) };
            (device, BackendInfo { kind: "webgpu".into(), adapter, fallback_reason: None })
        }
        Err(e) => cpu(Some(format!("WebGPU could not start: {e}"))),
    }
}
