//! What the model can say about one of its answers, as plain data the page draws: which step's
//! branch the answer came from ([`Explanation`]) and where in the image it looked
//! ([`OcclusionMap`]). Computed by `learner::explain`; no Burn here, so the page reads it.

use serde::{Deserialize, Serialize};

/// The winning class's logit split by step. DER's classifier reads u = [F_1(x), …, F_t(x)],
/// one feature block per step's branch, so its logit is exactly a sum of one term per branch
/// (that block of u times the matching block of the classifier's weights) plus the bias.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The winning class's output index (in the model's class order).
    pub output: usize,
    /// Its logit, as the network computed it in one pass.
    pub logit: f32,
    /// The classifier's bias for that class.
    pub bias: f32,
    /// One term per branch, in step order: `Σ_{i in branch b} u_i · W[i, output]`.
    pub contributions: Vec<f32>,
}

impl Explanation {
    /// Each branch's share of what the branches contribute in all, by magnitude (sums to 1),
    /// for bars: a negative term (evidence against) still has a length.
    pub fn shares(&self) -> Vec<f32> {
        let total: f32 = self.contributions.iter().map(|c| c.abs()).sum();
        self.contributions
            .iter()
            .map(|c| if total > 0.0 { c.abs() / total } else { 0.0 })
            .collect()
    }

    /// The branch (0-based step) that contributed most to the answer.
    pub fn strongest(&self) -> Option<usize> {
        self.contributions
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
    }
}

/// How much the winning class's probability drops when a grey square hides each part of the
/// image: high where the model looked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OcclusionMap {
    /// The class explained (output index), the unoccluded image's winner.
    pub output: usize,
    /// Its probability with nothing hidden.
    pub probability: f32,
    /// Image side in pixels; `drop` is `size × size`, row by row.
    pub size: usize,
    /// Side of the grey square and the step it slides by, in pixels.
    pub patch: usize,
    pub stride: usize,
    /// Per pixel: the mean drop in probability over every square position that hid it
    /// (negative where hiding it made the class more likely).
    pub drop: Vec<f32>,
    /// Occluded images run through the network.
    pub images: usize,
    /// How long it took, start to the probabilities read back.
    pub millis: f64,
}

impl OcclusionMap {
    /// The largest drop (the heat map's full colour).
    pub fn peak(&self) -> f32 {
        self.drop.iter().copied().fold(0.0, f32::max)
    }
}

/// The square positions along one side: every `stride` pixels, and the last one flush with the
/// edge, so every pixel is hidden by at least one square.
pub fn occlusion_positions(size: usize, patch: usize, stride: usize) -> Vec<usize> {
    let last = size.saturating_sub(patch);
    let mut positions: Vec<usize> = (0..=last).step_by(stride.max(1)).collect();
    if positions.last() != Some(&last) {
        positions.push(last);
    }
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_positions_cover_every_pixel() {
        for (size, patch, stride) in [(32, 8, 4), (64, 16, 8), (30, 8, 4), (8, 8, 4)] {
            let positions = occlusion_positions(size, patch, stride);
            let covered: Vec<bool> = (0..size)
                .map(|p| positions.iter().any(|&s| (s..s + patch).contains(&p)))
                .collect();
            assert!(
                covered.iter().all(|&c| c),
                "{size} {patch} {stride}: {positions:?}"
            );
            assert!(positions.iter().all(|&s| s + patch <= size));
        }
        assert_eq!(occlusion_positions(32, 8, 4).len(), 7);
    }

    #[test]
    fn shares_are_by_magnitude_and_sum_to_one() {
        let e = Explanation {
            output: 0,
            logit: 2.0,
            bias: 0.5,
            contributions: vec![3.0, -1.0, 0.0],
        };
        let shares = e.shares();
        assert!((shares.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(shares[0], 0.75);
        assert_eq!(e.strongest(), Some(0));
    }
}
