//! The classroom's model of a session: named classes with their samples, which step learned
//! them, and the held-out split used for evaluation. Plain Rust, so the rules users meet
//! (names, empty classes, too few samples) are tested natively.

use serde::{Deserialize, Serialize};

use crate::engine::augment::Augment;
use crate::engine::{Dataset, Sample};

/// The augmentation of a step with built-in digits: shifts (chosen on Split-MNIST's validation
/// split, BENCHMARKS.md "Classroom-sized data"). Digits are never flipped.
pub const DIGITS_AUGMENT: Augment = Augment::Shift;

/// Longest class name accepted (characters, not bytes: non-Latin names are welcome).
pub const MAX_NAME_CHARS: usize = 40;
/// Fewest samples a class needs to take part in a step: enough to hold some out for testing.
pub const MIN_SAMPLES: usize = 5;
/// Most bytes of pixels one class holds: 2,000 images at 32 × 32 (three minutes of webcam
/// recording at 10 frames a second), 500 at 64 × 64.
pub const MAX_CLASS_BYTES: usize = 2_000 * 3 * 32 * 32;
/// Most bytes of pixels one session holds: 10,000 images at 32 × 32, 2,500 at 64 × 64. The
/// browser test builds a 6,520-image session at 32 × 32 and measures it (BENCHMARKS.md). Past
/// the bound the page refuses new images with a message, instead of failing later in a save, a
/// step's message to the worker or the browser's memory. Bytes, not images: a step copies its
/// classes' pixels to the worker, and the page saves and restores them.
pub const MAX_SESSION_BYTES: usize = 10_000 * 3 * 32 * 32;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassEntry {
    /// Stable label used by the engine.
    pub id: usize,
    pub name: String,
    pub samples: Vec<Sample>,
    /// The step that learned this class, once learned.
    pub learned_in_step: Option<usize>,
    /// Where its images come from; it decides the augmentation the step uses by default.
    /// Sessions saved before it existed hold the user's own images.
    #[serde(default)]
    pub source: ImageSource,
}

/// Where a class's images come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageSource {
    /// Webcam frames and uploaded photos.
    #[default]
    Own,
    /// The built-in handwritten digits.
    Digits,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Studio {
    pub input_size: usize,
    pub classes: Vec<ClassEntry>,
    next_id: usize,
    /// Every n-th sample of a class is held out for testing (n = 7 → about 15%).
    pub holdout_every: usize,
}

impl Studio {
    pub fn new(input_size: usize) -> Self {
        Self {
            input_size,
            classes: Vec::new(),
            next_id: 0,
            holdout_every: 7,
        }
    }

