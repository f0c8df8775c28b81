//! Inference: class probabilities, evaluation and the features the step reads (for herding
//! and for the frozen branches' cache). Always binary masks and BatchNorm in eval, in chunks of
//! [`INFERENCE_CHUNK`] images so no pass needs more memory than a training batch.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use super::Learner;
use crate::engine::data::{Dataset, Sample};
use crate::engine::folded::{self, FoldedBranch, FoldedNetwork};
use crate::engine::tensor_io::{ReadError, batch_tensor, read_f32, read_i64};

impl Learner {
    /// Class probabilities (in [`Self::class_order`]) for each sample.
    pub async fn predict(&self, samples: &[&Sample]) -> Result<Vec<Vec<f32>>, ReadError> {
        let Some(network) = &self.inference else {
            return Ok(Vec::new());
        };
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        let size = self.config.backbone.input_size;
        let (x, _) = batch_tensor(samples, size, &self.device);
        let probabilities = read_f32(softmax(network.logits(x), 1)).await?;
        let classes = self.class_order.len();
        Ok(probabilities.chunks(classes).map(<[f32]>::to_vec).collect())
    }

    /// (true label, predicted label) for every sample of `data`.
    pub async fn evaluate(&self, data: &Dataset) -> Result<Vec<(usize, usize)>, ReadError> {
        let Some(network) = &self.inference else {
            return Ok(Vec::new());
        };
        let mut pairs = Vec::with_capacity(data.len());
        for chunk in data.samples.chunks(INFERENCE_CHUNK) {
            let refs: Vec<&Sample> = chunk.iter().collect();
            let (x, labels) = batch_tensor(&refs, data.size, &self.device);
            let predicted = read_i64(network.logits(x).argmax(1)).await?;
            pairs.extend(
                labels
                    .into_iter()
                    .zip(predicted.into_iter().map(|p| self.class_order[p as usize])),
            );
        }
        Ok(pairs)
    }
}

/// Images per forward pass when nothing is trained (evaluation, features for herding, for the
/// frozen-feature cache and for re-learning): the size of a training batch, so these passes
/// never need more transient memory than training does (a pass's convolutions hold several
/// copies of its activations at once, and wasm memory never shrinks once grown). Per-image
/// results do not depend on it (BatchNorm in eval mode; Split-MNIST accuracies were identical
/// at 128). The step's peak was elsewhere: see `recalibrate_batch_norm`.
pub(super) const INFERENCE_CHUNK: usize = 32;

/// The frozen branches' features of every training sample, `[samples, frozen_dim]`, computed
/// once per step by the folded frozen branches, as a constant on the training device.
pub(super) fn frozen_features(
    frozen: &[FoldedBranch],
    samples: &[&Sample],
    size: usize,
    device: &Device,
) -> Option<Tensor<2>> {
    if frozen.is_empty() {
        return None;
    }
    let parts: Vec<Tensor<2>> = samples
        .chunks(INFERENCE_CHUNK)
        .map(|chunk| {
            let (x, _) = batch_tensor(chunk, size, device);
            folded::features(frozen, x).expect("one or more frozen branches")
        })
        .collect();
    Some(Tensor::cat(parts, 0).autodiff())
}

/// Concatenated features of `samples` computed by an inference network, read back per sample.
pub(super) async fn features_of(
    network: &FoldedNetwork,
    samples: &[&Sample],
    size: usize,
    device: &Device,
) -> Result<Vec<Vec<f32>>, ReadError> {
    let mut rows = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(INFERENCE_CHUNK) {
        let (x, _) = batch_tensor(chunk, size, device);
        let features = network.features(x);
        let dim = features.dims()[1];
        rows.extend(read_f32(features).await?.chunks(dim).map(<[f32]>::to_vec));
    }
    Ok(rows)
}
