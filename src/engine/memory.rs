//! The exemplar memory: a few samples per old class, chosen by herding (iCaRL, Rebuffi et al.
//! 2017) and replayed in later steps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::data::Sample;

/// Herding: greedily picks samples whose running mean of (L2-normalised) features stays closest
/// to the class mean. Returns indices into `features`, in priority order (best first), so the
/// memory shrinks by truncation.
pub fn herding(features: &[Vec<f32>], count: usize) -> Vec<usize> {
    let n = features.len();
    if n == 0 || count == 0 {
        return Vec::new();
    }
    let dim = features[0].len();
    let normalised: Vec<Vec<f32>> = features.iter().map(|f| l2_normalise(f)).collect();
    let mut mean = vec![0f32; dim];
    for f in &normalised {
        for (m, v) in mean.iter_mut().zip(f) {
            *m += v / n as f32;
        }
    }
    let mut chosen = Vec::with_capacity(count.min(n));
    let mut taken = vec![false; n];
    let mut sum = vec![0f32; dim];
    for k in 1..=count.min(n) {
        let mut best = None;
        let mut best_distance = f32::INFINITY;
        for i in (0..n).filter(|&i| !taken[i]) {
            let distance: f32 = (0..dim)
                .map(|d| {
                    let candidate = (sum[d] + normalised[i][d]) / k as f32;
                    (mean[d] - candidate).powi(2)
                })
                .sum();
            if distance < best_distance {
                best_distance = distance;
                best = Some(i);
            }
        }
        let i = best.expect("a sample is left");
        taken[i] = true;
        for (s, v) in sum.iter_mut().zip(&normalised[i]) {
            *s += v;
        }
        chosen.push(i);
    }
    chosen
}

fn l2_normalise(f: &[f32]) -> Vec<f32> {
    let norm = f.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    f.iter().map(|v| v / norm).collect()
}

/// Exemplars per class, best first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub by_class: BTreeMap<usize, Vec<Sample>>,
}

impl Memory {
    pub fn len(&self) -> usize {
        self.by_class.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the first `per_class` exemplars of every class.
    pub fn shrink_to(&mut self, per_class: usize) {
        for samples in self.by_class.values_mut() {
            samples.truncate(per_class);
        }
    }

    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.by_class.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn herding_first_picks_the_sample_nearest_the_class_mean() {
        // Normalised features on the unit circle; the mean direction is about 45°.
        let angles = [0.0f32, 10.0, 80.0, 90.0, 44.0, 60.0];
        let features: Vec<Vec<f32>> = angles
            .iter()
            .map(|a| {
                let r = a.to_radians();
                vec![3.0 * r.cos(), 3.0 * r.sin()]
            })
            .collect();
        let order = herding(&features, 3);
        assert_eq!(order[0], 4, "44° is nearest the mean");
        assert_eq!(order.len(), 3);
        // The second pick balances the first: it pulls the running mean back toward the mean.
        let mut unique = order.clone();
        unique.dedup();
        assert_eq!(unique.len(), 3);
    }

    #[test]
    fn herding_never_returns_more_than_it_has() {
        assert_eq!(herding(&[vec![1.0], vec![2.0]], 5).len(), 2);
        assert!(herding(&[], 5).is_empty());
    }
}
