//! Asking the model about an answer: which step's branch it came from (the logit split by
//! branch), where in the image it looked (occlusion), and what the model said after an earlier
//! step (rewinding: that step's branches with that step's classifier; nothing is retrained).

use std::borrow::Cow;

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use web_time::Instant;

use super::Learner;
use super::inference::INFERENCE_CHUNK;
use crate::engine::data::Sample;
use crate::engine::explanation::{Explanation, OcclusionMap, occlusion_positions};
use crate::engine::folded::FoldedNetwork;
use crate::engine::tensor_io::{ReadError, batch_tensor, read_f32};

/// Why the model could not answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AskError {
    #[error("nothing has been learned yet: learn a step first")]
    NoModel,
    #[error("{0}")]
    CannotRewind(String),
    #[error(transparent)]
    Device(#[from] ReadError),
}

/// An answer with its explanation.
#[derive(Clone, Debug, PartialEq)]
pub struct ExplainedAnswer {
    /// Per class of the model asked (the first classes of [`Learner::class_order`]).
    pub probabilities: Vec<f32>,
    pub explanation: Explanation,
}

/// The grey of an occluding square: mid-grey, 0 after normalisation.
const GREY: u8 = 128;

impl Learner {
    /// The inference network as it was after step `step` (1-based; `None`: the latest). Exact:
    /// a step's branches never change once it is over, and its classifier is kept.
    pub fn after_step(&self, step: Option<usize>) -> Result<Cow<'_, FoldedNetwork>, AskError> {
        let current = self.inference.as_ref().ok_or(AskError::NoModel)?;
        let steps = self.steps.len();
        let step = step.unwrap_or(steps);
        if step == steps {
            return Ok(Cow::Borrowed(current));
        }
        if step == 0 || step > steps {
            return Err(AskError::CannotRewind(format!(
                "there is no step {step}: the model has learned {steps}"
            )));
        }
        if !self.config.method.expands() {
            return Err(AskError::CannotRewind(
                "only DER keeps each step's network: this method changes one network every step"
                    .into(),
            ));
        }
        let classifier = self.step_classifiers.get(step - 1).ok_or_else(|| {
            AskError::CannotRewind(format!(
                "this model was saved before DER Studio kept each step's classifier, so step {step} cannot be shown"
            ))
        })?;
        Ok(Cow::Owned(current.rewound(step, classifier)))
    }

    /// Steps the model can be rewound to, oldest first (always includes the latest).
    pub fn rewindable_steps(&self) -> Vec<usize> {
        (1..=self.steps.len())
            .filter(|&k| self.after_step(Some(k)).is_ok())
            .collect()
    }

    /// The classes the model after `step` knows, in output order.
    pub fn class_order_after(&self, step: Option<usize>) -> &[usize] {
        let step = step.unwrap_or(self.steps.len()).min(self.steps.len());
        let known: usize = self.steps[..step].iter().map(|s| s.classes.len()).sum();
        &self.class_order[..known.min(self.class_order.len())]
    }

    /// Class probabilities for `sample` from the model after `step`, and the winning class's
    /// logit split by branch. One read from the device: the per-branch terms for every class,
    /// the bias, the logits of the whole network and the probabilities, stacked.
    pub async fn explain(
        &self,
        sample: &Sample,
        step: Option<usize>,
    ) -> Result<ExplainedAnswer, AskError> {
        let network = self.after_step(step)?;
        let (x, _) = batch_tensor(&[sample], self.config.backbone.input_size, &self.device);
        let classifier = network.classifier();
        let classes = classifier.outputs();
        let features = network.features(x);
        let logits = classifier.forward(features.clone());
        let weight = classifier.weight.val();
        let mut rows = Vec::with_capacity(network.branches().len() + 3);
        let mut start = 0;
        for branch in network.branches() {
            let end = start + branch.feature_dim();
            let block = features.clone().slice([0..1, start..end]);
            rows.push(block.matmul(weight.clone().slice([start..end, 0..classes])));
            start = end;
        }
        rows.push(classifier.bias.val().reshape([1, classes]));
        rows.push(logits.clone());
        rows.push(softmax(logits, 1));
        let branches = network.branches().len();
        let values = read_f32(Tensor::cat(rows, 0)).await?;
        let row = |r: usize| &values[r * classes..(r + 1) * classes];
        let logits = row(branches + 1);
        let output = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        Ok(ExplainedAnswer {
            probabilities: row(branches + 2).to_vec(),
            explanation: Explanation {
                output,
                logit: logits[output],
                bias: row(branches)[output],
                contributions: (0..branches).map(|b| row(b)[output]).collect(),
            },
        })
    }

    /// The answer (a global label) for each sample from the model after `step`.
    pub async fn answers_after(
        &self,
        samples: &[&Sample],
        step: Option<usize>,
    ) -> Result<Vec<usize>, AskError> {
        let network = self.after_step(step)?;
        let order = self.class_order_after(step);
        let size = self.config.backbone.input_size;
        let mut answers = Vec::with_capacity(samples.len());
        for chunk in samples.chunks(INFERENCE_CHUNK) {
            let (x, _) = batch_tensor(chunk, size, &self.device);
            let logits = network.logits(x);
            let classes = logits.dims()[1];
            let values = read_f32(logits).await?;
            answers.extend(values.chunks(classes).map(|row| {
                let best = row
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                order[best]
            }));
        }
        Ok(answers)
    }

    /// Where the model after `step` looked to answer `sample`: a grey square slid over the
    /// image (a quarter of its side, in steps of half that), every occluded copy run through
    /// the folded network in batches, and the drop in the winning class's probability spread
    /// back over the pixels each square hid.
    pub async fn occlusion(
        &self,
        sample: &Sample,
        step: Option<usize>,
    ) -> Result<OcclusionMap, AskError> {
        let started = Instant::now();
        let network = self.after_step(step)?;
        let size = self.config.backbone.input_size;
        let patch = (size / 4).max(1);
        let stride = (patch / 2).max(1);
        let positions = occlusion_positions(size, patch, stride);
        let mut images = vec![sample.clone()];
        let mut squares = Vec::new();
        for &top in &positions {
            for &left in &positions {
                let mut pixels = sample.pixels.clone();
                for channel in 0..3 {
                    for y in top..top + patch {
                        let row = channel * size * size + y * size;
                        pixels[row + left..row + left + patch].fill(GREY);
                    }
                }
                images.push(Sample {
                    pixels,
                    label: sample.label,
                });
                squares.push((top, left));
            }
        }
        let refs: Vec<&Sample> = images.iter().collect();
        let mut probabilities = Vec::with_capacity(images.len());
        let mut classes = 0;
        for chunk in refs.chunks(INFERENCE_CHUNK) {
            let (x, _) = batch_tensor(chunk, size, &self.device);
            let p = softmax(network.logits(x), 1);
            classes = p.dims()[1];
            probabilities.extend(read_f32(p).await?);
        }
        let original = &probabilities[..classes];
        let output = original
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        let probability = original[output];
        let mut sum = vec![0f32; size * size];
        let mut count = vec![0u32; size * size];
        for (k, &(top, left)) in squares.iter().enumerate() {
            let hidden = probabilities[(k + 1) * classes + output];
            for y in top..top + patch {
                for x in left..left + patch {
                    sum[y * size + x] += probability - hidden;
                    count[y * size + x] += 1;
                }
            }
        }
        Ok(OcclusionMap {
            output,
            probability,
            size,
            patch,
            stride,
            drop: sum
                .iter()
                .zip(&count)
                .map(|(s, &n)| s / n.max(1) as f32)
                .collect(),
            images: squares.len(),
            millis: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}
