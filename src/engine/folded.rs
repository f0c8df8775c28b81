//! A frozen branch as inference runs it: every convolution, its BatchNorm (running statistics)
//! and the binary gate on its output folded into one convolution with a bias.
//!
//! Why: a frozen branch never changes, yet run as trained it spends, after every convolution,
//! one pass per elementwise operation of BatchNorm, one for the gate and one for the ReLU: on
//! WebGPU each is a kernel dispatch (Burn has no fusion in wasm), on the CPU each a pass over
//! memory. Folded, a layer is one convolution (bias included) and a ReLU. Prediction, the
//! frozen branches of a training step and the features herding and re-learning read all run
//! frozen branches.
//!
//! The algebra, per output channel c with binary mask m_c ∈ {0, 1}:
//! `m·(γ(conv(x) − μ)/√(σ²+ε) + β) = conv_{w·k}(x) + b` with `k = m·γ/√(σ²+ε)` and
//! `b = m·(β − μ·γ/√(σ²+ε))`. A block's output gate follows a ReLU of a sum, and
//! `relu(z)·m = relu(z·m)` for m ≥ 0, so the stage gate folds into both terms of the sum: into
//! `conv2` and into the projection shortcut. An identity shortcut needs nothing: its input is
//! the previous block's output, already zero where the same stage gate is off.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::branch::{Branch, ConvBn};
use super::gate::{ChannelGate, GateMode};
use super::head::Head;
use super::network::DerNetwork;

/// A residual block, folded: `relu(conv2(relu(conv1(x))) + shortcut(x))`.
#[derive(Module, Debug)]
pub struct FoldedBlock {
    conv1: Conv2d,
    conv2: Conv2d,
    /// The folded projection; `None`: identity.
    shortcut: Option<Conv2d>,
}

impl FoldedBlock {
    /// The block's convolutions (each with its folded bias): `conv1`, `conv2` and the
    /// projection shortcut (`None`: identity). What an exporter writes.
    pub fn convolutions(&self) -> (&Conv2d, &Conv2d, Option<&Conv2d>) {
        (&self.conv1, &self.conv2, self.shortcut.as_ref())
    }
}

/// A frozen [`Branch`] folded for inference: the same features, fewer passes.
#[derive(Module, Debug)]
pub struct FoldedBranch {
    stem: Conv2d,
    blocks: Vec<FoldedBlock>,
}

impl FoldedBranch {
    /// Folds `branch` as it runs frozen: BatchNorm's running statistics, binary masks. Call it
    /// on a module without autodiff (`Module::valid`), so the folded weights are constants.
    pub fn fold(branch: &Branch) -> Self {
        let stem = fold_conv_bn(&branch.stem, &branch.stem_gate);
        let blocks = branch
            .stages
            .iter()
            .flat_map(|stage| {
                stage.blocks.iter().map(|block| FoldedBlock {
                    conv1: fold_conv_bn(&block.conv1, &block.gate1),
                    conv2: fold_conv_bn(&block.conv2, &stage.gate),
                    shortcut: block
                        .shortcut
                        .as_ref()
                        .map(|projection| fold_conv_bn(projection, &stage.gate)),
                })
            })
            .collect();
        Self { stem, blocks }
    }

    /// The stem convolution (first layer).
    pub fn stem(&self) -> &Conv2d {
        &self.stem
    }

    /// The residual blocks, in order.
    pub fn blocks(&self) -> &[FoldedBlock] {
        &self.blocks
    }

    /// Channels of the branch's output: its share of u, after pruning.
    pub fn feature_dim(&self) -> usize {
        let last = self.blocks.last().map_or(&self.stem, |b| &b.conv2);
        last.weight.shape().dims::<4>()[0]
    }

    /// Features `[batch, feature_dim]`, equal (up to rounding) to the branch's with binary masks
    /// and BatchNorm in eval.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = relu(self.stem.forward(x));
        let x = self.blocks.iter().fold(x, |x, block| {
            let h = relu(block.conv1.forward(x.clone()));
            let shortcut = match &block.shortcut {
                Some(projection) => projection.forward(x),
                None => x,
            };
            relu(block.conv2.forward(h).add(shortcut))
        });
        let [batch, channels, _, _] = x.dims();
        x.mean_dim(3).mean_dim(2).reshape([batch, channels])
    }
}

