//! One feature extractor F_t: a small ResNet whose every convolution output passes a
//! [`ChannelGate`].
//!
//! Layout (why it prunes exactly): stem conv → stages of residual blocks. Inside a block,
//! `conv1`'s channels have their own gate; the block output has one gate per *stage*, shared by
//! all blocks of the stage, and the first block of every stage has a 1×1 projection shortcut.
//! Identity shortcuts therefore only ever add tensors whose pruned channels are the same zeros,
//! so removing those channels changes no kept value.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::config::BackboneConfig;
use super::gate::{ChannelGate, GateMode};

/// A convolution without bias followed by batch normalisation.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

impl ConvBn {
    pub fn new(c_in: usize, c_out: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        let conv = Conv2dConfig::new([c_in, c_out], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(
                kernel / 2,
                kernel / 2,
                kernel / 2,
                kernel / 2,
            ))
            .with_bias(false)
            .init(device);
        Self {
            conv,
            bn: BatchNormConfig::new(c_out).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(self.conv.forward(x))
    }

    /// `[c_out, c_in, k, k]`.
    pub fn weight_dims(&self) -> [usize; 4] {
        self.conv.weight.shape().dims::<4>()
    }

    /// Weights that define the layer's output: conv kernel plus BatchNorm's γ and β.
    pub fn param_count(&self) -> usize {
        let [o, i, kh, kw] = self.weight_dims();
        o * i * kh * kw + 2 * o
    }

    /// Multiply-accumulates for one image whose input side is `side`; returns (macs, output side).
    pub fn macs(&self, side: usize) -> (usize, usize) {
        let [o, i, kh, kw] = self.weight_dims();
        let out_side = side.div_ceil(self.conv.stride[0]);
        (o * i * kh * kw * out_side * out_side, out_side)
    }
}

#[derive(Module, Debug)]
pub struct Block {
    pub conv1: ConvBn,
    pub gate1: ChannelGate,
    pub conv2: ConvBn,
    /// 1×1 projection, present on the first block of every stage.
    pub shortcut: Option<ConvBn>,
}

#[derive(Module, Debug)]
pub struct Stage {
    pub blocks: Vec<Block>,
    /// Gate on the output of every block of this stage.
    pub gate: ChannelGate,
}

#[derive(Module, Debug)]
pub struct Branch {
    pub stem: ConvBn,
    pub stem_gate: ChannelGate,
    pub stages: Vec<Stage>,
}

/// One convolution as the sparsity loss sees it: kernel area, and the gates on its input and
/// output channels (`None` input gate: the image's three channels).
pub struct GatedConv<'a> {
    pub kernel_area: usize,
    pub input_gate: Option<&'a ChannelGate>,
    pub input_channels: usize,
    pub output_gate: &'a ChannelGate,
}

impl Branch {
    pub fn new(config: &BackboneConfig, device: &Device) -> Self {
        let stem = ConvBn::new(3, config.width, 3, 1, device);
        let stem_gate = ChannelGate::new(config.width, device);
        let mut c_in = config.width;
        let mut stages = Vec::with_capacity(config.stages);
        for stage_index in 0..config.stages {
            let c = config.width << stage_index;
            let stride = if stage_index == 0 { 1 } else { 2 };
            let blocks = (0..config.blocks_per_stage.max(1))
                .map(|block_index| {
                    let first = block_index == 0;
                    let block_in = if first { c_in } else { c };
                    Block {
                        conv1: ConvBn::new(block_in, c, 3, if first { stride } else { 1 }, device),
                        gate1: ChannelGate::new(c, device),
                        conv2: ConvBn::new(c, c, 3, 1, device),
                        shortcut: first.then(|| ConvBn::new(block_in, c, 1, stride, device)),
                    }
                })
                .collect();
            stages.push(Stage {
                blocks,
                gate: ChannelGate::new(c, device),
            });
            c_in = c;
        }
        Self {
            stem,
            stem_gate,
            stages,
        }
    }

    /// The same branch as an ordinary network: every gate open (no mask parameter), for the
    /// fine-tuning and replay baselines. The convolutions are drawn exactly as [`Branch::new`]'s.
    pub fn plain(config: &BackboneConfig, device: &Device) -> Self {
        let mut branch = Self::new(config, device);
        branch.for_each_gate_mut(|gate| *gate = ChannelGate::open(gate.channels()));
        branch
    }

    /// Whether the branch has learnable channel masks (DER) or is an ordinary network.
    pub fn is_gated(&self) -> bool {
        self.stem_gate.is_learned()
    }

