//! The training worker: runs Burn off the page's thread (wasm only).

// Counts the bytes the worker holds (the memory figures of the classroom-scale checks).
#[cfg(all(target_arch = "wasm32", feature = "train"))]
#[global_allocator]
static ALLOCATOR: der_studio::web::browser::diagnostics::CountingAllocator =
    der_studio::web::browser::diagnostics::CountingAllocator;

#[cfg(all(target_arch = "wasm32", feature = "train"))]
fn main() {
    der_studio::web::worker::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "train")))]
fn main() {
    eprintln!(
        "`worker` runs inside the browser and needs the `train` feature; build it with `make serve`"
    );
}
