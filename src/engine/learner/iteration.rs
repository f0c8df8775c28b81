//! One training iteration of the representation stage, in one function: the learner runs it
//! for every batch and the speed benchmark (`tools::benchmark`) times it, so what is measured
//! is what users run.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};

use crate::engine::gate::{ChannelGate, GateMode, LOGIT_CLAMP, compensate_gradient};
use crate::engine::network::DerNetwork;
use crate::engine::parallel::on_pool_thread;
use crate::engine::tensor_io::{indices, one_hot};

/// The loss weights and schedule values of one iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct IterationSettings {
    /// λa: weight of the auxiliary loss (0 switches it off).
    pub lambda_aux: f32,
    /// λs: weight of the sparsity loss (0 switches it off).
    pub lambda_sparsity: f32,
    /// The mask scale s of this batch.
    pub scale: f32,
    /// The largest mask scale, for HAT's gradient compensation.
    pub s_max: f32,
    pub learning_rate: f64,
}

/// One batch of training images.
pub struct IterationBatch<'a> {
    /// `[batch, 3, size, size]` on the autodiff device.
    pub images: Tensor<4>,
    /// The frozen branches' features of these images, from a per-step cache; `None` runs the
    /// frozen branches forward (or there are none).
    pub frozen: Option<Tensor<2>>,
    /// Each image's output index (in the network's class order).
    pub targets: &'a [usize],
    /// Outputs learned in earlier steps: the auxiliary head sees them as one class.
    pub old_classes: usize,
    /// The autodiff device the network trains on.
    pub device: &'a Device,
}

/// The iteration's losses and correct predictions, still on the device (nothing is read back).
pub struct IterationLosses {
    /// The total loss that was minimised.
    pub loss: Tensor<1>,
    pub classifier: Tensor<1>,
    /// `None` without an auxiliary head or with λa = 0.
    pub aux: Option<Tensor<1>>,
    pub sparsity: Tensor<1>,
    /// How many images the classifier got right.
    pub correct: Tensor<1>,
}

/// Forward (with the frozen features when given), classification + λa·auxiliary + λs·sparsity
/// loss, backward, HAT's gradient compensation on the newest branch's gates, one optimiser step,
/// and the gate logits clamped. Returns the updated network and the losses.
/// The update runs on a pool thread where flex has a pool ([`crate::engine::parallel`]).
pub fn train_iteration(
    network: DerNetwork,
    optim: &mut ModuleOptimizer,
    batch: IterationBatch,
    settings: &IterationSettings,
) -> (DerNetwork, IterationLosses) {
    on_pool_thread(move || one_update(network, optim, batch, settings))
}

fn one_update(
    network: DerNetwork,
    optim: &mut ModuleOptimizer,
    batch: IterationBatch,
    settings: &IterationSettings,
) -> (DerNetwork, IterationLosses) {
    let IterationBatch {
        images,
        frozen,
        targets,
        old_classes,
        device,
    } = batch;
    let mode = GateMode::Soft {
        scale: settings.scale,
    };
    let classes = network.classes();

    let forward = match frozen {
        Some(frozen) => network.forward_with_frozen(images, Some(frozen), mode),
        None => network.forward(images, mode),
    };
    let loss_classifier = cross_entropy(forward.logits.clone(), targets, classes, device);
    let mut loss = loss_classifier.clone();
    let mut loss_aux = None;
    if let (Some(aux_logits), true) = (forward.aux_logits, settings.lambda_aux > 0.0) {
        // Old classes → 0, new class j → 1 + j.
        let aux_targets: Vec<usize> = targets
            .iter()
            .map(|&t| {
                if t < old_classes {
                    0
                } else {
                    1 + t - old_classes
                }
            })
            .collect();
        let l = cross_entropy(aux_logits, &aux_targets, classes - old_classes + 1, device);
        loss = loss.add(l.clone().mul_scalar(settings.lambda_aux));
        loss_aux = Some(l);
    }
    let newest = network.branches.last().expect("a network has a branch");
    let loss_sparsity = newest.sparsity_loss(mode);
    if settings.lambda_sparsity > 0.0 {
        loss = loss.add(loss_sparsity.clone().mul_scalar(settings.lambda_sparsity));
    }
    let correct = forward
        .logits
        .detach()
        .argmax(1)
        .reshape([targets.len()])
        .equal(indices(targets, device))
        .float()
        .sum();

    let mut grads = GradientsParams::from_grads(loss.backward(), &network);
    for (_, gate) in newest.gates() {
        compensate(&mut grads, gate, settings.scale, settings.s_max);
    }
    let mut network = optim.step(settings.learning_rate, network, grads);
    network
        .branches
        .last_mut()
        .expect("a network has a branch")
        .for_each_gate_mut(clamp_logits);
    let losses = IterationLosses {
        loss,
        classifier: loss_classifier,
        aux: loss_aux,
        sparsity: loss_sparsity,
        correct,
    };
    (network, losses)
}

