//! Channel masks m_l = σ(s·e_l) (HAT, Serra et al. 2018, as used by DER).
//!
//! During training the scale s is annealed within each epoch (see [`mask_scale`]); the gradient
//! of e is compensated so that masks keep learning when s is large (see [`compensate_gradient`]).
//! At inference a mask is binary: m = 1 exactly when σ(s_max·e) ≥ 0.5, i.e. when e ≥ 0.

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
    /// The learnable embedding e_l, one value per output channel.
    pub logits: Param<Tensor<1>>,
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
        Self {
            logits: Param::from_tensor(logits),
        }
    }

    pub fn channels(&self) -> usize {
        self.logits.shape().dims::<1>()[0]
    }

    /// The mask, shape `[channels]`.
    pub fn mask(&self, mode: GateMode) -> Tensor<1> {
        match mode {
            GateMode::Soft { scale } => sigmoid(self.logits.val().mul_scalar(scale)),
            GateMode::Binary => self.logits.val().greater_equal_elem(0.0).float(),
        }
    }

    /// Multiplies each channel of `x: [batch, channels, h, w]` by its mask.
    pub fn apply(&self, x: Tensor<4>, mode: GateMode) -> Tensor<4> {
        let channels = self.channels();
        let mask = self.mask(mode).reshape([1, channels, 1, 1]);
        x.mul(mask)
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
        let mask = pollster::block_on(read_f32(gate.mask(GateMode::Binary))).unwrap();
        assert_eq!(mask, vec![0.0, 1.0, 1.0, 0.0]);
        let soft =
            pollster::block_on(read_f32(gate.mask(GateMode::Soft { scale: 400.0 }))).unwrap();
        assert!(soft[0] < 1e-6 && soft[2] > 1.0 - 1e-6 && (soft[1] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn compensation_matches_hat_formula() {
        let device = Device::flex();
        let logits = vec![0.3f32, -1.2, 2.0];
        let grad = vec![1.0f32, -0.5, 0.25];
        let (s, s_max) = (7.5f32, 400.0f32);
        let out = compensate_gradient(
            floats(grad.clone(), [3], &device),
            floats(logits.clone(), [3], &device),
            s,
            s_max,
        );
        let out = pollster::block_on(read_f32(out)).unwrap();
        for i in 0..3 {
            let e = logits[i];
            let expected = grad[i] * s_max / s * (((s * e).clamp(-50.0, 50.0)).cosh() + 1.0)
                / (e.cosh() + 1.0);
            assert!(
                (out[i] - expected).abs() <= 1e-3 * expected.abs().max(1.0),
                "{i}: {} vs {expected}",
                out[i]
            );
        }
    }
}