/// `gate(bn(conv(x)))` as one convolution with bias (see the module's comment for the algebra).
fn fold_conv_bn(layer: &ConvBn, gate: &ChannelGate) -> Conv2d {
    let bn = &layer.bn;
    let mask = gate.mask(GateMode::Binary);
    let scale = bn
        .gamma
        .val()
        .mul(bn.running_var.value().add_scalar(bn.epsilon).sqrt().recip());
    // An open gate keeps every channel: nothing to multiply.
    let (scale, beta) = match mask {
        Some(mask) => (scale.mul(mask.clone()), bn.beta.val().mul(mask)),
        None => (scale, bn.beta.val()),
    };
    // A convolution's own bias shifts what BatchNorm subtracts (the branch's have none).
    let centre = match &layer.conv.bias {
        Some(b) => bn.running_mean.value().sub(b.val()),
        None => bn.running_mean.value(),
    };
    let bias = beta.sub(centre.mul(scale.clone()));
    let [out_channels, _, _, _] = layer.weight_dims();
    let mut conv = layer.conv.clone();
    conv.weight = Param::from_tensor(
        conv.weight
            .val()
            .mul(scale.reshape([out_channels, 1, 1, 1])),
    );
    conv.bias = Some(Param::from_tensor(bias));
    conv
}

/// Features of `branches`, concatenated in order; `None` for no branch.
pub fn features(branches: &[FoldedBranch], x: Tensor<4>) -> Option<Tensor<2>> {
    let parts: Vec<Tensor<2>> = branches.iter().map(|b| b.forward(x.clone())).collect();
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(Tensor::cat(parts, 1)),
    }
}

/// Folds the frozen branches of a network (all but the newest) for a training step, on the
/// device without autodiff: they never change during the step.
pub fn fold_frozen(network: &DerNetwork) -> Vec<FoldedBranch> {
    let frozen = &network.branches[..network.branches.len() - 1];
    frozen
        .iter()
        .map(|b| FoldedBranch::fold(&b.valid()))
        .collect()
}

/// The frozen branches' features of a training batch `x` (on the autodiff device), computed
/// without autodiff and handed back as a constant on `x`'s device; `None` without frozen branches.
pub fn frozen_features(frozen: &[FoldedBranch], x: Tensor<4>) -> Option<Tensor<2>> {
    features(frozen, x.inner()).map(Tensor::autodiff)
}

/// A trained network as inference runs it: every branch folded, and the classifier. What
/// prediction, evaluation, herding and the classifier's re-learning read.
#[derive(Module, Debug)]
pub struct FoldedNetwork {
    branches: Vec<FoldedBranch>,
    classifier: Head,
}

impl FoldedNetwork {
    /// Folds `network` (on either device; the folded copy has no autodiff).
    pub fn fold(network: &DerNetwork) -> Self {
        let valid = network.valid();
        Self {
            branches: valid.branches.iter().map(FoldedBranch::fold).collect(),
            classifier: valid.classifier,
        }
    }

    /// The folded branches, one per step, in order.
    pub fn branches(&self) -> &[FoldedBranch] {
        &self.branches
    }

    /// The classifier H_t over u.
    pub fn classifier(&self) -> &Head {
        &self.classifier
    }

    /// The network as it was after step `steps` (1-based): its first `steps` branches, which
    /// never changed after their step (frozen, weights and BatchNorm statistics), with that
    /// step's classifier.
    pub fn rewound(&self, steps: usize, classifier: &Head) -> Self {
        Self {
            branches: self.branches[..steps].to_vec(),
            classifier: classifier.valid(),
        }
    }

