//! `der speed`: prints the timings of [`crate::tools::benchmark`] for a native backend.

use crate::tools::benchmark::{SpeedCase, SpeedSettings, time_prediction, time_training};

#[derive(clap::Args, Clone)]
pub struct SpeedArgs {
    /// Branch counts to time (the newest trains, the others are frozen).
    #[arg(long, value_delimiter = ',', default_value = "1,3,5")]
    pub branches: Vec<usize>,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 8)]
    pub width: usize,
    /// Timed iterations per case (after warm-up).
    #[arg(long, default_value_t = 30)]
    pub iterations: usize,
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Write the results as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

pub fn run(args: SpeedArgs) -> Result<(), String> {
    let device = crate::tools::device::device_for(&args.backend)?;
    let settings = SpeedSettings {
        batch: args.batch,
        width: args.width,
        input_size: 32,
        iterations: args.iterations.max(1),
    };
    println!(
        "backend {} · batch {} · width {} · {} timed iterations per case",
        args.backend, args.batch, args.width, settings.iterations
    );
    let mut cases = Vec::new();
    let fail = |e: crate::engine::tensor_io::ReadError| e.to_string();
    for &branches in &args.branches {
        for cached in [false, true] {
            if cached && branches == 1 {
                continue;
            }
            cases.push(
                pollster::block_on(time_training(&settings, branches, cached, &device))
                    .map_err(fail)?,
            );
            print_case(cases.last().unwrap());
        }
    }
    let most = args.branches.iter().copied().max().unwrap_or(5);
    cases.push(pollster::block_on(time_prediction(&settings, most, &device)).map_err(fail)?);
    print_case(cases.last().unwrap());
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&cases).expect("plain data"),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn print_case(c: &SpeedCase) {
    println!(
        "{:<38} branches {}  median {:>8.2} ms  min {:>8.2} ms",
        c.case, c.branches, c.median_ms, c.min_ms
    );
}
