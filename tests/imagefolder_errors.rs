//! The command-line tool's data loader: bad input gets a message naming the path, not a panic.

use std::fs;
use std::path::{Path, PathBuf};

use der_studio::tools::imagefolder::ImageFolder;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("der-imagefolder-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_digit(to: &Path, class: &str, split: &str) {
    let dir = to.join(split).join(class);
    fs::create_dir_all(&dir).unwrap();
    let real = fs::read_dir("tests/fixtures/mnist6/train/0")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::copy(real, dir.join("1.png")).unwrap();
}

fn error(root: &Path) -> String {
    match ImageFolder::load(root, 32, None) {
        Ok(_) => panic!("{} should be refused", root.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_fixture_loads_with_sorted_classes_at_the_requested_size() {
    let data = ImageFolder::load(Path::new("tests/fixtures/mnist6"), 32, Some(3)).unwrap();
    assert_eq!(data.classes, vec!["0", "1", "2", "3", "4", "5"]);
    assert_eq!(data.train.len(), 18);
    assert!(
        data.train
            .samples
            .iter()
            .all(|s| s.pixels.len() == 3 * 32 * 32)
    );
    // MNIST digits are white strokes on black.
    let s = &data.train.samples[0];
    assert_eq!(s.pixels[0], 0);
    assert!(s.pixels.iter().any(|&p| p > 200));
}

#[test]
fn missing_folders_are_named() {
    let root = scratch("missing");
    assert!(error(&root.join("nope")).starts_with("folder not found"));
    fs::create_dir_all(root.join("train")).unwrap();
    assert!(error(&root).contains("test"), "{}", error(&root));
}

#[test]
fn a_class_without_test_images_is_refused() {
    let root = scratch("no-test");
    copy_digit(&root, "a", "train");
    copy_digit(&root, "b", "train");
    copy_digit(&root, "a", "test");
    let message = error(&root);
    assert_eq!(message, "class 'b' has no folder in the test split");
    fs::create_dir_all(root.join("test/b")).unwrap();
    assert!(
        error(&root).starts_with("no images in class folder"),
        "{}",
        error(&root)
    );
}

#[test]
fn an_unreadable_image_names_the_file() {
    let root = scratch("corrupt");
    copy_digit(&root, "a", "train");
    copy_digit(&root, "a", "test");
    fs::write(root.join("train/a/2.png"), b"this is not a png").unwrap();
    let message = error(&root);
    assert!(
        message.starts_with("cannot read image") && message.contains("2.png"),
        "{message}"
    );
}

#[test]
fn validation_is_held_out_of_training_and_replaces_the_test_split() {
    let full = ImageFolder::load(Path::new("tests/fixtures/mnist6"), 32, Some(5)).unwrap();
    let split = ImageFolder::load(Path::new("tests/fixtures/mnist6"), 32, Some(5))
        .unwrap()
        .hold_out_validation(2)
        .unwrap();
    assert_eq!(split.train.len(), 6 * 3);
    assert_eq!(split.test.len(), 6 * 2);
    for label in 0..6 {
        let train: Vec<_> = full
            .train
            .samples
            .iter()
            .filter(|s| s.label == label)
            .collect();
        let held: Vec<_> = split
            .test
            .samples
            .iter()
            .filter(|s| s.label == label)
            .collect();
        // The last two training images of each class, and none of them is still trained on.
        assert_eq!(held, train[3..].to_vec());
        assert!(held.iter().all(|h| !split.train.samples.contains(h)));
        assert_eq!(
            split
                .train
                .samples
                .iter()
                .filter(|s| s.label == label)
                .count(),
            3
        );
    }
    // No test image is evaluated on.
    assert!(
        split
            .test
            .samples
            .iter()
            .all(|v| !full.test.samples.contains(v))
    );
    let refused = ImageFolder::load(Path::new("tests/fixtures/mnist6"), 32, Some(5))
        .unwrap()
        .hold_out_validation(5);
    assert!(
        refused
            .err()
            .unwrap()
            .to_string()
            .contains("too few to hold 5 out")
    );
}

/// `der bench` refuses settings that cannot work before any step trains, with what would work.
#[test]
fn bench_refuses_a_memory_smaller_than_the_classes_before_training() {
    use clap::Parser;
    use der_studio::tools::cli::{Cli, Command, bench};
    let parse = |extra: &[&str]| {
        let mut argv = vec![
            "der",
            "bench",
            "--data",
            "tests/fixtures/mnist6",
            "--epochs",
            "1",
        ];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            Command::Bench(args) => args,
            _ => unreachable!(),
        }
    };
    // Six classes in steps of two: a memory of 3 holds one image of each of 3 classes only.
    let e = bench(&parse(&["--memory", "3"])).err().expect("refused");
    assert!(
        e.contains("step 2 cannot run") && e.contains("at least 4"),
        "{e}"
    );
    let e = bench(&parse(&["--memory-per-class", "0"]))
        .err()
        .expect("refused");
    assert!(
        e.contains("step 1 cannot run") && e.contains("0 images per class"),
        "{e}"
    );
    let e = bench(&parse(&["--width", "200"])).err().expect("refused");
    assert!(e.contains("from 2 to 64"), "{e}");
}