    fn check_name(&self, name: &str, except: Option<usize>) -> Result<String, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("A class needs a name.".into());
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(format!(
                "Names can have at most {MAX_NAME_CHARS} characters."
            ));
        }
        let clash = self
            .classes
            .iter()
            .any(|c| Some(c.id) != except && c.name.to_lowercase() == name.to_lowercase());
        if clash {
            return Err(format!("There is already a class called “{name}”."));
        }
        Ok(name.to_string())
    }

    pub fn add_class(&mut self, name: &str) -> Result<usize, String> {
        let name = self.check_name(name, None)?;
        let id = self.next_id;
        self.next_id += 1;
        self.classes.push(ClassEntry {
            id,
            name,
            samples: Vec::new(),
            learned_in_step: None,
            source: ImageSource::Own,
        });
        Ok(id)
    }

    /// Adds a class of built-in digits (its images are never flipped when augmented).
    pub fn add_digit_class(&mut self, name: &str) -> Result<usize, String> {
        let id = self.add_class(name)?;
        self.class_mut(id)?.source = ImageSource::Digits;
        Ok(id)
    }

    /// The augmentation a step of `classes` uses unless the user chose one: shifts when any
    /// class is digits (a flipped digit is another symbol), the photo set (shifts, flips,
    /// brightness and contrast) for webcam frames and photos.
    pub fn augmentation_for(&self, classes: &[usize]) -> Augment {
        let digits = self
            .classes
            .iter()
            .any(|c| classes.contains(&c.id) && c.source == ImageSource::Digits);
        if digits {
            DIGITS_AUGMENT
        } else {
            Augment::Photo
        }
    }

    pub fn rename(&mut self, id: usize, name: &str) -> Result<(), String> {
        let name = self.check_name(name, Some(id))?;
        self.class_mut(id)?.name = name;
        Ok(())
    }

    /// Deletes a class not learned yet (a learned class is part of the model).
    pub fn delete(&mut self, id: usize) -> Result<(), String> {
        let class = self.class(id)?;
        if class.learned_in_step.is_some() {
            return Err(format!(
                "“{}” is already part of the model and cannot be deleted.",
                class.name
            ));
        }
        self.classes.retain(|c| c.id != id);
        Ok(())
    }

    pub fn class(&self, id: usize) -> Result<&ClassEntry, String> {
        self.classes
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| "That class no longer exists.".to_string())
    }

    fn class_mut(&mut self, id: usize) -> Result<&mut ClassEntry, String> {
        self.classes
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| "That class no longer exists.".to_string())
    }

    /// Adds an image (`3 × size × size` bytes) to a class that has not been learned yet.
    pub fn add_sample(&mut self, id: usize, pixels: Vec<u8>) -> Result<(), String> {
        let expected = 3 * self.input_size * self.input_size;
        if pixels.len() != expected {
            return Err(format!(
                "internal: a sample has {} bytes, expected {expected}",
                pixels.len()
            ));
        }
        let total = self.sample_count();
        let class = self.class_mut(id)?;
        if class.learned_in_step.is_some() {
            return Err(format!(
                "“{}” is already learned; add a new class instead.",
                class.name
            ));
        }
        if class.samples.len() >= MAX_CLASS_BYTES / expected {
            return Err(format!(
                "“{}” already has {} images, the most one class can hold at this image size: add the rest to a new class.",
                class.name,
                MAX_CLASS_BYTES / expected
            ));
        }
        if total >= MAX_SESSION_BYTES / expected {
            return Err(format!(
                "This session holds {} images, the most one session can hold at this image size: delete a class you no longer need, or Export this session and start a new one.",
                MAX_SESSION_BYTES / expected
            ));
        }
        class.samples.push(Sample { pixels, label: id });
        Ok(())
    }

    /// Adds images to a class until one is refused: (images added, why the rest were not).
    /// One message for the whole batch, so 500 refused images do not make 500 messages.
    pub fn add_samples(
        &mut self,
        id: usize,
        images: impl IntoIterator<Item = Vec<u8>>,
    ) -> (usize, Option<String>) {
        let mut images = images.into_iter();
        let mut added = 0;
        for pixels in images.by_ref() {
            if let Err(e) = self.add_sample(id, pixels) {
                let rest = 1 + images.count();
                return (added, Some(format!("{e} ({rest} not added)")));
            }
            added += 1;
        }
        (added, None)
    }

    /// The classes and settings without their images (what a session file lists).
    pub fn without_samples(&self) -> Studio {
        let classes = self
            .classes
            .iter()
            .map(|c| ClassEntry {
                id: c.id,
                name: c.name.clone(),
                samples: Vec::new(),
                learned_in_step: c.learned_in_step,
                source: c.source,
            })
            .collect();
        Studio { classes, ..*self }
    }

    /// Images in every class.
    pub fn sample_count(&self) -> usize {
        self.classes.iter().map(|c| c.samples.len()).sum()
    }

    /// Changes the side of the model's input images, resampling every sample. Only before the
    /// first step: a learned model is fixed to its input size.
    pub fn set_input_size(&mut self, size: usize) -> Result<(), String> {
        if !(8..=128).contains(&size) {
            return Err(format!(
                "Images can be between 8 and 128 pixels wide, not {size}."
            ));
        }
        if self.classes.iter().any(|c| c.learned_in_step.is_some()) {
            return Err("The image size is fixed once a step has been learned.".into());
        }
        let bytes = 3 * size * size;
        let largest = self
            .classes
            .iter()
            .map(|c| c.samples.len())
            .max()
            .unwrap_or(0);
        if largest * bytes > MAX_CLASS_BYTES || self.sample_count() * bytes > MAX_SESSION_BYTES {
            return Err(format!(
                "At {size} × {size} pixels these images would not fit: a class holds at most {} and a session {} at that size. Choose a smaller image size, or delete some images first.",
                MAX_CLASS_BYTES / bytes,
                MAX_SESSION_BYTES / bytes
            ));
        }
        let from = self.input_size;
        for sample in self.classes.iter_mut().flat_map(|c| c.samples.iter_mut()) {
            sample.pixels = crate::engine::data::resize_square(&sample.pixels, 3, from, size);
        }
        self.input_size = size;
        Ok(())
    }

    fn is_held_out(&self, index: usize) -> bool {
        index % self.holdout_every == self.holdout_every - 1
    }

    /// Checks that `ids` can form the next step; the message says what to do otherwise.
    pub fn check_step(&self, ids: &[usize], first_step: bool) -> Result<(), String> {
        if ids.is_empty() {
            return Err("Pick at least one new class to learn.".into());
        }
        if first_step && ids.len() < 2 {
            return Err(
                "The first step needs at least two classes, so there is something to tell apart."
                    .into(),
            );
        }
        for &id in ids {
            let class = self.class(id)?;
            if class.learned_in_step.is_some() {
                return Err(format!("“{}” was learned in an earlier step.", class.name));
            }
            if class.samples.is_empty() {
                return Err(format!(
                    "“{}” has no samples yet: record or upload some first.",
                    class.name
                ));
            }
            if class.samples.len() < MIN_SAMPLES {
                return Err(format!(
                    "“{}” has {} samples; it needs at least {MIN_SAMPLES} so some can be kept aside for testing.",
                    class.name,
                    class.samples.len()
                ));
            }
        }
        Ok(())
    }

    /// The training part of the given classes (everything not held out).
    pub fn train_set(&self, ids: &[usize]) -> Dataset {
        self.split(ids, false)
    }

    /// How many training images the given classes have (what [`Self::train_set`] would copy).
    pub fn train_count(&self, ids: &[usize]) -> usize {
        self.classes
            .iter()
            .filter(|c| ids.contains(&c.id))
            .map(|c| {
                (0..c.samples.len())
                    .filter(|&i| !self.is_held_out(i))
                    .count()
            })
            .sum()
    }

    /// The held-out part of the given classes.
    pub fn test_set(&self, ids: &[usize]) -> Dataset {
        self.split(ids, true)
    }

    fn split(&self, ids: &[usize], held_out: bool) -> Dataset {
        let samples = self
            .classes
            .iter()
            .filter(|c| ids.contains(&c.id))
            .flat_map(|c| {
                c.samples
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| self.is_held_out(*i) == held_out)
                    .map(|(_, s)| s.clone())
            })
            .collect();
        Dataset::new(self.input_size, samples)
    }

    pub fn mark_learned(&mut self, ids: &[usize], step: usize) {
        for class in self.classes.iter_mut().filter(|c| ids.contains(&c.id)) {
            class.learned_in_step = Some(step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixels(size: usize, value: u8) -> Vec<u8> {
        vec![value; 3 * size * size]
    }

    #[test]
    fn a_step_with_digits_is_shifted_never_flipped_and_own_images_get_the_photo_set() {
        let mut s = Studio::new(4);
        let cat = s.add_class("Cat").unwrap();
        let dog = s.add_class("Dog").unwrap();
        let seven = s.add_digit_class("Digit 7").unwrap();
        assert_eq!(s.augmentation_for(&[cat, dog]), Augment::Photo);
        assert_eq!(s.augmentation_for(&[seven]), DIGITS_AUGMENT);
        assert_eq!(
            s.augmentation_for(&[cat, seven]),
            DIGITS_AUGMENT,
            "one digit class is enough to forbid flips"
        );
        assert_ne!(DIGITS_AUGMENT, Augment::Photo);
        // The source survives the session's image-less copy, and older sessions read as own images.
        assert_eq!(s.without_samples().classes[2].source, ImageSource::Digits);
        let mut json = serde_json::to_value(&s.classes[2]).unwrap();
        json.as_object_mut().unwrap().remove("source");
        assert_eq!(
            serde_json::from_value::<ClassEntry>(json).unwrap().source,
            ImageSource::Own
        );
    }

    #[test]
    fn names_are_checked() {
        let mut s = Studio::new(4);
        assert_eq!(s.add_class("   ").unwrap_err(), "A class needs a name.");
        let cat = s.add_class("Cat").unwrap();
        assert!(s.add_class("cat").unwrap_err().contains("already a class"));
        assert!(s.add_class(&"x".repeat(41)).is_err());
        // Non-Latin names count characters, not bytes.
        let name = "猫".repeat(40);
        assert!(name.len() > 40);
        let id = s.add_class(&name).unwrap();
        assert_eq!(s.class(id).unwrap().name, name);
        s.rename(cat, "  Cat  ").unwrap();
        assert_eq!(s.class(cat).unwrap().name, "Cat");
    }

    #[test]
    fn the_input_size_resamples_every_image_until_a_step_is_learned() {
        let mut s = Studio::new(4);
        let a = s.add_class("A").unwrap();
        // Left half dark, right half bright.
        let half = |size: usize| {
            (0..3 * size * size)
                .map(|i| if i % size < size / 2 { 10 } else { 250 })
                .collect::<Vec<u8>>()
        };
        s.add_sample(a, half(4)).unwrap();
        s.set_input_size(8).unwrap();
        let pixels = &s.class(a).unwrap().samples[0].pixels;
        assert_eq!(pixels.len(), 3 * 8 * 8);
        assert!(
            pixels[0] < 50 && pixels[7] > 200,
            "the picture is kept: {pixels:?}"
        );
        assert!(
            s.add_sample(a, half(4)).is_err(),
            "new samples come at the new size"
        );
        assert!(s.set_input_size(4000).is_err());
        s.mark_learned(&[a], 0);
        assert!(s.set_input_size(16).unwrap_err().contains("fixed"));
    }

    #[test]
    fn steps_need_enough_samples_and_two_classes_first() {
        let mut s = Studio::new(2);
        let a = s.add_class("A").unwrap();
        let b = s.add_class("B").unwrap();
        assert!(
            s.check_step(&[a], true)
                .unwrap_err()
                .contains("at least two classes")
        );
        assert!(
            s.check_step(&[a, b], true)
                .unwrap_err()
                .contains("no samples yet")
        );
        for i in 0..4 {
            s.add_sample(a, pixels(2, i)).unwrap();
        }
        for i in 0..14 {
            s.add_sample(b, pixels(2, i)).unwrap();
        }
        assert!(
            s.check_step(&[a, b], true)
                .unwrap_err()
                .contains("needs at least 5")
        );
        s.add_sample(a, pixels(2, 9)).unwrap();
        s.check_step(&[a, b], true).unwrap();
        // 15% held out, deterministic, disjoint from training.
        assert_eq!(s.test_set(&[b]).len(), 2);
        assert_eq!(s.train_set(&[b]).len(), 12);
        assert_eq!(s.train_count(&[b]), 12);
        s.mark_learned(&[a, b], 0);
        assert!(
            s.check_step(&[a], false)
                .unwrap_err()
                .contains("earlier step")
        );
        assert!(s.delete(a).is_err());
        assert!(s.add_sample(a, pixels(2, 1)).is_err());
    }

    #[test]
    fn classes_and_sessions_are_bounded_with_a_message_before_they_break() {
        // At 32 × 32: 2,000 images a class, 10,000 a session.
        let mut s = Studio::new(32);
        let a = s.add_class("A").unwrap();
        let (added, refused) = s.add_samples(a, (0..2_003).map(|i| pixels(32, i as u8)));
        assert_eq!(added, 2_000);
        let message = refused.unwrap();
        assert!(
            message.contains("“A” already has 2000 images") && message.contains("(3 not added)"),
            "{message}"
        );
        assert_eq!(
            s.class(a).unwrap().samples.len(),
            2_000,
            "nothing already there is lost"
        );
        let (added, refused) = s.add_samples(a, [pixels(32, 1)]);
        assert_eq!((added, refused.is_some()), (0, true));

        // Larger images would not fit: the size change is refused and nothing is resampled.
        let e = s.set_input_size(64).unwrap_err();
        assert!(e.contains("a class holds at most 500"), "{e}");
        assert_eq!(s.input_size, 32);
        s.set_input_size(16).unwrap();
        s.set_input_size(32).unwrap();

        for name in ["B", "C", "D", "E"] {
            let id = s.add_class(name).unwrap();
            let (added, refused) = s.add_samples(id, (0..2_000).map(|i| pixels(32, i as u8)));
            assert_eq!((added, refused), (2_000, None));
        }
        assert_eq!(s.sample_count(), 10_000);
        let f = s.add_class("F").unwrap();
        let (added, refused) = s.add_samples(f, [pixels(32, 1), pixels(32, 2)]);
        assert_eq!(added, 0);
        assert!(
            refused
                .unwrap()
                .contains("10000 images, the most one session can hold")
        );
    }
}
