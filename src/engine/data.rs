//! Images as the engine sees them: RGB bytes, channel-major, already at the model's input size.
//! Decoding and resizing belong to the callers (the browser, or the command-line tool).

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::tensor_io::floats;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// `3 × size × size` bytes, channel-major (all red, then green, then blue).
    pub pixels: Vec<u8>,
    /// Global class index.
    pub label: usize,
}

impl Sample {
    /// Builds a sample from a grayscale image by replicating it to three channels.
    pub fn from_gray(gray: &[u8], label: usize) -> Self {
        let mut pixels = Vec::with_capacity(gray.len() * 3);
        for _ in 0..3 {
            pixels.extend_from_slice(gray);
        }
        Self { pixels, label }
    }

    /// Builds a sample from interleaved RGBA (as a canvas returns it).
    pub fn from_rgba(rgba: &[u8], label: usize) -> Self {
        let n = rgba.len() / 4;
        let mut pixels = vec![0u8; n * 3];
        for (i, px) in rgba.chunks_exact(4).enumerate() {
            pixels[i] = px[0];
            pixels[n + i] = px[1];
            pixels[2 * n + i] = px[2];
        }
        Self { pixels, label }
    }
}

/// Samples that all share one input size.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub size: usize,
    pub samples: Vec<Sample>,
}

impl Dataset {
    pub fn new(size: usize, samples: Vec<Sample>) -> Self {
        debug_assert!(samples.iter().all(|s| s.pixels.len() == 3 * size * size));
        Self { size, samples }
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Distinct labels, sorted.
    pub fn classes(&self) -> Vec<usize> {
        let mut labels: Vec<usize> = self.samples.iter().map(|s| s.label).collect();
        labels.sort_unstable();
        labels.dedup();
        labels
    }

    /// Only the samples whose label is in `classes`.
    pub fn filter_classes(&self, classes: &[usize]) -> Dataset {
        Dataset {
            size: self.size,
            samples: self.samples.iter().filter(|s| classes.contains(&s.label)).cloned().collect(),
        }
    }
}

/// Pixel normalisation: bytes to [-1, 1].
const SCALE: f32 = 2.0 / 255.0;

/// Stacks samples into a `[batch, 3, size, size]` tensor and their labels.
pub fn batch_tensor(samples: &[&Sample], size: usize, device: &Device) -> (Tensor<4>, Vec<usize>) {
    let per = 3 * size * size;
    let mut values = Vec::with_capacity(samples.len() * per);
    let mut labels = Vec::with_capacity(samples.len());
    for sample in samples {
        values.extend(sample.pixels.iter().map(|&p| p as f32 * SCALE - 1.0));
        labels.push(sample.label);
    }
    (floats(values, [samples.len(), 3, size, size], device), labels)
}

/// One-hot targets `[batch, classes]` built on the host (cheaper than a device gather).
pub fn one_hot(labels: &[usize], classes: usize, device: &Device) -> Tensor<2> {
    let mut values = vec![0f32; labels.len() * classes];
    for (row, &label) in labels.iter().enumerate() {
        values[row * classes + label] = 1.0;
    }
    floats(values, [labels.len(), classes], device)
}