pub(super) fn cross_entropy(
    logits: Tensor<2>,
    targets: &[usize],
    classes: usize,
    device: &Device,
) -> Tensor<1> {
    let target = one_hot(targets, classes, device);
    log_softmax(logits, 1).mul(target).sum_dim(1).mean().neg()
}

/// The learning rate of `iteration` of `total` under cosine decay from `base`.
pub(super) fn cosine(base: f64, iteration: usize, total: usize) -> f64 {
    base * 0.5 * (1.0 + (std::f64::consts::PI * iteration as f64 / total as f64).cos())
}

/// An open gate (an ordinary network's) has no embedding, so nothing to compensate.
fn compensate(grads: &mut GradientsParams, gate: &ChannelGate, scale: f32, s_max: f32) {
    let Some(logits) = &gate.logits else {
        return;
    };
    if let Some(grad) = grads.remove::<1>(logits.id) {
        let values = logits.val().detach().inner();
        grads.register(logits.id, compensate_gradient(grad, values, scale, s_max));
    }
}

fn clamp_logits(gate: &mut ChannelGate) {
    if let Some(logits) = gate.logits.take() {
        gate.logits =
            Some(logits.map(|t| t.clamp(-LOGIT_CLAMP, LOGIT_CLAMP).detach().require_grad()));
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::optim::SgdConfig;

    use super::*;
    use crate::engine::config::BackboneConfig;
    use crate::engine::tensor_io::{batch_tensor, read_f32};
    use crate::engine::{Dataset, Sample};

    fn batch() -> Dataset {
        let samples = (0..8)
            .map(|i| Sample {
                pixels: (0..3 * 16 * 16)
                    .map(|p| ((p * 37 + i * 91) % 256) as u8)
                    .collect(),
                label: i % 2,
            })
            .collect();
        Dataset { samples, size: 16 }
    }

    /// Trains one iteration of a fresh network and returns it with its sparsity loss.
    fn one_iteration(gated: bool) -> (DerNetwork, f32) {
        let device = Device::flex().autodiff();
        let backbone = BackboneConfig {
            input_size: 16,
            width: 4,
            stages: 2,
            blocks_per_stage: 1,
        };
        let network = DerNetwork::new(&backbone, 2, gated, &device);
        let data = batch();
        let images: Vec<&Sample> = data.samples.iter().collect();
        let (x, targets) = batch_tensor(&images, 16, &device);
        let mut optim = SgdConfig::new().init();
        let settings = IterationSettings {
            lambda_aux: 1.0,
            lambda_sparsity: 0.5,
            scale: 3.0,
            s_max: 400.0,
            learning_rate: 0.1,
        };
        let input = IterationBatch {
            images: x,
            frozen: None,
            targets: &targets,
            old_classes: 0,
            device: &device,
        };
        let (network, losses) = train_iteration(network, &mut optim, input, &settings);
        let sparsity = pollster::block_on(read_f32(losses.sparsity)).unwrap()[0];
        (network, sparsity)
    }

    /// Fine-tuning and replay (`Method::masks_channels` false) train an ordinary network: after
    /// an iteration it still has no mask parameter and its sparsity loss is 0; DER's network of
    /// the same shape has exactly one more parameter per gated channel, and a sparsity loss.
    #[test]
    fn the_baselines_iteration_trains_no_gate_parameter_and_ders_does() {
        let (plain, plain_sparsity) = one_iteration(false);
        assert!(
            plain.branches[0]
                .gates()
                .iter()
                .all(|(_, g)| !g.is_learned())
        );
        assert_eq!(plain_sparsity, 0.0);

        let (der, der_sparsity) = one_iteration(true);
        let mask_values: usize = der.branches[0]
            .gates()
            .iter()
            .map(|(_, g)| g.channels())
            .sum();
        assert!(der.branches[0].gates().iter().all(|(_, g)| g.is_learned()));
        assert_eq!(der.num_params(), plain.num_params() + mask_values);
        assert!(der_sparsity > 0.0, "DER's masks have a sparsity loss");
    }
}
