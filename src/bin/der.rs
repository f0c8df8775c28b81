//! The native command-line tool: `der bench --data DIR ...`.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use clap::Parser;
    let cli = der_studio::cli::Cli::parse();
    match cli.command {
        der_studio::cli::Command::Bench(args) => {
            if let Err(message) = der_studio::cli::bench(&args) {
                eprintln!("error: {message}");
                std::process::exit(1);
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
