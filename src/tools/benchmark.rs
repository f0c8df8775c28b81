//! Timing the engine where users wait — one DER training iteration (forward, backward,
//! optimiser update) with 1, 3 and 5 branches, and one-image prediction. Device-agnostic: the
//! native `der speed` command and the browser worker run the same code.
//!
//! The network is the app's (width 8, 3 stages, 1 block per stage, 32×32 RGB, batch 32). Only
//! the newest branch trains; the loss is DER's: classification + auxiliary + sparsity with soft
//! masks. Two variants: frozen branches run forward in every iteration (what a step costs when
//! images are augmented), and their features come from a per-step cache (what the learner does).
//! `bench/torch_step.py` is the same network and iteration in PyTorch.

use burn::module::Module;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Distribution, Tensor};

use crate::engine::branch::Branch;
use crate::engine::config::BackboneConfig;
use crate::engine::gate::GateMode;
use crate::engine::head::Head;
use crate::engine::network::DerNetwork;
use crate::engine::seeding::{seeded, seeded_module};
use crate::engine::tensor_io::{one_hot, read_f32, ReadError};
pub use crate::protocol::{SpeedCase, SpeedSettings};



const CLASSES_PER_STEP: usize = 2;
/// Untimed iterations first (allocator, caches, shader compilation); fewer for short runs.
fn warmup(settings: &SpeedSettings) -> usize {
    if settings.iterations < 10 { 1 } else { 3 }
}

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
pub async fn time_training(settings: &SpeedSettings, branches: usize, cached: bool, device: &Device) -> Result<SpeedCase, ReadError> {
    let train_device = device.clone().autodiff();
    let mut net = network(branches, settings.width, &train_device);
    let x = seeded(device, 1, || Tensor::<4>::random([settings.batch, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &train_device));
    let labels: Vec<usize> = (0..settings.batch).map(|i| i % (CLASSES_PER_STEP * branches)).collect();
    let target = one_hot(&labels, CLASSES_PER_STEP * branches, &train_device);
    let aux_labels: Vec<usize> = labels.iter().map(|&l| l.saturating_sub(CLASSES_PER_STEP * (branches - 1))).collect();
    let aux_target = one_hot(&aux_labels, CLASSES_PER_STEP + 1, &train_device);
    let frozen = if cached { net.frozen_features(x.clone()) } else { None };
    let mut optim = SgdConfig::new().with_momentum(Some(MomentumConfig::new().with_dampening(0.0))).init();
    let mut times = Vec::with_capacity(settings.iterations);
    for i in 0..warmup(settings) + settings.iterations {
        let start = web_time::Instant::now();
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
        let value = read_f32(loss.detach()).await?[0];
        if !value.is_finite() {
            return Err(ReadError(format!("the loss became {value}")));
        }
        if i >= warmup(settings) {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (median_ms, min_ms) = median(times);
    let case = if cached { "train step, frozen features cached" } else { "train step, frozen branches run" };
    Ok(SpeedCase { case: case.into(), branches, median_ms, min_ms })
}

pub async fn time_prediction(settings: &SpeedSettings, branches: usize, device: &Device) -> Result<SpeedCase, ReadError> {
    let net = network(branches, settings.width, device);
    let x = seeded(device, 2, || Tensor::<4>::random([1, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), device));
    let mut times = Vec::with_capacity(settings.iterations);
    for i in 0..warmup(settings) + settings.iterations {
        let start = web_time::Instant::now();
        let p = read_f32(softmax(net.forward(x.clone(), GateMode::Binary).logits, 1)).await?;
        if p.iter().any(|v| !v.is_finite()) {
            return Err(ReadError("a prediction was not finite".into()));
        }
        if i >= warmup(settings) {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (median_ms, min_ms) = median(times);
    Ok(SpeedCase { case: "predict one image".into(), branches, median_ms, min_ms })
}
