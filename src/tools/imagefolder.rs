//! Reads an ImageFolder data set (`<root>/{train,test}/<class>/*.png`) into engine samples:
//! grayscale or colour, any size, resized to the model's square input.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use crate::engine::{Dataset, Sample};

/// Why a data set could not be read, with the path at fault.
#[derive(Debug, thiserror::Error)]
pub enum ImageFolderError {
    #[error("folder not found: {}", .0.display())]
    MissingFolder(PathBuf),
    #[error("no class folders in {}", .0.display())]
    NoClasses(PathBuf),
    #[error("no images in class folder {}", .0.display())]
    NoImages(PathBuf),
    #[error("cannot read image {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("class '{class}' has no folder in the {split} split")]
    ClassMismatch { class: String, split: &'static str },
    #[error(
        "class '{class}' has {images} training images: too few to hold {held_out} out for validation and still train"
    )]
    TooFewForValidation {
        class: String,
        images: usize,
        held_out: usize,
    },
}

/// A data set's two splits and the class names (label = index in `classes`).
pub struct ImageFolder {
    pub classes: Vec<String>,
    pub train: Dataset,
    pub test: Dataset,
}

impl ImageFolder {
    /// Loads `root/train` and `root/test`; classes are the sorted folder names of `train`.
    /// `limit` caps the images read per class and split (sorted by file name).
    pub fn load(root: &Path, size: usize, limit: Option<usize>) -> Result<Self, ImageFolderError> {
        let train_root = root.join("train");
        let test_root = root.join("test");
        for dir in [root, &train_root, &test_root] {
            if !dir.is_dir() {
                return Err(ImageFolderError::MissingFolder(dir.to_path_buf()));
            }
        }
        let classes = class_names(&train_root)?;
        let train = read_split(&train_root, &classes, size, limit, "train")?;
        let test = read_split(&test_root, &classes, size, limit, "test")?;
        Ok(Self {
            classes,
            train,
            test,
        })
    }

    /// Holds out the last `per_class` training images of every class (in file order) as the
    /// evaluation split, in place of `test`: settings are chosen on these, never on the test
    /// images. The test split is dropped so it cannot be looked at by mistake.
    pub fn hold_out_validation(self, per_class: usize) -> Result<Self, ImageFolderError> {
        let mut train = Vec::new();
        let mut validation = Vec::new();
        for (label, class) in self.classes.iter().enumerate() {
            let mut of_class: Vec<Sample> = self
                .train
                .samples
                .iter()
                .filter(|s| s.label == label)
                .cloned()
                .collect();
            if of_class.len() <= per_class {
                return Err(ImageFolderError::TooFewForValidation {
                    class: class.clone(),
                    images: of_class.len(),
                    held_out: per_class,
                });
            }
            validation.extend(of_class.split_off(of_class.len() - per_class));
            train.extend(of_class);
        }
        let size = self.train.size;
        Ok(Self {
            classes: self.classes,
            train: Dataset::new(size, train),
            test: Dataset::new(size, validation),
        })
    }
}

fn class_names(split: &Path) -> Result<Vec<String>, ImageFolderError> {
    let entries = std::fs::read_dir(split)
        .map_err(|_| ImageFolderError::MissingFolder(split.to_path_buf()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(ImageFolderError::NoClasses(split.to_path_buf()));
    }
    Ok(names)
}

fn read_split(
    split: &Path,
    classes: &[String],
    size: usize,
    limit: Option<usize>,
    split_name: &'static str,
) -> Result<Dataset, ImageFolderError> {
    let mut samples = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let dir = split.join(class);
        if !dir.is_dir() {
            return Err(ImageFolderError::ClassMismatch {
                class: class.clone(),
                split: split_name,
            });
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| ImageFolderError::Unreadable {
                path: dir.clone(),
                reason: e.to_string(),
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        // Numeric file names sort as numbers (10.png after 9.png).
        files.sort_by_key(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem.parse::<u64>().unwrap_or(u64::MAX), stem)
        });
        if let Some(limit) = limit {
            files.truncate(limit);
        }
        if files.is_empty() {
            return Err(ImageFolderError::NoImages(dir));
        }
        for path in files {
            samples.push(read_image(&path, label, size)?);
        }
    }
    Ok(Dataset::new(size, samples))
}

/// Decodes one image and resizes it to `size × size` RGB.
pub fn read_image(path: &Path, label: usize, size: usize) -> Result<Sample, ImageFolderError> {
    let image = image::open(path).map_err(|e| ImageFolderError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let rgb = image
        .resize_exact(size as u32, size as u32, FilterType::Triangle)
        .to_rgb8();
    let rgba: Vec<u8> = rgb.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    Ok(Sample::from_rgba(&rgba, label))
}
