//! The training worker: runs Burn off the page's thread (wasm only).

#[cfg(target_arch = "wasm32")]
fn main() {
    der_studio::web::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("`worker` runs inside the browser; build it with `make serve`");
}