    /// Features `[batch, feature_dim]` (global average of the last stage).
    pub fn forward(&self, x: Tensor<4>, mode: GateMode) -> Tensor<2> {
        let x = relu(self.stem_gate.apply(self.stem.forward(x), mode));
        let x = self.stages.iter().fold(x, |x, stage| {
            stage.blocks.iter().fold(x, |x, block| {
                let h = relu(block.gate1.apply(block.conv1.forward(x.clone()), mode));
                let shortcut = match &block.shortcut {
                    Some(projection) => projection.forward(x),
                    None => x,
                };
                let y = relu(block.conv2.forward(h).add(shortcut));
                stage.gate.apply(y, mode)
            })
        });
        let [batch, channels, _, _] = x.dims();
        x.mean_dim(3).mean_dim(2).reshape([batch, channels])
    }

    pub fn feature_dim(&self) -> usize {
        self.stages
            .last()
            .map(|s| s.gate.channels())
            .unwrap_or(self.stem_gate.channels())
    }

    /// Every gate in forward order, with a name for display.
    pub fn gates(&self) -> Vec<(String, &ChannelGate)> {
        let mut gates = vec![("stem".to_string(), &self.stem_gate)];
        for (s, stage) in self.stages.iter().enumerate() {
            for (b, block) in stage.blocks.iter().enumerate() {
                gates.push((
                    format!("stage {} block {} inner", s + 1, b + 1),
                    &block.gate1,
                ));
            }
            gates.push((format!("stage {} out", s + 1), &stage.gate));
        }
        gates
    }

    /// Every convolution with the gates around it, for the sparsity loss.
    pub fn gated_convs(&self) -> Vec<GatedConv<'_>> {
        let mut convs = vec![GatedConv {
            kernel_area: 9,
            input_gate: None,
            input_channels: 3,
            output_gate: &self.stem_gate,
        }];
        let mut input_gate = &self.stem_gate;
        for stage in &self.stages {
            for block in &stage.blocks {
                let area = |c: &ConvBn| c.conv.kernel_size[0] * c.conv.kernel_size[1];
                convs.push(GatedConv {
                    kernel_area: area(&block.conv1),
                    input_gate: Some(input_gate),
                    input_channels: input_gate.channels(),
                    output_gate: &block.gate1,
                });
                convs.push(GatedConv {
                    kernel_area: area(&block.conv2),
                    input_gate: Some(&block.gate1),
                    input_channels: block.gate1.channels(),
                    output_gate: &stage.gate,
                });
                if let Some(projection) = &block.shortcut {
                    convs.push(GatedConv {
                        kernel_area: area(projection),
                        input_gate: Some(input_gate),
                        input_channels: input_gate.channels(),
                        output_gate: &stage.gate,
                    });
                }
                input_gate = &stage.gate;
            }
        }
        convs
    }

    /// L_S = Σ_l K_l‖m_{l-1}‖₁‖m_l‖₁ / Σ_l K_l c_{l-1} c_l, a scalar tensor `[1]`; 0 for an
    /// ordinary network, which has no mask to push off.
    pub fn sparsity_loss(&self, mode: GateMode) -> Tensor<1> {
        if !self.is_gated() {
            return Tensor::zeros([1], &self.stem.conv.weight.device());
        }
        let convs = self.gated_convs();
        let total: usize = convs
            .iter()
            .map(|c| c.kernel_area * c.input_channels * c.output_gate.channels())
            .sum();
        let mut sum: Option<Tensor<1>> = None;
        // A gated branch's gates all have an embedding (`Branch::new`, pruning keeps them).
        let on = |gate: &ChannelGate| gate.mask(mode).expect("a gated branch's gate").sum();
        for conv in &convs {
            let out = on(conv.output_gate);
            let term = match conv.input_gate {
                Some(gate) => on(gate).mul(out),
                None => out.mul_scalar(conv.input_channels as f32),
            }
            .mul_scalar(conv.kernel_area as f32);
            sum = Some(match sum {
                Some(s) => s.add(term),
                None => term,
            });
        }
        sum.expect("a branch has at least its stem")
            .div_scalar(total as f32)
    }

    /// Every ConvBn in the branch.
    pub fn conv_layers(&self) -> Vec<&ConvBn> {
        let mut layers = vec![&self.stem];
        for stage in &self.stages {
            for block in &stage.blocks {
                layers.push(&block.conv1);
                layers.push(&block.conv2);
                if let Some(p) = &block.shortcut {
                    layers.push(p);
                }
            }
        }
        layers
    }

    pub fn param_count(&self) -> usize {
        self.conv_layers().iter().map(|l| l.param_count()).sum()
    }

    /// Multiply-accumulates for one image of side `input_size`.
    pub fn macs(&self, input_size: usize) -> usize {
        let (mut total, side) = self.stem.macs(input_size);
        let mut side = side;
        for stage in &self.stages {
            for block in &stage.blocks {
                let (m1, out) = block.conv1.macs(side);
                let (m2, _) = block.conv2.macs(out);
                let m3 = block.shortcut.as_ref().map(|p| p.macs(side).0).unwrap_or(0);
                total += m1 + m2 + m3;
                side = out;
            }
        }
        total
    }
}

