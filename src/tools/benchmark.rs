//! Timing the engine where users wait — one DER training iteration (forward, backward,
//! optimiser update) with 1, 3 and 5 branches, and one-image prediction. Device-agnostic: the
//! native `der speed` command and the browser worker run the same code.
//!
//! The network is the app's (width 8, 3 stages, 1 block per stage, 32×32 RGB, batch 32). Only
//! the newest branch trains, in the engine's own iteration
//! ([`crate::engine::learner::iteration::train_iteration`]: classification + auxiliary + sparsity
//! loss with soft masks, HAT's gradient compensation, the gate logits clamped). Two variants: frozen branches run forward in every iteration (what a step costs when
//! images are augmented), and their features come from a per-step cache (what the learner does).
//! `bench/torch_step.py` is the same network and iteration in PyTorch.

use burn::module::Module;
use burn::optim::SgdConfig;
use burn::optim::momentum::MomentumConfig;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Distribution, Tensor};

use crate::engine::branch::Branch;
use crate::engine::config::BackboneConfig;
use crate::engine::folded::{self, FoldedNetwork};
use crate::engine::head::Head;
use crate::engine::learner::iteration::{IterationBatch, IterationSettings, train_iteration};
use crate::engine::network::DerNetwork;
use crate::engine::seeding::{seeded, seeded_module};
use crate::engine::tensor_io::{ReadError, read_f32};
pub use crate::protocol::{SpeedCase, SpeedSettings};

const CLASSES_PER_STEP: usize = 2;
/// Loss weights and learning rate of the timed iterations (fixed: the time does not depend on them).
const LAMBDA_AUX: f32 = 1.0;
const LAMBDA_SPARSITY: f32 = 0.5;
const LEARNING_RATE: f64 = 0.01;
/// s_max of the gradient compensation, the learner's default.
const S_MAX: f32 = 100.0;
/// Untimed iterations first (allocator, caches, shader compilation); fewer for short runs.
fn warmup(settings: &SpeedSettings) -> usize {
    if settings.iterations < 10 { 1 } else { 3 }
}

fn backbone(width: usize, input_size: usize) -> BackboneConfig {
    BackboneConfig {
        input_size,
        width,
        stages: 3,
        blocks_per_stage: 1,
    }
}

/// `branches` branches (all but the last frozen) with classifier and auxiliary head.
fn network(branches: usize, settings: &SpeedSettings, device: &Device) -> DerNetwork {
    let config = backbone(settings.width, settings.input_size);
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

fn median(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0])
}

/// Times training iterations; `cached` feeds the frozen branches' features from a cache.
pub async fn time_training(
    settings: &SpeedSettings,
    branches: usize,
    cached: bool,
    device: &Device,
) -> Result<SpeedCase, ReadError> {
    let train_device = device.clone().autodiff();
    let mut net = network(branches, settings, &train_device);
    let x = seeded(device, 1, || {
        Tensor::<4>::random(
            [settings.batch, 3, settings.input_size, settings.input_size],
            Distribution::Uniform(-1.0, 1.0),
            &train_device,
        )
    });
    let labels: Vec<usize> = (0..settings.batch)
        .map(|i| i % (CLASSES_PER_STEP * branches))
        .collect();
    let old_classes = CLASSES_PER_STEP * (branches - 1);
    // Folded once, as a step does (engine/folded.rs).
    let folded_frozen = folded::fold_frozen(&net);
    let frozen = if cached {
        folded::frozen_features(&folded_frozen, x.clone())
    } else {
        None
    };
    let mut optim = SgdConfig::new()
        .with_momentum(Some(MomentumConfig::new().with_dampening(0.0)))
        .init();
    let mut times = Vec::with_capacity(settings.iterations);
    for i in 0..warmup(settings) + settings.iterations {
        let start = web_time::Instant::now();
        let iteration = IterationSettings {
            lambda_aux: LAMBDA_AUX,
            lambda_sparsity: LAMBDA_SPARSITY,
            scale: 1.0 + i as f32,
            s_max: S_MAX,
            learning_rate: LEARNING_RATE,
        };
        // Without the cache the folded frozen branches run on every batch, as in a step with
        // augmentation.
        let frozen_rows = if cached {
            frozen.clone()
        } else {
            folded::frozen_features(&folded_frozen, x.clone())
        };
        let batch = IterationBatch {
            images: x.clone(),
            frozen: frozen_rows,
            targets: &labels,
            old_classes,
            device: &train_device,
        };
        let (trained, losses) = train_iteration(net, &mut optim, batch, &iteration);
        net = trained;
        let loss = losses.loss;
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
    let case = if cached {
        "train step, frozen features cached"
    } else {
        "train step, frozen branches run"
    };
    Ok(SpeedCase {
        case: case.into(),
        branches,
        median_ms,
        min_ms,
    })
}

pub async fn time_prediction(
    settings: &SpeedSettings,
    branches: usize,
    device: &Device,
) -> Result<SpeedCase, ReadError> {
    // What the learner predicts with: every branch folded.
    let net = FoldedNetwork::fold(&network(branches, settings, device));
    let x = seeded(device, 2, || {
        Tensor::<4>::random(
            [1, 3, settings.input_size, settings.input_size],
            Distribution::Uniform(-1.0, 1.0),
            device,
        )
    });
    let mut times = Vec::with_capacity(settings.iterations);
    for i in 0..warmup(settings) + settings.iterations {
        let start = web_time::Instant::now();
        let p = read_f32(softmax(net.logits(x.clone()), 1)).await?;
        if p.iter().any(|v| !v.is_finite()) {
            return Err(ReadError("a prediction was not finite".into()));
        }
        if i >= warmup(settings) {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (median_ms, min_ms) = median(times);
    Ok(SpeedCase {
        case: "predict one image".into(),
        branches,
        median_ms,
        min_ms,
    })
}
