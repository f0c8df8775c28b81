//! `der bench`: runs class-incremental learning on an ImageFolder data set and prints the
//! metrics (the engine's learning-quality benchmark).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::engine::learner::{Control, Observer, Phase, Progress, Silent, StepSummary};
use crate::engine::{AccuracyMatrix, Learner, LearnerConfig, Method};
use crate::tools::device::device_for;
use crate::tools::imagefolder::ImageFolder;

#[derive(Parser)]
#[command(name = "der", about = "DER Studio's command-line tool")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Learn an ImageFolder data set in class-incremental steps and report the metrics.
    Bench(BenchArgs),
    /// Time a training iteration (1, 3, 5 branches) and one-image prediction.
    Speed(crate::tools::speed::SpeedArgs),
}

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// ImageFolder root with train/ and test/ sub-folders.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub init_classes: usize,
    #[arg(long, default_value_t = 2)]
    pub increment: usize,
    // Settings left out take the engine's defaults (`LearnerConfig::default()`), which are the
    // page's too: one set of defaults, chosen on a validation split (BENCHMARKS.md).
    /// Total exemplars kept in memory, shared by all classes seen [default: 20 per class].
    #[arg(long, value_name = "N", conflicts_with = "memory_per_class")]
    pub memory: Option<usize>,
    /// Exemplars kept per class (the memory grows with the classes) [default: 20].
    #[arg(long, value_name = "N")]
    pub memory_per_class: Option<usize>,
    /// Fewest passes over a step's images [default: the engine's].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Fewest updates a step trains for: a step with few images runs more epochs (0: epochs
    /// alone) [default: the engine's].
    #[arg(long, value_name = "N")]
    pub min_updates: Option<usize>,
    /// Updates per anneal of the mask scale s (0: one per epoch, the paper's) [default: the
    /// engine's].
    #[arg(long, value_name = "N")]
    pub mask_period: Option<usize>,
    /// Train every step for its whole length instead of stopping once the loss stops falling.
    #[arg(long)]
    pub no_early_stop: bool,
    /// Restart the learning rate's cosine with each mask cycle (with the stopping rule), so a
    /// step that stops early ends at a low rate.
    #[arg(long)]
    pub learning_rate_per_cycle: bool,
    #[arg(long, default_value_t = 1993)]
    pub seed: u64,
    /// Run this many seeds (seed, seed + 1, …) and report each figure as mean ± standard
    /// deviation over them.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub seeds: usize,
    /// der, der-noprune, finetune, or replay (one network with the same memory).
    #[arg(long, default_value = "der")]
    pub method: Method,
    /// Augmentation of the training batches: none, shift (digits), or photo (photos and webcam
    /// frames: also flips and brightness/contrast).
    #[arg(long, default_value = "none")]
    pub augment: crate::engine::augment::Augment,
    /// flex (CPU), ndarray (CPU, slower) or wgpu (GPU; needs `--features native-gpu`).
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Where to write the JSON report.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Read at most this many images per class and split.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub lambda_sparsity: Option<f32>,
    #[arg(long)]
    pub width: Option<usize>,
    /// Hold out the last N training images of each class and evaluate on them instead of the
    /// test split: for choosing settings without looking at the test images.
    #[arg(long, value_name = "N")]
    pub validation: Option<usize>,
    /// Print the loss, its parts and the share of channels switched on after every epoch.
    #[arg(long)]
    pub progress: bool,
    /// Train on the first N training images of each class only (classroom-sized data); the
    /// test (or validation) images are unchanged.
    #[arg(long, value_name = "N")]
    pub train_per_class: Option<usize>,
}

/// Prints one line per epoch.
struct EpochPrinter;

impl Observer for EpochPrinter {
    async fn progress(&mut self, p: &Progress) -> Control {
        if p.phase == Phase::Train && p.batch == p.batches {
            let (on, all) = p.gate_masks.iter().flatten().fold((0, 0), |(on, all), &m| {
                (on + usize::from(m >= 0.5), all + 1)
            });
            println!(
                "      epoch {:>3}/{}  loss {:.4} (cls {:.4} aux {:.4} sparsity {:.4})  train acc {:>5.1}%  channels on {on}/{all}",
                p.epoch + 1,
                p.epochs,
                p.loss,
                p.loss_classifier,
                p.loss_aux,
                p.loss_sparsity,
                p.train_accuracy * 100.0
            );
        }
        Control::Continue
    }
    fn report_every(&self) -> usize {
        usize::MAX
    }
}

#[derive(Serialize)]
pub struct BenchReport {
    pub method: Method,
    pub lambda_sparsity: f32,
    pub epochs: usize,
    pub min_updates: usize,
    /// "test", or "validation" when settings were being chosen.
    pub evaluated_on: &'static str,
    pub classes: Vec<String>,
    pub steps: Vec<StepReport>,
    pub accuracy_matrix: Vec<Vec<f32>>,
    pub avg_incremental_accuracy: f32,
    pub last_accuracy: f32,
    pub forgetting: f32,
}

