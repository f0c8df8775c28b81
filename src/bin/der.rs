//! The native command-line tool: `der bench --data DIR ...` and `der speed`.

// Reuses freed activation buffers instead of mapping fresh pages each time (Cargo.toml).
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(not(target_arch = "wasm32"), feature = "train"))]
fn main() {
    use clap::Parser;
    let cli = der_studio::tools::cli::Cli::parse();
    match cli.command {
        der_studio::tools::cli::Command::Bench(args) => {
            if let Err(message) = der_studio::tools::cli::bench_seeds(&args) {
                eprintln!("error: {message}");
                std::process::exit(1);
            }
        }
        der_studio::tools::cli::Command::Speed(args) => {
            if let Err(message) = der_studio::tools::speed::run(args) {
                eprintln!("error: {message}");
                std::process::exit(1);
            }
        }
    }
}

#[cfg(not(all(not(target_arch = "wasm32"), feature = "train")))]
fn main() {
    eprintln!("`der` is the native command-line tool; build it with the `train` feature");
}