impl Branch {
    /// Visits every convolution + BatchNorm mutably.
    pub fn for_each_conv_bn_mut(&mut self, mut f: impl FnMut(&mut ConvBn)) {
        f(&mut self.stem);
        for stage in &mut self.stages {
            for block in &mut stage.blocks {
                f(&mut block.conv1);
                f(&mut block.conv2);
                if let Some(p) = &mut block.shortcut {
                    f(p);
                }
            }
        }
    }

    /// Visits every gate mutably, in [`Branch::gates`] order.
    pub fn for_each_gate_mut(&mut self, mut f: impl FnMut(&mut ChannelGate)) {
        f(&mut self.stem_gate);
        for stage in &mut self.stages {
            for block in &mut stage.blocks {
                f(&mut block.gate1);
            }
            f(&mut stage.gate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::seeding::seeded_module;
    use crate::engine::tensor_io::{floats, read_f32};

    fn tiny() -> BackboneConfig {
        BackboneConfig {
            input_size: 8,
            width: 2,
            stages: 2,
            blocks_per_stage: 1,
        }
    }

    #[test]
    fn the_configs_gate_list_is_the_branchs() {
        let device = Device::flex();
        for config in [
            tiny(),
            BackboneConfig::default(),
            BackboneConfig {
                input_size: 16,
                width: 4,
                stages: 3,
                blocks_per_stage: 2,
            },
        ] {
            let branch = Branch::new(&config, &device);
            let built: Vec<(String, usize)> = branch
                .gates()
                .into_iter()
                .map(|(name, g)| (name, g.channels()))
                .collect();
            assert_eq!(config.gate_channels(), built);
        }
    }

    #[test]
    fn sparsity_loss_equals_hand_computed_value() {
        let device = Device::flex();
        let mut branch = seeded_module(&device, 1, || Branch::new(&tiny(), &device));
        // Binary masks chosen by hand: stem 2 ch [on, off]; stage 1 inner 2 ch [on, on];
        // stage 1 out 2 ch [off, off]... use values that give distinct norms.
        let set = |gate: &mut ChannelGate, values: Vec<f32>| {
            let n = values.len();
            *gate = ChannelGate::from_logits(floats(values, [n], &device));
        };
        set(&mut branch.stem_gate, vec![1.0, -1.0]); // ‖m‖ = 1
        set(&mut branch.stages[0].blocks[0].gate1, vec![1.0, 1.0]); // 2
        set(&mut branch.stages[0].gate, vec![1.0, -1.0]); // 1
        set(
            &mut branch.stages[1].blocks[0].gate1,
            vec![1.0, -1.0, -1.0, 1.0],
        ); // 2
        set(&mut branch.stages[1].gate, vec![1.0, 1.0, 1.0, -1.0]); // 3
        // Convs (K, ‖m_in‖, ‖m_out‖, c_in, c_out):
        // stem (9, 3, 1, 3, 2); s1.conv1 (9, 1, 2, 2, 2); s1.conv2 (9, 2, 1, 2, 2);
        // s1.short (1, 1, 1, 2, 2); s2.conv1 (9, 1, 2, 2, 4); s2.conv2 (9, 2, 3, 4, 4);
        // s2.short (1, 1, 3, 2, 4).
        let numerator = 9.0 * 3.0 * 1.0
            + 9.0 * 1.0 * 2.0
            + 9.0 * 2.0 * 1.0
            + 1.0 * 1.0 * 1.0
            + 9.0 * 1.0 * 2.0
            + 9.0 * 2.0 * 3.0
            + 1.0 * 1.0 * 3.0;
        let denominator = 9.0 * 3.0 * 2.0
            + 9.0 * 2.0 * 2.0
            + 9.0 * 2.0 * 2.0
            + 1.0 * 2.0 * 2.0
            + 9.0 * 2.0 * 4.0
            + 9.0 * 4.0 * 4.0
            + 1.0 * 2.0 * 4.0;
        let loss = pollster::block_on(read_f32(branch.sparsity_loss(GateMode::Binary))).unwrap();
        assert!(
            (loss[0] - numerator / denominator).abs() < 1e-6,
            "{} vs {}",
            loss[0],
            numerator / denominator
        );
    }

    #[test]
    fn forward_gives_one_feature_row_per_image() {
        let device = Device::flex();
        let branch = seeded_module(&device, 2, || Branch::new(&tiny(), &device));
        let x = Tensor::<4>::zeros([3, 3, 8, 8], &device);
        assert_eq!(branch.forward(x, GateMode::Binary).dims(), [3, 4]);
        assert_eq!(branch.feature_dim(), 4);
    }
}
