//! Data augmentation for a training batch, on the host before the batch becomes a tensor:
//! random translation (a crop of the image padded with black), and for photos and webcam
//! frames also a horizontal flip and brightness/contrast jitter. Digits are never flipped: a
//! mirrored 2 or 7 is not a 2 or 7. Labels are never changed.

use serde::{Deserialize, Serialize};

use super::data::Sample;
use super::rng::SplitMix64;

/// Which augmentation a step's training batches get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Augment {
    /// The images as they are (frozen branches' features can then be computed once a step).
    #[default]
    None,
    /// Random translation by up to an eighth of the side (at least 2 pixels): digits, drawings.
    Shift,
    /// Translation, horizontal flip and ±20% brightness and contrast: photos, webcam frames.
    Photo,
}

impl Augment {
    pub const ALL: [Augment; 3] = [Augment::None, Augment::Shift, Augment::Photo];

    /// Its name in `der bench --augment` and in the page's markup (what `from_str` reads).
    pub fn key(self) -> &'static str {
        match self {
            Augment::None => "none",
            Augment::Shift => "shift",
            Augment::Photo => "photo",
        }
    }

    /// What it does, in the page's words.
    pub fn description(self) -> &'static str {
        match self {
            Augment::None => "none",
            Augment::Shift => "shifts",
            Augment::Photo => "shifts, mirroring, light",
        }
    }
}

impl std::str::FromStr for Augment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Augment::ALL.into_iter().find(|a| a.key() == s) {
            Some(a) => Ok(a),
            None => Err(format!(
                "unknown augmentation '{s}' (expected none, shift or photo)"
            )),
        }
    }
}

/// The padding a shift may move the image by.
fn reach(size: usize) -> usize {
    (size / 8).max(2)
}