#[derive(Serialize)]
pub struct StepReport {
    pub step: usize,
    pub classes_seen: usize,
    pub accuracy: f32,
    pub params_before_prune: usize,
    pub params_after_prune: usize,
    pub branch_params_before: usize,
    pub branch_params_after: usize,
    pub branch_macs_before: usize,
    pub branch_macs_after: usize,
    /// FLOPs per image of the step's new branch (2 per multiply-add), before and after pruning.
    pub branch_flops_before: usize,
    pub branch_flops_after: usize,
    pub train_seconds: f64,
    pub seconds_per_epoch: f64,
    /// SGD updates the step ran (the stopping rule may end it early).
    pub updates: usize,
}

/// Runs the benchmark once (`bench_seeds` writes the JSON report); errors are messages for
/// the user.
pub fn bench(args: &BenchArgs) -> Result<BenchReport, String> {
    let device = device_for(&args.backend)?;
    let mut config = LearnerConfig {
        method: args.method,
        seed: args.seed,
        augment: args.augment,
        ..LearnerConfig::default()
    };
    match (args.memory, args.memory_per_class) {
        (Some(total), _) => (config.memory_total, config.memory_per_class) = (total, None),
        (None, Some(per_class)) => config.memory_per_class = Some(per_class),
        (None, None) => {}
    }
    if let Some(e) = args.epochs {
        config.epochs = e;
    }
    if let Some(l) = args.lambda_sparsity {
        config.lambda_sparsity = l;
    }
    if let Some(n) = args.min_updates {
        config.min_updates = n;
    }
    if let Some(n) = args.mask_period {
        config.mask_period = n;
    }
    if args.no_early_stop {
        config.stop_when_learned = false;
    }
    if args.learning_rate_per_cycle {
        config.learning_rate_per_cycle = true;
    }
    if let Some(w) = args.width {
        config.backbone.width = w;
    }
    let mut data = ImageFolder::load(&args.data, config.backbone.input_size, args.limit)
        .map_err(|e| e.to_string())?;
    let evaluated_on = match args.validation {
        Some(n) => {
            data = data.hold_out_validation(n).map_err(|e| e.to_string())?;
            format!(
                "validation images (the last {n} training images of each class; the test images are not used)"
            )
        }
        None => "test images".to_string(),
    };
    if let Some(n) = args.train_per_class {
        if n == 0 {
            return Err("--train-per-class must be at least 1".into());
        }
        data.train = data.train.first_per_class(n);
    }
    let class_count = data.classes.len();
    if args.init_classes == 0 || args.increment == 0 || args.init_classes > class_count {
        return Err(format!(
            "cannot split {class_count} classes into a first step of {} and increments of {}",
            args.init_classes, args.increment
        ));
    }
    let mut tasks: Vec<Vec<usize>> = vec![(0..args.init_classes).collect()];
    let mut next = args.init_classes;
    while next < class_count {
        let end = (next + args.increment).min(class_count);
        tasks.push((next..end).collect());
        next = end;
    }
    // Settings that cannot work are refused before the first step trains, not at step 4.
    for (t, classes) in tasks.iter().enumerate() {
        let seen = tasks[..=t].iter().map(Vec::len).sum();
        let images = data.train.filter_classes(classes).len();
        config
            .check_for_step(seen, images)
            .map_err(|e| format!("step {} cannot run: {e}", t + 1))?;
    }
    let mut learner = Learner::new(config.clone(), device);
    let mut matrix = AccuracyMatrix::default();
    let mut steps = Vec::new();
    println!(
        "{} on {} ({} classes, {} steps), backend {}",
        method_name(args.method),
        args.data.display(),
        class_count,
        tasks.len(),
        args.backend
    );
    println!(
        "λs {}, {} epochs (at least {} updates a step), augmentation {:?}, evaluated on {evaluated_on}",
        config.effective_lambda_sparsity(),
        config.epochs,
        config.min_updates,
        config.augment
    );
    println!(
        "{:>4} {:>6} {:>9} {:>12} {:>12} {:>8} {:>8}  per-task accuracy",
        "step", "seen", "accuracy", "params", "pruned", "seconds", "updates"
    );
    for (t, classes) in tasks.iter().enumerate() {
        let train = data.train.filter_classes(classes);
        let summary: StepSummary = if args.progress {
            pollster::block_on(learner.learn_step(&train, &mut EpochPrinter))
        } else {
            pollster::block_on(learner.learn_step(&train, &mut Silent))
        }
        .map_err(|e| e.to_string())?;
        let seen: Vec<usize> = tasks[..=t].iter().flatten().copied().collect();
        let test = data.test.filter_classes(&seen);
        let pairs = pollster::block_on(learner.evaluate(&test)).map_err(|e| e.to_string())?;
        matrix.push_step(t + 1, &pairs, |label| {
            tasks.iter().position(|task| task.contains(&label)).unwrap()
        });
        let accuracy = *matrix.seen.last().unwrap();
        let row: Vec<String> = matrix
            .rows
            .last()
            .unwrap()
            .iter()
            .map(|a| format!("{:.1}", a * 100.0))
            .collect();
        println!(
            "{:>4} {:>6} {:>8.2}% {:>12} {:>12} {:>8.1} {:>8}  [{}]",
            t + 1,
            seen.len(),
            accuracy * 100.0,
            summary.params_before_prune,
            summary.params_after_prune,
            summary.train_seconds,
            summary.updates,
            row.join(", ")
        );
        steps.push(StepReport {
            step: t + 1,
            classes_seen: seen.len(),
            accuracy,
            params_before_prune: summary.params_before_prune,
            params_after_prune: summary.params_after_prune,
            branch_params_before: summary.branch_params_before,
            branch_params_after: summary.branch_params_after,
            branch_macs_before: summary.branch_macs_before,
            branch_macs_after: summary.branch_macs_after,
            branch_flops_before: 2 * summary.branch_macs_before,
            branch_flops_after: 2 * summary.branch_macs_after,
            train_seconds: summary.train_seconds,
            seconds_per_epoch: summary.train_seconds / summary.epochs.max(1) as f64,
            updates: summary.updates,
        });
    }
    let report = BenchReport {
        method: args.method,
        lambda_sparsity: config.effective_lambda_sparsity(),
        epochs: config.epochs,
        min_updates: config.min_updates,
        evaluated_on: if args.validation.is_some() {
            "validation"
        } else {
            "test"
        },
        classes: data.classes.clone(),
        steps,
        accuracy_matrix: matrix.rows.clone(),
        avg_incremental_accuracy: matrix.average_incremental_accuracy(),
        last_accuracy: matrix.last_accuracy(),
        forgetting: matrix.forgetting(),
    };
    println!(
        "average incremental accuracy {:.2}%  last accuracy {:.2}%  forgetting {:.2} points",
        report.avg_incremental_accuracy * 100.0,
        report.last_accuracy * 100.0,
        report.forgetting * 100.0
    );
    Ok(report)
}

