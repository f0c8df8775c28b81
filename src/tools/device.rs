//! Which native backend a command runs on: its own room so `der bench` and `der speed` both
//! use it without importing each other.

use burn::tensor::Device;

/// The device named by `--backend`; the error lists what this binary has.
pub fn device_for(backend: &str) -> Result<Device, String> {
    match backend {
        "flex" => Ok(Device::flex()),
        // Deprecated upstream; kept so benchmarks can compare flex with it.
        #[allow(deprecated)]
        "ndarray" => Ok(Device::ndarray()),
        // wgpu picks the adapter (a discrete GPU first; `CUBECL_WGPU_DEFAULT_DEVICE` overrides).
        // Which one it picked is printed: a GPU check must say what it measured.
        #[cfg(feature = "native-gpu")]
        "wgpu" => {
            let (device, setup) = Device::wgpu_options()
                .init_with_setup()
                .map_err(|e| format!("no wgpu adapter: {e}"))?;
            let info = setup.adapter.get_info();
            println!(
                "adapter: {} · type {:?} · {:?} · driver {} {}",
                info.name, info.device_type, info.backend, info.driver, info.driver_info
            );
            Ok(device)
        }
        #[cfg(not(feature = "native-gpu"))]
        "wgpu" => Err(
            "backend 'wgpu' is not built into this binary: build it with `--features native-gpu` \
             (cargo run --release --features native-gpu --bin der -- bench --backend wgpu ...)"
                .into(),
        ),
        other => Err(format!(
            "unknown backend '{other}' (available: flex, ndarray, wgpu)"
        )),
    }
}
