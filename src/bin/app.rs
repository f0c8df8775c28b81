//! The page: mounts the Leptos app (wasm only).

// Counts the bytes the page holds (the memory figures of the classroom-scale checks).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: der_studio::web::browser::diagnostics::CountingAllocator =
    der_studio::web::browser::diagnostics::CountingAllocator;

#[cfg(target_arch = "wasm32")]
fn main() {
    der_studio::web::page::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("`app` is the browser page; build it with `make serve`");
}
