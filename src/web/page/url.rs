//! What the page's address asks for: `?backend=cpu` or `webgpu`, `?resume=step`, `?simulate=…`.

use crate::protocol::BackendChoice;

/// One parameter of the page's address.
pub fn url_param(name: &str) -> Option<String> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get(name))
}

/// `?backend=cpu` forces the CPU (useful when a classroom GPU misbehaves), `?backend=webgpu`
/// WebGPU even on a software adapter; otherwise the worker chooses by measurement.
pub fn backend_from_url() -> BackendChoice {
    match url_param("backend").as_deref() {
        Some("cpu") => BackendChoice::Cpu,
        Some("webgpu") => BackendChoice::WebGpu,
        _ => BackendChoice::Auto,
    }
}

/// `?simulate=worker-fault` makes the worker fail as a GPU fault would (for tests);
/// `?simulate=fault-in-step` does so a moment after a step starts; `?simulate=worker-abort` kills
/// the worker without a Rust panic.
pub fn simulate(what: &str) -> bool {
    url_param("simulate").as_deref() == Some(what)
}

/// `?resume=step`: run the step a worker fault interrupted again once the session is back.
pub fn resume_step() -> bool {
    url_param("resume").as_deref() == Some("step")
}
