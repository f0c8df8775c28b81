//! The step's training images as both the new branch and the frozen branches see them: `K`
//! augmented views of every image, drawn once when the step starts, and the frozen branches'
//! features of every view, computed once (in batches, folded, without autodiff). A batch then
//! takes one view of each of its images: the view's pixels for the new branch and the view's
//! row of the bank for the frozen branches, so both still see the same augmented pixels.
//!
//! Why: with augmentation every batch is new pixels, so without the bank each of a step's
//! hundreds of updates ran every frozen branch on its batch: at step 5, four frozen branches
//! 500 times over images they had already seen. With the bank they run `K` times per image.
//! Without augmentation there is one view, the image itself (the features cache as before).

use burn::tensor::{Device, Tensor};

use super::inference::frozen_features;
use crate::engine::augment::{Augment, augment};
use crate::engine::data::Sample;
use crate::engine::folded::FoldedBranch;
use crate::engine::rng::SplitMix64;
use crate::engine::tensor_io::indices;

/// Augmented views per training image when a step has frozen branches: enough variety for a
/// step's hundreds of updates (chosen on Split-MNIST's validation split, BENCHMARKS.md
/// "A classroom step in seconds"), few enough that the frozen branches' pass over the bank
/// costs a fraction of the updates it replaces.
pub const VIEWS_PER_IMAGE: usize = 16;

pub(super) struct ViewBank {
    /// `views[v * images + i]`: view `v` of training image `i`.
    views: Vec<Sample>,
    images: usize,
    per_image: usize,
    /// `[views, frozen_dim]`: the frozen branches' features of every view, a constant on the
    /// training device; `None` without frozen branches.
    frozen: Option<Tensor<2>>,
}

impl ViewBank {
    /// Draws the views of `training` and runs the frozen branches over them once.
    pub(super) fn build(
        training: &[&Sample],
        kind: Augment,
        per_image: usize,
        size: usize,
        rng: &mut SplitMix64,
        frozen: &[FoldedBranch],
        device: &Device,
    ) -> Self {
        let per_image = if kind == Augment::None {
            1
        } else {
            per_image.max(1)
        };
        let mut views = Vec::with_capacity(per_image * training.len());
        for _ in 0..per_image {
            views.extend(training.iter().map(|s| augment(s, size, kind, rng)));
        }
        let refs: Vec<&Sample> = views.iter().collect();
        let frozen = frozen_features(frozen, &refs, size, device);
        Self {
            views,
            images: training.len(),
            per_image,
            frozen,
        }
    }

    /// One view of each image of `batch` (indices of training images): the rows of the bank.
    pub(super) fn draw(&self, batch: &[usize], rng: &mut SplitMix64) -> Vec<usize> {
        batch
            .iter()
            .map(|&i| rng.below(self.per_image) * self.images + i)
            .collect()
    }

    /// The pixels of the drawn views.
    pub(super) fn pixels(&self, rows: &[usize]) -> Vec<&Sample> {
        rows.iter().map(|&r| &self.views[r]).collect()
    }

    /// The frozen branches' features of the drawn views, on the training device.
    pub(super) fn frozen(&self, rows: &[usize], train_device: &Device) -> Option<Tensor<2>> {
        self.frozen
            .as_ref()
            .map(|f| f.clone().select(0, indices(rows, train_device)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::branch::Branch;
    use crate::engine::config::BackboneConfig;
    use crate::engine::folded::features;
    use crate::engine::seeding::seeded_module;
    use crate::engine::tensor_io::{batch_tensor, read_f32};
    use burn::module::Module;

    #[test]
    fn a_batch_drawn_from_the_bank_has_the_frozen_features_of_its_own_pixels() {
        let device = Device::flex();
        let train_device = device.clone().autodiff();
        let config = BackboneConfig {
            input_size: 16,
            width: 4,
            stages: 2,
            blocks_per_stage: 1,
        };
        let frozen: Vec<FoldedBranch> = (0..2)
            .map(|seed| {
                let branch = seeded_module(&device, seed, || Branch::new(&config, &device));
                FoldedBranch::fold(&branch.valid())
            })
            .collect();
        let mut rng = SplitMix64::new(3);
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample {
                pixels: (0..3 * 16 * 16).map(|_| rng.below(256) as u8).collect(),
                label: i % 2,
            })
            .collect();
        let training: Vec<&Sample> = samples.iter().collect();
        let bank = ViewBank::build(&training, Augment::Photo, 4, 16, &mut rng, &frozen, &device);
        let batch = [7, 2, 2, 9, 0];
        let rows = bank.draw(&batch, &mut rng);
        // Each drawn row is a view of the batch's own image, and the views are augmented.
        for (&row, &image) in rows.iter().zip(&batch) {
            assert_eq!(row % 10, image);
            assert_eq!(bank.views[row].label, samples[image].label);
        }
        assert!(
            rows.iter()
                .any(|&r| bank.views[r].pixels != samples[r % 10].pixels)
        );
        // The bank's rows equal the frozen branches run on the very pixels the new branch gets.
        let pixels = bank.pixels(&rows);
        let (x, _) = batch_tensor(&pixels, 16, &device);
        let direct = pollster::block_on(read_f32(features(&frozen, x).unwrap())).unwrap();
        let banked = bank.frozen(&rows, &train_device).unwrap();
        assert!(banked.device().is_autodiff());
        let banked = pollster::block_on(read_f32(banked)).unwrap();
        assert_eq!(direct.len(), banked.len());
        let worst = direct
            .iter()
            .zip(&banked)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "bank and direct features differ by {worst}");
        // Without augmentation there is one view: the image itself.
        let plain = ViewBank::build(&training, Augment::None, 4, 16, &mut rng, &frozen, &device);
        assert_eq!(plain.views.len(), 10);
        assert_eq!(plain.draw(&batch, &mut rng), batch.to_vec());
    }
}
