//! `der speed`: times the engine where users wait — one DER training iteration (forward,
//! backward, optimiser update) with 1, 3 and 5 branches, and one-image prediction — and prints
//! the numbers. `bench/torch_step.py` times the identical network and step in PyTorch.
//!
//! The network is the app's (width 8, 3 stages, 1 block per stage, 32×32 RGB, batch 32). Only
//! the newest branch trains; the loss is DER's: classification + auxiliary + sparsity with soft
//! masks. Two variants: frozen branches run forward in every iteration (what a step costs when
//! images are augmented), and their features come from a per-step cache (what the learner does).

use std::time::Instant;

use burn::module::Module;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Distribution, Tensor};
use serde::Serialize;

use crate::engine::branch::Branch;
use crate::engine::config::BackboneConfig;
use crate::engine::gate::GateMode;
use crate::engine::head::Head;
use crate::engine::network::DerNetwork;
use crate::engine::seeding::{seeded, seeded_module};
use crate::engine::tensor_io::{one_hot, read_f32};

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

#[derive(Serialize)]
pub struct SpeedCase {
    pub case: String,
    pub branches: usize,
    pub median_ms: f64,
    pub min_ms: f64,
}

const CLASSES_PER_STEP: usize = 2;
const WARMUP: usize = 3;

fn backbone(width: usize) -> BackboneConfig {
    BackboneConfig { input_size: 32, width, stages: 3, blocks_per_stage: 1 }
}

/// `branches` branches (all but the last frozen) with classifier and auxiliary head.
fn network(branches: usize, width: usize, device: &Device) -> DerNetwork {
    let config = backbone(width);
    seeded_module(device, 7, || {
        let parts: Vec<Branch> = (0..branches)
            .map(|i| {
                let b = Branch::new(&config, device);
                if i + 1 < branches { b.freeze() } else { b }
            })
            .collect();
        let dim = parts[0].feature_dim();
        DerNetwork {
            classifier: Head::new(dim * branches, CLASSES_PER_STEP * branches, device),
            aux: (branches > 1).then(|| Head::new(dim, CLASSES_PER_STEP + 1, device)),
            branches: parts,
        }
    })
}

fn cross_entropy(logits: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    log_softmax(logits, 1).mul(target).sum_dim(1).mean().neg().reshape([1])
}

fn median(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0])
}

/// Times training iterations; `cached` feeds the frozen branches' features from a cache.
async fn time_training(args: &SpeedArgs, branches: usize, cached: bool, device: &Device) -> SpeedCase {
    let train_device = device.clone().autodiff();
    let mut net = network(branches, args.width, device).fork(&train_device);
    let x = seeded(device, 1, || Tensor::<4>::random([args.batch, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &train_device));
    let labels: Vec<usize> = (0..args.batch).map(|i| i % (CLASSES_PER_STEP * branches)).collect();
    let target = one_hot(&labels, CLASSES_PER_STEP * branches, &train_device);
    let aux_labels: Vec<usize> = labels.iter().map(|&l| l.saturating_sub(CLASSES_PER_STEP * (branches - 1))).collect();
    let aux_target = one_hot(&aux_labels, CLASSES_PER_STEP + 1, &train_device);
    let frozen = if cached { net.frozen_features(x.clone()) } else { None };
    let mut optim = SgdConfig::new().with_momentum(Some(MomentumConfig::new().with_dampening(0.0))).init();
    let mut times = Vec::with_capacity(args.iterations);
    for i in 0..WARMUP + args.iterations {
        let start = Instant::now();
        let mode = GateMode::Soft { scale: 1.0 + i as f32 };
        let forward = if cached { net.forward_with_frozen(x.clone(), frozen.clone(), mode) } else { net.forward(x.clone(), mode) };
        let mut loss = cross_entropy(forward.logits, target.clone());
        if let Some(aux) = forward.aux_logits {
            loss = loss.add(cross_entropy(aux, aux_target.clone()));
        }
        loss = loss.add(net.branches.last().unwrap().sparsity_loss(mode).mul_scalar(0.5));
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(0.01, net, grads);
        // Reading the loss waits for the device: the time covers the whole iteration.
        let value = read_f32(loss.detach()).await.expect("loss reads back")[0];
        assert!(value.is_finite());
        if i >= WARMUP {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (median_ms, min_ms) = median(times);
    let case = if cached { "train step, frozen features cached" } else { "train step, frozen branches run" };
    SpeedCase { case: case.into(), branches, median_ms, min_ms }
}

async fn time_prediction(args: &SpeedArgs, branches: usize, device: &Device) -> SpeedCase {
    let net = network(branches, args.width, device);
    let x = seeded(device, 2, || Tensor::<4>::random([1, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), device));
    let mut times = Vec::with_capacity(args.iterations);
    for i in 0..WARMUP + args.iterations {
        let start = Instant::now();
        let p = read_f32(softmax(net.forward(x.clone(), GateMode::Binary).logits, 1)).await.expect("reads back");
        assert!(p.iter().all(|v| v.is_finite()));
        if i >= WARMUP {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (median_ms, min_ms) = median(times);
    SpeedCase { case: "predict one image".into(), branches, median_ms, min_ms }
}

pub fn run(args: SpeedArgs) -> Result<(), String> {
    let device = match args.backend.as_str() {
        "flex" | "cpu" => Device::flex(),
        other => return Err(format!("unknown backend “{other}” (this build has: flex)")),
    };
    println!("backend {} · batch {} · width {} · {} timed iterations per case", args.backend, args.batch, args.width, args.iterations);
    let mut cases = Vec::new();
    for &branches in &args.branches {
        for cached in [false, true] {
            if cached && branches == 1 {
                continue;
            }
            cases.push(pollster::block_on(time_training(&args, branches, cached, &device)));
            print_case(cases.last().unwrap());
        }
    }
    let most = args.branches.iter().copied().max().unwrap_or(5);
    cases.push(pollster::block_on(time_prediction(&args, most, &device)));
    print_case(cases.last().unwrap());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&cases).expect("plain data")).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn print_case(c: &SpeedCase) {
    println!("{:<38} branches {}  median {:>8.2} ms  min {:>8.2} ms", c.case, c.branches, c.median_ms, c.min_ms);
}
