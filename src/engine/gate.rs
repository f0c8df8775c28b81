//! Channel masks m_l = σ(s·e_l) (HAT, Serra et al. 2018, as used by DER).
//!
//! During training the scale s is annealed within each epoch (see [`mask_scale`]); the gradient
//! of e is compensated so that masks keep learning when s is large (see [`compensate_gradient`]).
//! At inference a mask is binary: m = 1 exactly when σ(s_max·e) ≥ 0.5, i.e. when e ≥ 0.
//!
//! An ordinary network (the fine-tuning and replay baselines) has *open* gates: no embedding,
//! no parameter, every channel always on, so it trains as a plain ResNet.

use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::tensor_io::floats;

/// HAT keeps the mask embeddings in [-6, 6] so σ(s·e) never saturates beyond recovery.
pub const LOGIT_CLAMP: f32 = 6.0;
/// HAT's bound on s·e inside cosh, to keep the compensation finite.
const COSH_CLAMP: f32 = 50.0;
/// Initial embedding: every channel starts on (σ(s_max·1) ≈ 1).
pub const LOGIT_INIT: f32 = 1.0;

#[derive(Module, Debug)]
pub struct ChannelGate {
    /// The learnable embedding e_l, one value per output channel; `None` for an open gate.
    pub logits: Option<Param<Tensor<1>>>,
    channels: usize,
}

/// How a gate turns its embedding into a mask.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GateMode {
    /// σ(s·e): used while training the newest branch.
    Soft { scale: f32 },
    /// 1 where e ≥ 0, else 0: inference, frozen branches and pruning.
    Binary,
}

impl ChannelGate {
    pub fn new(channels: usize, device: &Device) -> Self {
        Self::from_logits(floats(vec![LOGIT_INIT; channels], [channels], device))
    }

    pub fn from_logits(logits: Tensor<1>) -> Self {
        let channels = logits.shape().dims::<1>()[0];
        Self {
            logits: Some(Param::from_tensor(logits)),
            channels,
        }
    }

    /// A gate without an embedding that keeps all `channels` on: an ordinary network's layer.
    pub fn open(channels: usize) -> Self {
        Self {
            logits: None,
            channels,
        }
    }