/// One figure over several seeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 for one run.
    pub sd: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Self { mean, sd }
    }
}

/// The runs of `der bench --seeds K` and their figures as mean ± standard deviation.
#[derive(Serialize)]
pub struct SeedsReport {
    pub seeds: Vec<u64>,
    /// Percent.
    pub avg_incremental_accuracy: Spread,
    pub last_accuracy: Spread,
    /// Points.
    pub forgetting: Spread,
    /// The whole network after the last step.
    pub params_after: Spread,
    pub runs: Vec<BenchReport>,
}

/// `der bench`: one run, or `--seeds K` runs summarised. Errors are messages for the user.
pub fn bench_seeds(args: &BenchArgs) -> Result<SeedsReport, String> {
    if args.seeds == 0 {
        return Err("--seeds must be at least 1".into());
    }
    let seeds: Vec<u64> = (0..args.seeds as u64).map(|i| args.seed + i).collect();
    let mut runs = Vec::new();
    for &seed in &seeds {
        if args.seeds > 1 {
            println!("— seed {seed} —");
        }
        runs.push(bench(&BenchArgs {
            seed,
            ..args.clone()
        })?);
    }
    let spread = |f: fn(&BenchReport) -> f64| Spread::of(&runs.iter().map(f).collect::<Vec<f64>>());
    let report = SeedsReport {
        avg_incremental_accuracy: spread(|r| f64::from(r.avg_incremental_accuracy) * 100.0),
        last_accuracy: spread(|r| f64::from(r.last_accuracy) * 100.0),
        forgetting: spread(|r| f64::from(r.forgetting) * 100.0),
        params_after: spread(|r| r.steps.last().map_or(0, |s| s.params_after_prune) as f64),
        seeds,
        runs,
    };
    if args.seeds > 1 {
        let show = |s: Spread| format!("{:.2} ± {:.2}", s.mean, s.sd);
        println!(
            "over {} seeds: average incremental accuracy {}%  last accuracy {}%  forgetting {} points  parameters {:.0} ± {:.0}",
            args.seeds,
            show(report.avg_incremental_accuracy),
            show(report.last_accuracy),
            show(report.forgetting),
            report.params_after.mean,
            report.params_after.sd
        );
    }
    if let Some(path) = &args.json {
        // One run keeps the report's old shape; several seeds write the summary with every run.
        let text = if args.seeds == 1 {
            serde_json::to_string_pretty(&report.runs[0])
        } else {
            serde_json::to_string_pretty(&report)
        }
        .expect("report serialises");
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(report)
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Der => "DER",
        Method::DerNoprune => "DER without pruning",
        Method::Finetune => "fine-tuning",
        Method::Replay => "replay (one network, the same memory)",
    }
}
