//! The training worker: runs Burn off the page's thread (wasm only).

#[cfg(all(target_arch = "wasm32", feature = "train"))]
fn main() {
    der_studio::web::worker::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "train")))]
fn main() {
    eprintln!("`worker` runs inside the browser and needs the `train` feature; build it with `make serve`");
}
