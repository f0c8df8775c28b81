//! The page: mounts the Leptos app (wasm only).

#[cfg(target_arch = "wasm32")]
fn main() {
    der_studio::web::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("`app` is the browser page; build it with `make serve`");
}
