//! Physical pruning: channels whose binary mask is 0 are removed from a [`Branch`] — smaller
//! convolutions, BatchNorms and next-layer kernels — so the pruned branch has fewer parameters
//! and computes exactly the features of the masked one.

use burn::module::{Param, RunningState};
use burn::nn::BatchNormConfig;
use burn::nn::conv::Conv2d;
use burn::tensor::Device;

use super::branch::{Block, Branch, ConvBn, Stage};
use super::gate::ChannelGate;
use super::tensor_io::{ReadError, indices, read_f32};

/// The channels kept at every gate of a branch (sorted indices).
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelSelection {
    pub stem: Vec<usize>,
    pub stages: Vec<StageSelection>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StageSelection {
    /// Kept channels of each block's inner gate.
    pub inner: Vec<Vec<usize>>,
    /// Kept channels of the stage's output gate.
    pub out: Vec<usize>,
}

impl ChannelSelection {
    /// Every channel kept: rebuilding with it makes an independent deep copy.
    pub fn all(branch: &Branch) -> Self {
        let range = |g: &ChannelGate| (0..g.channels()).collect::<Vec<_>>();
        Self {
            stem: range(&branch.stem_gate),
            stages: branch
                .stages
                .iter()
                .map(|s| StageSelection {
                    inner: s.blocks.iter().map(|b| range(&b.gate1)).collect(),
                    out: range(&s.gate),
                })
                .collect(),
        }
    }

    /// The channels whose binary mask is on (logit ≥ 0). A gate that switched every channel off
    /// keeps its strongest one, so the branch still has a shape (its contribution is then tiny).
    pub async fn from_masks(branch: &Branch) -> Result<Self, ReadError> {
        async fn kept(gate: &ChannelGate) -> Result<Vec<usize>, ReadError> {
            let Some(logits) = &gate.logits else {
                return Ok((0..gate.channels()).collect());
            };
            let logits = read_f32(logits.val()).await?;
            let mut on: Vec<usize> = (0..logits.len()).filter(|&i| logits[i] >= 0.0).collect();
            if on.is_empty() {
                let best = (0..logits.len())
                    .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                    .expect("gates have channels");
                on.push(best);
            }
            Ok(on)
        }
        let mut stages = Vec::with_capacity(branch.stages.len());
        for stage in &branch.stages {
            let mut inner = Vec::with_capacity(stage.blocks.len());
            for block in &stage.blocks {
                inner.push(kept(&block.gate1).await?);
            }
            stages.push(StageSelection {
                inner,
                out: kept(&stage.gate).await?,
            });
        }
        Ok(Self {
            stem: kept(&branch.stem_gate).await?,
            stages,
        })
    }

    /// Channels kept per gate, in [`Branch::gates`] order.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![self.stem.len()];
        for stage in &self.stages {
            counts.extend(stage.inner.iter().map(Vec::len));
            counts.push(stage.out.len());
        }
        counts
    }
}

/// Builds a new, independent branch containing only the selected channels.
pub fn rebuild(branch: &Branch, selection: &ChannelSelection, device: &Device) -> Branch {
    let all_inputs = [0usize, 1, 2];
    let stem = slice_conv_bn(&branch.stem, &selection.stem, &all_inputs, device);
    let stem_gate = slice_gate(&branch.stem_gate, &selection.stem, device);
    let mut input = selection.stem.clone();
    let stages = branch
        .stages
        .iter()
        .zip(&selection.stages)
        .map(|(stage, chosen)| {
            let blocks = stage
                .blocks
                .iter()
                .zip(&chosen.inner)
                .map(|(block, inner)| {
                    let block_in = input.clone();
                    input = chosen.out.clone();
                    Block {
                        conv1: slice_conv_bn(&block.conv1, inner, &block_in, device),
                        gate1: slice_gate(&block.gate1, inner, device),
                        conv2: slice_conv_bn(&block.conv2, &chosen.out, inner, device),
                        shortcut: block
                            .shortcut
                            .as_ref()
                            .map(|p| slice_conv_bn(p, &chosen.out, &block_in, device)),
                    }
                })
                .collect();
            Stage {
                blocks,
                gate: slice_gate(&stage.gate, &chosen.out, device),
            }
        })
        .collect();
    Branch {
        stem,
        stem_gate,
        stages,
    }
}

fn slice_gate(gate: &ChannelGate, kept: &[usize], device: &Device) -> ChannelGate {
    match &gate.logits {
        Some(logits) => {
            ChannelGate::from_logits(logits.val().select(0, indices(kept, device)).detach())
        }
        None => ChannelGate::open(kept.len()),
    }
}