    /// u = [F_1(x), …, F_t(x)], as [`DerNetwork::features`] with binary masks.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        features(&self.branches, x).expect("a network has a branch")
    }

    /// The same folded branches with another classifier (the re-learned one): the branches
    /// do not change after pruning, so a step folds them once.
    pub fn with_classifier(self, classifier: &Head) -> Self {
        Self {
            classifier: classifier.valid(),
            ..self
        }
    }

    /// The classifier's logits over every class learned.
    pub fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        self.classifier.forward(self.features(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::BackboneConfig;
    use crate::engine::seeding::seeded_module;
    use crate::engine::tensor_io::{floats, read_f32};
    use burn::module::RunningState;
    use burn::tensor::{Device, Distribution};

    /// A branch as it is after training: BatchNorm statistics and γ, β away from their initial
    /// values, and some channels of every gate off.
    fn trained_looking(config: &BackboneConfig, seed: u64, device: &Device) -> Branch {
        let mut branch = seeded_module(device, seed, || Branch::new(config, device));
        branch.for_each_conv_bn_mut(|layer| {
            let n = layer.weight_dims()[0];
            layer.bn.running_mean =
                RunningState::new(Tensor::random([n], Distribution::Normal(0.0, 0.5), device));
            layer.bn.running_var =
                RunningState::new(Tensor::random([n], Distribution::Uniform(0.5, 2.0), device));
            layer.bn.gamma =
                Param::from_tensor(Tensor::random([n], Distribution::Uniform(0.5, 1.5), device));
            layer.bn.beta =
                Param::from_tensor(Tensor::random([n], Distribution::Normal(0.0, 0.3), device));
        });
        let mut k = 0;
        branch.for_each_gate_mut(|gate| {
            let n = gate.channels();
            // Every third channel off, shifted per gate.
            let logits: Vec<f32> = (0..n)
                .map(|c| if (c + k) % 3 == 0 { -1.0 } else { 1.0 })
                .collect();
            *gate = ChannelGate::from_logits(floats(logits, [n], device));
            k += 1;
        });
        branch
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "folded features differ by {worst} (relative)");
    }

    #[test]
    fn a_folded_branch_gives_the_frozen_branchs_features() {
        let device = Device::flex();
        // Projection shortcuts only, and two blocks a stage (identity shortcuts too).
        for config in [
            BackboneConfig {
                input_size: 16,
                width: 4,
                stages: 3,
                blocks_per_stage: 1,
            },
            BackboneConfig {
                input_size: 16,
                width: 4,
                stages: 2,
                blocks_per_stage: 2,
            },
        ] {
            let branch = trained_looking(&config, 3, &device);
            let x = seeded_module(&device, 4, || {
                Tensor::<4>::random([5, 3, 16, 16], Distribution::Uniform(-1.0, 1.0), &device)
            });
            let expected =
                pollster::block_on(read_f32(branch.forward(x.clone(), GateMode::Binary))).unwrap();
            let folded =
                pollster::block_on(read_f32(FoldedBranch::fold(&branch).forward(x))).unwrap();
            assert_close(&folded, &expected);
            // The gates matter: an unfolded branch with every channel on gives other features.
            let mut all_on = branch.clone();
            all_on.for_each_gate_mut(|g| *g = ChannelGate::new(g.channels(), &device));
            let x = seeded_module(&device, 4, || {
                Tensor::<4>::random([5, 3, 16, 16], Distribution::Uniform(-1.0, 1.0), &device)
            });
            let ungated =
                pollster::block_on(read_f32(all_on.forward(x, GateMode::Binary))).unwrap();
            assert!(
                ungated
                    .iter()
                    .zip(&folded)
                    .any(|(a, b)| (a - b).abs() > 1e-2)
            );
        }
    }

    #[test]
    fn a_folded_network_predicts_what_the_network_predicts_and_its_frozen_part_matches() {
        let device = Device::flex();
        let train_device = device.clone().autodiff();
        let config = BackboneConfig {
            input_size: 16,
            width: 4,
            stages: 3,
            blocks_per_stage: 1,
        };
        // Frozen as a step leaves them: the first two in eval (BatchNorm's running statistics).
        let branches: Vec<Branch> = (0..3)
            .map(|i| {
                let b = trained_looking(&config, 10 + i, &train_device);
                if i < 2 { b.freeze() } else { b }
            })
            .collect();
        let dim = branches[0].feature_dim();
        let network = seeded_module(&train_device, 6, || DerNetwork {
            classifier: Head::new(dim * 3, 6, &train_device),
            aux: Some(Head::new(dim, 3, &train_device)),
            branches,
        });
        let inputs = || {
            seeded_module(&device, 7, || {
                Tensor::<4>::random([4, 3, 16, 16], Distribution::Uniform(-1.0, 1.0), &device)
            })
        };
        let expected = pollster::block_on(read_f32(
            network.valid().forward(inputs(), GateMode::Binary).logits,
        ))
        .unwrap();
        let folded =
            pollster::block_on(read_f32(FoldedNetwork::fold(&network).logits(inputs()))).unwrap();
        assert_close(&folded, &expected);
        // The frozen part, from a batch on the training device, as a constant there.
        let x = inputs().autodiff();
        // The frozen branches as they ran before folding: on the training device, in eval mode.
        let unfolded = Tensor::cat(
            network.branches[..2]
                .iter()
                .map(|b| b.forward(x.clone(), GateMode::Binary))
                .collect(),
            1,
        );
        let expected = pollster::block_on(read_f32(unfolded)).unwrap();
        let frozen = frozen_features(&fold_frozen(&network), x).unwrap();
        assert!(frozen.device().is_autodiff());
        assert_close(&pollster::block_on(read_f32(frozen)).unwrap(), &expected);
    }
}