/// A randomly augmented copy of `sample` (channel-major RGB, `size` × `size`), its label kept.
pub fn augment(sample: &Sample, size: usize, kind: Augment, rng: &mut SplitMix64) -> Sample {
    if kind == Augment::None {
        return sample.clone();
    }
    let r = reach(size) as isize;
    let dx = rng.below(2 * r as usize + 1) as isize - r;
    let dy = rng.below(2 * r as usize + 1) as isize - r;
    let flip = kind == Augment::Photo && rng.below(2) == 1;
    let (brightness, contrast) = if kind == Augment::Photo {
        (0.8 + 0.4 * rng.unit_f32(), 0.8 + 0.4 * rng.unit_f32())
    } else {
        (1.0, 1.0)
    };
    let plane = size * size;
    let mut pixels = vec![0u8; 3 * plane];
    for c in 0..3 {
        let from = &sample.pixels[c * plane..(c + 1) * plane];
        let mean = from.iter().map(|&p| f32::from(p)).sum::<f32>() / plane as f32;
        for y in 0..size {
            for x in 0..size {
                let sx = x as isize - dx;
                let sy = y as isize - dy;
                if sx < 0 || sy < 0 || sx >= size as isize || sy >= size as isize {
                    continue; // black padding
                }
                let sx = if flip {
                    size - 1 - sx as usize
                } else {
                    sx as usize
                };
                let v = f32::from(from[sy as usize * size + sx]);
                let v = ((v - mean) * contrast + mean) * brightness;
                pixels[c * plane + y * size + x] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Sample {
        pixels,
        label: sample.label,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(size: usize, at: (usize, usize), label: usize) -> Sample {
        let mut pixels = vec![0u8; 3 * size * size];
        for c in 0..3 {
            pixels[c * size * size + at.1 * size + at.0] = 200;
        }
        Sample { pixels, label }
    }

    fn bright_at(s: &Sample, size: usize) -> Vec<(usize, usize)> {
        (0..size * size)
            .filter(|&i| s.pixels[i] > 0)
            .map(|i| (i % size, i / size))
            .collect()
    }

    #[test]
    fn shift_moves_the_image_keeps_its_label_and_never_flips() {
        let mut rng = SplitMix64::new(3);
        let size = 16;
        let original = dot(size, (3, 8), 7);
        let mut offsets = std::collections::HashSet::new();
        for _ in 0..200 {
            let moved = augment(&original, size, Augment::Shift, &mut rng);
            assert_eq!(moved.label, 7, "the label is kept");
            let at = bright_at(&moved, size);
            assert!(at.len() <= 1, "one dot or none (moved out): {at:?}");
            if let Some(&(x, y)) = at.first() {
                let (dx, dy) = (x as isize - 3, y as isize - 8);
                assert!(
                    dx.abs() <= 2 && dy.abs() <= 2,
                    "within the reach: {dx}, {dy}"
                );
                assert_eq!(
                    moved.pixels[y * size + x],
                    200,
                    "a shift does not change the value"
                );
                offsets.insert((dx, dy));
            }
        }
        assert!(offsets.len() > 15, "many offsets: {}", offsets.len());
        assert_eq!(augment(&original, size, Augment::None, &mut rng), original);
    }

    #[test]
    fn photo_also_flips_and_jitters_but_keeps_the_label() {
        let mut rng = SplitMix64::new(5);
        let size = 16;
        let original = dot(size, (2, 8), 1);
        let mut flipped = 0;
        for _ in 0..200 {
            let moved = augment(&original, size, Augment::Photo, &mut rng);
            assert_eq!(moved.label, 1);
            if let Some(&(x, _)) = bright_at(&moved, size).first() {
                // Mirrored, the dot is near the right edge (13 ± 2), not the left (2 ± 2).
                if x >= 10 {
                    flipped += 1;
                }
            }
        }
        assert!(
            (60..=140).contains(&flipped),
            "about half flipped: {flipped}"
        );
    }

    /// Photo jitter scales contrast about each channel's mean and then brightness, each by a
    /// factor in [0.8, 1.2]. An image whose top half is 50 and bottom half 150 (mean 100) gives
    /// top = (100 − 50c)·b and bottom = (100 + 50c)·b, so the two pixels tell b and c.
    #[test]
    fn photo_jitter_scales_brightness_and_contrast_within_a_fifth() {
        let mut rng = SplitMix64::new(9);
        let size = 16;
        let plane = size * size;
        let mut pixels = vec![0u8; 3 * plane];
        for c in 0..3 {
            for y in 0..size {
                for x in 0..size {
                    pixels[c * plane + y * size + x] = if y < size / 2 { 50 } else { 150 };
                }
            }
        }
        let original = Sample { pixels, label: 4 };
        let (mut brightness, mut contrast) = (Vec::new(), Vec::new());
        for _ in 0..300 {
            let jittered = augment(&original, size, Augment::Photo, &mut rng);
            // Two rows and a column that no shift (at most 2 pixels) or flip takes off the half.
            let top = f32::from(jittered.pixels[2 * size + 8]);
            let bottom = f32::from(jittered.pixels[13 * size + 8]);
            let b = (top + bottom) / 200.0;
            let c = (bottom - top) / (100.0 * b);
            assert!((0.79..=1.21).contains(&b), "brightness {b}");
            assert!((0.78..=1.22).contains(&c), "contrast {c}");
            for channel in 1..3 {
                assert_eq!(
                    jittered.pixels[channel * plane + 2 * size + 8],
                    jittered.pixels[2 * size + 8],
                    "every channel jittered alike"
                );
            }
            brightness.push(b);
            contrast.push(c);
        }
        let spread = |v: &[f32]| {
            v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min)
        };
        assert!(
            spread(&brightness) > 0.3,
            "brightness varies: {}",
            spread(&brightness)
        );
        assert!(
            spread(&contrast) > 0.3,
            "contrast varies: {}",
            spread(&contrast)
        );
        // Shift alone never jitters: the same two pixels keep their values.
        let shifted = augment(&original, size, Augment::Shift, &mut rng);
        assert_eq!(
            (shifted.pixels[2 * size + 8], shifted.pixels[13 * size + 8]),
            (50, 150)
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!("shift".parse::<Augment>(), Ok(Augment::Shift));
        assert!(
            "rotate"
                .parse::<Augment>()
                .unwrap_err()
                .contains("none, shift or photo")
        );
    }
}