fn slice_conv_bn(layer: &ConvBn, outputs: &[usize], inputs: &[usize], device: &Device) -> ConvBn {
    let out_index = indices(outputs, device);
    let in_index = indices(inputs, device);
    let old = &layer.conv;
    let weight = old
        .weight
        .val()
        .detach()
        .select(0, out_index.clone())
        .select(1, in_index)
        .detach();
    let conv = Conv2d {
        weight: Param::from_tensor(weight),
        bias: None,
        stride: old.stride,
        kernel_size: old.kernel_size,
        dilation: old.dilation,
        groups: old.groups,
        padding: old.padding.clone(),
    };
    let bn_old = &layer.bn;
    let mut bn = BatchNormConfig::new(outputs.len())
        .with_epsilon(bn_old.epsilon)
        .with_momentum(bn_old.momentum)
        .init(device);
    bn.gamma = Param::from_tensor(bn_old.gamma.val().select(0, out_index.clone()).detach());
    bn.beta = Param::from_tensor(bn_old.beta.val().select(0, out_index.clone()).detach());
    bn.running_mean = RunningState::new(
        bn_old
            .running_mean
            .value_sync()
            .select(0, out_index.clone())
            .detach(),
    );
    bn.running_var = RunningState::new(
        bn_old
            .running_var
            .value_sync()
            .select(0, out_index)
            .detach(),
    );
    ConvBn { conv, bn }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::BackboneConfig;
    use crate::engine::gate::GateMode;
    use crate::engine::seeding::{seeded, seeded_module};
    use crate::engine::tensor_io::floats;
    use burn::module::Module;
    use burn::tensor::{Distribution, Tensor};

    /// Gives every gate a pattern of on and off channels and random BatchNorm statistics, so the
    /// test exercises every slicing path (including identity shortcuts with two blocks).
    fn masked_branch(device: &Device) -> Branch {
        let config = BackboneConfig {
            input_size: 12,
            width: 6,
            stages: 3,
            blocks_per_stage: 2,
        };
        let mut branch = Branch::new(&config, device);
        let mut counter = 0usize;
        let mut pattern = |gate: &mut ChannelGate| {
            let n = gate.channels();
            let values: Vec<f32> = (0..n)
                .map(|i| {
                    counter += 1;
                    if (i + counter).is_multiple_of(3) {
                        -0.7
                    } else {
                        0.4 + 0.1 * i as f32
                    }
                })
                .collect();
            *gate = ChannelGate::from_logits(floats(values, [n], device));
        };
        branch.for_each_gate_mut(&mut pattern);
        let randomize = |layer: &mut ConvBn| {
            let n = layer.bn.gamma.shape().dims::<1>()[0];
            layer.bn.running_mean =
                RunningState::new(Tensor::random([n], Distribution::Normal(0.0, 0.5), device));
            layer.bn.running_var =
                RunningState::new(Tensor::random([n], Distribution::Uniform(0.5, 2.0), device));
            layer.bn.beta =
                Param::from_tensor(Tensor::random([n], Distribution::Normal(0.0, 0.5), device));
        };
        branch.for_each_conv_bn_mut(randomize);
        branch
    }

    #[test]
    fn pruned_branch_computes_the_masked_features_with_fewer_parameters() {
        let device = Device::flex();
        let branch = seeded_module(&device, 3, || masked_branch(&device)).valid();
        let selection = pollster::block_on(ChannelSelection::from_masks(&branch)).unwrap();
        let pruned = rebuild(&branch, &selection, &device).valid();

        let x = seeded(&device, 4, || {
            Tensor::<4>::random([5, 3, 12, 12], Distribution::Normal(0.0, 1.0), &device)
        });
        let masked =
            pollster::block_on(read_f32(branch.forward(x.clone(), GateMode::Binary))).unwrap();
        let kept = pollster::block_on(read_f32(pruned.forward(x, GateMode::Binary))).unwrap();

        let full_dim = branch.feature_dim();
        let out = &selection.stages.last().unwrap().out;
        assert_eq!(pruned.feature_dim(), out.len());
        assert!(out.len() < full_dim);
        for row in 0..5 {
            for (j, &c) in out.iter().enumerate() {
                let a = masked[row * full_dim + c];
                let b = kept[row * out.len() + j];
                assert!(
                    (a - b).abs() < 1e-4,
                    "row {row} channel {c}: masked {a} vs pruned {b}"
                );
            }
            // Channels switched off are exactly zero in the masked branch.
            for c in (0..full_dim).filter(|c| !out.contains(c)) {
                assert_eq!(masked[row * full_dim + c], 0.0);
            }
        }
        assert!(
            pruned.param_count() < branch.param_count() * 3 / 4,
            "{} vs {}",
            pruned.param_count(),
            branch.param_count()
        );
        assert!(pruned.macs(12) < branch.macs(12));
    }

    #[test]
    fn rebuilding_with_every_channel_is_an_independent_copy() {
        let device = Device::flex();
        let branch = seeded_module(&device, 5, || masked_branch(&device));
        let copy = rebuild(&branch, &ChannelSelection::all(&branch), &device);
        assert_eq!(copy.param_count(), branch.param_count());
        // A running-statistics update on the copy must not reach the original.
        copy.stem.bn.running_mean.update(Tensor::ones([6], &device));
        let original = pollster::block_on(read_f32(branch.stem.bn.running_mean.value())).unwrap();
        assert!(original.iter().any(|&v| v != 1.0));
    }
}
