//! The ONNX export against onnxruntime: a learner trained for two DER steps (two branches, each
//! pruned to widths of its own) is written as ONNX, and onnxruntime's logits for eight images must
//! equal the engine's to 1e-4 (scripts/onnx-check.py, run with `DER_PYTHON`, else `target/python`'s interpreter, else `python3`;
//! `make setup-python` installs onnxruntime into target/python).
#![cfg(feature = "train")]

use std::path::Path;
use std::process::Command;

use burn::tensor::Device;
use der_studio::engine::branch::Branch;
use der_studio::engine::demo::{DEMO_SIZE, DEMO_STEPS, demo_config, demo_images};
use der_studio::engine::folded::{FoldedBranch, FoldedNetwork};
use der_studio::engine::learner::Silent;
use der_studio::engine::onnx_export::onnx_model;
use der_studio::engine::tensor_io::{batch_tensor, read_f32};
use der_studio::engine::{Learner, LearnerConfig, Sample};

const IMAGES: usize = 8;
const TOLERANCE: f64 = 1e-4;

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Output channels of each convolution on the main path: the stem, then each block's two.
fn widths(branch: &FoldedBranch) -> Vec<usize> {
    let mut widths = vec![branch.stem().weight.val().dims()[0]];
    for block in branch.blocks() {
        let (conv1, conv2, _) = block.convolutions();
        widths.extend([conv1, conv2].map(|c| c.weight.val().dims()[0]));
    }
    widths
}

fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

#[test]
fn onnxruntime_computes_the_engines_logits() {
    let device = Device::flex();
    // The engine check's steps, longer: ten epochs let the masks close channels, so each branch
    // is pruned to widths of its own (two epochs prune nothing).
    let config = LearnerConfig {
        epochs: 10,
        ..demo_config(5)
    };
    let unpruned = widths(&FoldedBranch::fold(&Branch::new(&config.backbone, &device)));
    let mut learner = Learner::new(config, device.clone());
    let data = demo_images(DEMO_SIZE, 5);
    for classes in DEMO_STEPS {
        pollster::block_on(learner.learn_step(&data.filter_classes(&classes), &mut Silent))
            .unwrap();
    }
    let network = FoldedNetwork::fold(learner.network().unwrap());
    let pruned: Vec<Vec<usize>> = network.branches().iter().map(widths).collect();
    println!("convolution widths: {unpruned:?} unpruned, {pruned:?} after pruning");
    assert_eq!(
        pruned.len(),
        2,
        "two steps, two branches: Concat is written"
    );
    assert!(pruned.iter().all(|w| w != &unpruned), "every branch pruned");

    // Images the learner never saw, every class.
    let held_out = demo_images(DEMO_SIZE, 6);
    let images: Vec<&Sample> = held_out.samples.iter().take(IMAGES).collect();
    let (x, _) = batch_tensor(&images, DEMO_SIZE, &device);
    let inputs = pollster::block_on(read_f32(x.clone())).unwrap();
    let logits = pollster::block_on(read_f32(network.logits(x))).unwrap();
    let classes = learner.class_order.len();
    assert_eq!(logits.len(), IMAGES * classes);
    // The folded network is what the learner predicts with.
    let predicted = pollster::block_on(learner.predict(&images)).unwrap();
    for (row, probabilities) in logits.chunks(classes).zip(&predicted) {
        for (a, b) in softmax(row).iter().zip(probabilities) {
            assert!((a - b).abs() < 1e-5, "{a} against the learner's {b}");
        }
    }

    let metadata = vec![
        (
            "classes".to_string(),
            r#"["north-west","north-east","south-west","south-east"]"#.to_string(),
        ),
        (
            "normalisation".to_string(),
            r#"{"scale":0.00784313725490196,"offset":-1}"#.to_string(),
        ),
    ];
    let model = pollster::block_on(onnx_model(&network, DEMO_SIZE, &metadata)).unwrap();

    let folder = std::env::temp_dir().join(format!("der-onnx-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("model.onnx"), &model).unwrap();
    std::fs::write(folder.join("inputs.f32"), f32_bytes(&inputs)).unwrap();
    std::fs::write(folder.join("logits.f32"), f32_bytes(&logits)).unwrap();
    let check = serde_json::json!({
        "inputs": [IMAGES, 3, DEMO_SIZE, DEMO_SIZE],
        "logits": [IMAGES, classes],
        "metadata": metadata.iter().cloned().collect::<std::collections::HashMap<_, _>>(),
        "tolerance": TOLERANCE,
    });
    std::fs::write(folder.join("check.json"), check.to_string()).unwrap();

    // `make setup-python`'s interpreter when it exists, so a plain `cargo test` finds it too.
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python/bin/python");
    let python = std::env::var_os("DER_PYTHON").unwrap_or_else(|| {
        if venv.exists() {
            venv.into_os_string()
        } else {
            "python3".into()
        }
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/onnx-check.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&folder)
        .output()
        .unwrap_or_else(|e| {
            panic!("could not run {python:?} ({e}): set DER_PYTHON or run `make setup-python`")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    if output.status.code() == Some(3) {
        panic!(
            "onnxruntime is missing: run `make setup-python` (pip install onnxruntime numpy into target/python)"
        );
    }
    assert!(
        output.status.success(),
        "onnxruntime's logits differ from the engine's ({}); the files are in {}",
        output.status,
        folder.display()
    );
    std::fs::remove_dir_all(&folder).unwrap();
}