    /// Whether the gate has a learnable embedding (DER's branches) or is open.
    pub fn is_learned(&self) -> bool {
        self.logits.is_some()
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The mask, shape `[channels]`; `None` for an open gate (every channel on).
    pub fn mask(&self, mode: GateMode) -> Option<Tensor<1>> {
        let logits = self.logits.as_ref()?.val();
        Some(match mode {
            GateMode::Soft { scale } => sigmoid(logits.mul_scalar(scale)),
            GateMode::Binary => logits.greater_equal_elem(0.0).float(),
        })
    }

    /// Multiplies each channel of `x: [batch, channels, h, w]` by its mask; an open gate
    /// passes `x` on untouched.
    pub fn apply(&self, x: Tensor<4>, mode: GateMode) -> Tensor<4> {
        match self.mask(mode) {
            Some(mask) => x.mul(mask.reshape([1, self.channels, 1, 1])),
            None => x,
        }
    }
}

/// The mask scale for batch `batch` of `batches` in an epoch: linear from 1/s_max to s_max.
pub fn mask_scale(batch: usize, batches: usize, s_max: f32) -> f32 {
    let start = 1.0 / s_max;
    if batches <= 1 {
        return s_max;
    }
    start + (s_max - start) * batch as f32 / (batches - 1) as f32
}

/// HAT's gradient compensation: g ← g · s_max/s · (cosh(clamp(s·e)) + 1) / (cosh(e) + 1).
///
/// Without it, the sigmoid's slope at large s shrinks the gradient of e to nothing late in
/// every epoch and the masks stop learning.
pub fn compensate_gradient(
    grad: Tensor<1>,
    logits: Tensor<1>,
    scale: f32,
    s_max: f32,
) -> Tensor<1> {
    let numerator = logits
        .clone()
        .mul_scalar(scale)
        .clamp(-COSH_CLAMP, COSH_CLAMP)
        .cosh()
        .add_scalar(1.0);
    let denominator = logits.cosh().add_scalar(1.0);
    grad.mul(numerator)
        .div(denominator)
        .mul_scalar(s_max / scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tensor_io::read_f32;

    #[test]
    fn scale_rises_linearly_from_inverse_smax_to_smax_within_an_epoch() {
        let s_max = 400.0;
        assert!((mask_scale(0, 11, s_max) - 1.0 / 400.0).abs() < 1e-6);
        assert!((mask_scale(10, 11, s_max) - 400.0).abs() < 1e-3);
        let mid = mask_scale(5, 11, s_max);
        assert!((mid - (1.0 / 400.0 + (400.0 - 1.0 / 400.0) * 0.5)).abs() < 1e-3);
        let steps: Vec<f32> = (0..11).map(|b| mask_scale(b, 11, s_max)).collect();
        let diffs: Vec<f32> = steps.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            diffs.iter().all(|d| (d - diffs[0]).abs() < 1e-3),
            "not linear: {diffs:?}"
        );
    }

    #[test]
    fn binary_mask_is_on_exactly_where_the_logit_is_non_negative() {
        let device = Device::flex();
        let gate = ChannelGate::from_logits(floats(vec![-2.0, 0.0, 0.5, -0.01], [4], &device));
        let mask = pollster::block_on(read_f32(gate.mask(GateMode::Binary).unwrap())).unwrap();
        assert_eq!(mask, vec![0.0, 1.0, 1.0, 0.0]);
        let soft = pollster::block_on(read_f32(
            gate.mask(GateMode::Soft { scale: 400.0 }).unwrap(),
        ))
        .unwrap();
        assert!(soft[0] < 1e-6 && soft[2] > 1.0 - 1e-6 && (soft[1] - 0.5).abs() < 1e-6);
    }

    /// HAT's compensation makes the gradient through σ(s·e) equal s_max times the gradient
    /// through σ(e) (since dσ(x)/dx = 1 / (2 (cosh x + 1))): the embedding learns at a pace
    /// that does not depend on where s is in its schedule. Both gradients come from Burn's
    /// autodiff, through a loss whose slope in each mask value differs. Up to |s·e| = 8: beyond
    /// about 10, f32 rounds σ(s·e)(1 − σ(s·e)) itself by tens of percent (1 − σ is then a few
    /// ulps), so the raw gradient autodiff gives is no reference there.
    #[test]
    fn compensation_gives_smax_times_the_autodiff_gradient_at_scale_one() {
        let device = Device::flex().autodiff();
        let logits = vec![0.3f32, -1.2, 2.0, 0.05, -0.4];
        let weights = floats(vec![1.0f32, -0.5, 0.25, 2.0, -1.5], [5], &device);
        let gradient_at = |scale: f32| {
            let e = floats(logits.clone(), [5], &device).require_grad();
            let gate = ChannelGate::from_logits(e.clone());
            let mask = gate.mask(GateMode::Soft { scale }).unwrap();
            let loss = mask.mul(weights.clone()).sum();
            let grads = loss.backward();
            gate.logits
                .as_ref()
                .unwrap()
                .val()
                .grad(&grads)
                .expect("the embedding has a gradient")
        };
        let s_max = 400.0f32;
        let at_one = pollster::block_on(read_f32(gradient_at(1.0))).unwrap();
        for s in [0.0025f32, 0.7, 2.5, 4.0] {
            let raw = gradient_at(s);
            let e = floats(logits.clone(), [5], &Device::flex());
            let compensated =
                pollster::block_on(read_f32(compensate_gradient(raw, e, s, s_max))).unwrap();
            for i in 0..5 {
                let expected = s_max * at_one[i];
                assert!(
                    (compensated[i] - expected).abs() <= 2e-3 * expected.abs().max(1e-3),
                    "s = {s}, channel {i}: {} against {expected}",
                    compensated[i]
                );
            }
        }
    }

    /// Where autodiff's raw gradient rounds (large s), the formula itself: HAT's, with the
    /// cosh bounded at |s·e| = 50 so that s_max = 400 stays finite.
    #[test]
    fn compensation_follows_hats_formula_at_large_scales_and_stays_finite() {
        let device = Device::flex();
        let logits = vec![0.3f32, -1.2, 2.0, 6.0];
        let grad = vec![1.0f32, -0.5, 0.25, 1e-30];
        for (s, s_max) in [(7.5f32, 400.0f32), (100.0, 100.0), (400.0, 400.0)] {
            let out = compensate_gradient(
                floats(grad.clone(), [4], &device),
                floats(logits.clone(), [4], &device),
                s,
                s_max,
            );
            let out = pollster::block_on(read_f32(out)).unwrap();
            for i in 0..4 {
                let e = logits[i] as f64;
                let cosh = ((s as f64 * e).clamp(-50.0, 50.0)).cosh();
                let expected =
                    grad[i] as f64 * s_max as f64 / s as f64 * (cosh + 1.0) / (e.cosh() + 1.0);
                assert!(out[i].is_finite(), "s = {s}, channel {i}: {}", out[i]);
                assert!(
                    (out[i] as f64 - expected).abs() <= 1e-3 * expected.abs().max(1e-30),
                    "s = {s}, channel {i}: {} vs {expected}",
                    out[i]
                );
            }
        }
    }

    #[test]
    fn an_open_gate_has_no_parameter_and_passes_every_channel() {
        let device = Device::flex();
        let gate = ChannelGate::open(3);
        assert_eq!(gate.num_params(), 0);
        assert!(!gate.is_learned() && gate.mask(GateMode::Binary).is_none());
        let x = floats(
            (0..12).map(|v| v as f32 - 5.0).collect(),
            [1, 3, 2, 2],
            &device,
        );
        let out = gate.apply(x.clone(), GateMode::Soft { scale: 0.01 });
        assert_eq!(
            pollster::block_on(read_f32(out)).unwrap(),
            pollster::block_on(read_f32(x)).unwrap()
        );
    }
}
