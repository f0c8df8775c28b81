//! Images as the engine sees them: RGB bytes, channel-major, already at the model's input size.
//! Decoding and resizing belong to the callers (the browser, or the command-line tool).

use serde::{Deserialize, Serialize};

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
    /// The first `n` samples of each class, in their order here (classroom-sized data from a
    /// large data set: `der bench --train-per-class`).
    pub fn first_per_class(&self, n: usize) -> Dataset {
        let mut taken: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        let samples = self
            .samples
            .iter()
            .filter(|s| {
                let count = taken.entry(s.label).or_default();
                *count += 1;
                *count <= n
            })
            .cloned()
            .collect();
        Dataset {
            size: self.size,
            samples,
        }
    }

    pub fn filter_classes(&self, classes: &[usize]) -> Dataset {
        Dataset {
            size: self.size,
            samples: self
                .samples
                .iter()
                .filter(|s| classes.contains(&s.label))
                .cloned()
                .collect(),
        }
    }
}

/// Bilinear resize of a channel-major image with `channels` planes from `from × from` to
/// `to × to` (the built-in samples are 28×28, the model reads 32×32).
pub fn resize_square(pixels: &[u8], channels: usize, from: usize, to: usize) -> Vec<u8> {
    let mut out = vec![0u8; channels * to * to];
    let scale = from as f32 / to as f32;
    for c in 0..channels {
        let plane = &pixels[c * from * from..(c + 1) * from * from];
        for y in 0..to {
            let sy = ((y as f32 + 0.5) * scale - 0.5).clamp(0.0, (from - 1) as f32);
            let (y0, fy) = (sy.floor() as usize, sy.fract());
            let y1 = (y0 + 1).min(from - 1);
            for x in 0..to {
                let sx = ((x as f32 + 0.5) * scale - 0.5).clamp(0.0, (from - 1) as f32);
                let (x0, fx) = (sx.floor() as usize, sx.fract());
                let x1 = (x0 + 1).min(from - 1);
                let p = |yy: usize, xx: usize| plane[yy * from + xx] as f32;
                let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
                let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
                out[c * to * to + y * to + x] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_flat_images_flat_and_corners_in_place() {
        assert_eq!(
            resize_square(&[7u8; 3 * 28 * 28], 3, 28, 32),
            vec![7u8; 3 * 32 * 32]
        );
        let mut img = vec![0u8; 4 * 4];
        img[0] = 255; // top-left pixel bright
        let out = resize_square(&img, 1, 4, 8);
        assert_eq!(out[0], 255);
        assert_eq!(out[63], 0);
    }

    #[test]
    fn rgba_and_gray_become_channel_major_rgb() {
        let s = Sample::from_rgba(&[1, 2, 3, 255, 4, 5, 6, 255], 0);
        assert_eq!(s.pixels, vec![1, 4, 2, 5, 3, 6]);
        assert_eq!(Sample::from_gray(&[9, 8], 1).pixels, vec![9, 8, 9, 8, 9, 8]);
    }
}
