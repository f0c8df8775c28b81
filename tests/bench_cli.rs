//! `der bench`'s flags for classroom-sized studies: `--train-per-class`, `--method replay`
//! and `--seeds K` (mean ± standard deviation), on the MNIST fixture at one epoch a step.
//! (Settings left out take the engine's defaults: `a_bench_left_alone_uses_the_engines_defaults`.)

use clap::Parser;
use der_studio::tools::cli::{BenchArgs, Cli, Command, Spread, bench, bench_seeds};

fn args(extra: &[&str]) -> BenchArgs {
    let mut argv = vec![
        "der",
        "bench",
        "--data",
        "tests/fixtures/mnist6",
        "--width",
        "4",
        "--memory",
        "12",
    ];
    // One epoch a step, with no floor of updates: the fixture's steps stay short.
    if !extra.contains(&"--epochs") {
        argv.extend_from_slice(&["--epochs", "1", "--min-updates", "0"]);
    }
    argv.extend_from_slice(extra);
    match Cli::parse_from(argv).command {
        Command::Bench(args) => args,
        _ => unreachable!(),
    }
}

#[test]
fn spread_is_the_mean_and_the_sample_standard_deviation() {
    assert_eq!(Spread::of(&[1.0, 2.0, 3.0]), Spread { mean: 2.0, sd: 1.0 });
    assert_eq!(Spread::of(&[5.0]), Spread { mean: 5.0, sd: 0.0 });
}

#[test]
fn seeds_run_one_after_another_and_are_summarised() {
    let report = bench_seeds(&args(&[
        "--seeds",
        "2",
        "--seed",
        "40",
        "--train-per-class",
        "20",
    ]))
    .expect("runs");
    assert_eq!(report.seeds, vec![40, 41]);
    assert_eq!(report.runs.len(), 2);
    let figures: Vec<f64> = report
        .runs
        .iter()
        .map(|r| f64::from(r.avg_incremental_accuracy) * 100.0)
        .collect();
    assert_eq!(report.avg_incremental_accuracy, Spread::of(&figures));
    assert!(
        bench_seeds(&args(&["--seeds", "0"]))
            .err()
            .unwrap()
            .contains("at least 1")
    );
}

#[test]
fn train_per_class_and_replay_through_the_command_line() {
    // Replay: one network all along, never pruned, classifier over every class.
    let report = bench(&args(&["--method", "replay", "--train-per-class", "20"])).expect("runs");
    assert_eq!(report.steps.len(), 3);
    assert!(
        report
            .steps
            .iter()
            .all(|s| s.branch_params_after == s.branch_params_before),
        "replay never prunes"
    );
    let first = report.steps[0].params_after_prune;
    let last = report.steps[2].params_after_prune;
    // The same network; only the classifier grows (4 more classes, 32 features, 4 biases).
    assert!(
        last > first && last - first < 200,
        "one network: {first} → {last} parameters"
    );
    assert!(
        bench(&args(&["--train-per-class", "0"]))
            .err()
            .unwrap()
            .contains("at least 1")
    );
}

/// A seed reproduces its numbers on one machine: the same run twice gives the same accuracy
/// matrix and parameter counts, to the last bit.
#[test]
fn the_same_seed_gives_the_same_numbers() {
    let run = || {
        bench(&args(&[
            "--train-per-class",
            "20",
            "--epochs",
            "2",
            "--seed",
            "11",
        ]))
        .expect("runs")
    };
    let (a, b) = (run(), run());
    assert_eq!(a.accuracy_matrix, b.accuracy_matrix);
    assert_eq!(
        a.steps
            .iter()
            .map(|s| s.params_after_prune)
            .collect::<Vec<_>>(),
        b.steps
            .iter()
            .map(|s| s.params_after_prune)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_bench_left_alone_uses_the_engines_defaults() {
    use der_studio::engine::LearnerConfig;
    let defaults = LearnerConfig::default();
    let Command::Bench(plain) = Cli::parse_from(["der", "bench", "--data", "x"]).command else {
        unreachable!()
    };
    assert_eq!(
        (
            plain.epochs,
            plain.min_updates,
            plain.memory,
            plain.memory_per_class,
            plain.lambda_sparsity
        ),
        (None, None, None, None, None)
    );
    // With no flags the report's settings are the engine's (the page's) defaults.
    let report = bench(&args(&["--train-per-class", "20"])).expect("runs");
    assert_eq!(report.lambda_sparsity, defaults.lambda_sparsity);
    let Command::Bench(total) =
        Cli::parse_from(["der", "bench", "--data", "x", "--memory", "50"]).command
    else {
        unreachable!()
    };
    assert_eq!(total.memory, Some(50));
    assert!(
        Cli::try_parse_from([
            "der",
            "bench",
            "--data",
            "x",
            "--memory",
            "50",
            "--memory-per-class",
            "5"
        ])
        .is_err(),
        "one memory rule at a time"
    );
}
