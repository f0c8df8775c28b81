//! Stage 2 of a step: a fresh classifier learned on a class-balanced set (the memory's
//! exemplars and as many new images a class) with the features fixed, so the classifier stops
//! favouring the new classes, which have far more training images than the old ones.

use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Tensor};

use super::inference::INFERENCE_CHUNK;
use super::iteration::{cosine, cross_entropy};
use crate::engine::config::LearnerConfig;
use crate::engine::data::Sample;
use crate::engine::folded::FoldedNetwork;
use crate::engine::head::Head;
use crate::engine::rng::SplitMix64;
use crate::engine::seeding::{draw_device, seeded_module};
use crate::engine::tensor_io::{batch_tensor, indices};

/// Trains a fresh classifier on fixed features of a class-balanced set, logits divided by δ.
pub(super) fn relearn_classifier(
    inference: &FoldedNetwork,
    balanced: &[&Sample],
    index_of: &dyn Fn(usize) -> usize,
    classes: usize,
    config: &LearnerConfig,
    device: &Device,
    rng: &mut SplitMix64,
) -> Head {
    let train_device = device.clone().autodiff();
    let size = config.backbone.input_size;
    // Features are fixed during this stage: compute them once.
    let mut parts = Vec::new();
    let mut targets = Vec::new();
    for chunk in balanced.chunks(INFERENCE_CHUNK) {
        let (x, labels) = batch_tensor(chunk, size, device);
        parts.push(inference.features(x));
        targets.extend(labels.into_iter().map(index_of));
    }
    let features = Tensor::cat(parts, 0).autodiff();
    let dim = features.dims()[1];
    let mut head = seeded_module(&draw_device(), rng.next_u64(), || {
        Head::new(dim, classes, &train_device)
    });
    let mut optim = SgdConfig::new()
        .with_momentum(Some(MomentumConfig::new().with_dampening(0.0)))
        .init();
    let batch_size = 32usize;
    let batches = targets.len().div_ceil(batch_size);
    let total = config.relearn_epochs * batches;
    let mut order: Vec<usize> = (0..targets.len()).collect();
    for epoch in 0..config.relearn_epochs {
        rng.shuffle(&mut order);
        for batch in 0..batches {
            let chunk = &order[batch * batch_size..((batch + 1) * batch_size).min(order.len())];
            let rows = indices(chunk, &train_device);
            let x = features.clone().select(0, rows);
            let t: Vec<usize> = chunk.iter().map(|&i| targets[i]).collect();
            let logits = head.forward(x).div_scalar(config.temperature);
            let loss = cross_entropy(logits, &t, classes, &train_device);
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            let lr = cosine(
                config.relearn_learning_rate,
                epoch * batches + batch,
                total.max(1),
            );
            head = optim.step(lr, head, grads);
        }
    }
    head
}
