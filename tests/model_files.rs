//! Saving and restoring a trained learner through DER Studio's file format, on real MNIST digits:
//! the restored model predicts exactly as the saved one and continues identically, and damaged
//! files are refused with a message instead of a panic.

use std::path::Path;

use burn::tensor::Device;
use der_studio::engine::config::BackboneConfig;
use der_studio::engine::learner::Silent;
use der_studio::engine::{Learner, LearnerConfig, Method, Sample};
use der_studio::format::archive::{Archive, ArchiveError, Body, Entry};
use der_studio::tools::imagefolder::ImageFolder;

fn fixture() -> ImageFolder {
    ImageFolder::load(Path::new("tests/fixtures/mnist6"), 16, None).expect("fixture loads")
}

fn config() -> LearnerConfig {
    LearnerConfig {
        backbone: BackboneConfig {
            input_size: 16,
            width: 4,
            stages: 2,
            blocks_per_stage: 1,
        },
        epochs: 4,
        batch_size: 16,
        memory_total: 20,
        memory_per_class: None,
        relearn_epochs: 3,
        seed: 11,
        // Epochs alone: the fixture's steps stay short.
        min_updates: 0,
        ..LearnerConfig::default()
    }
}

fn predictions(learner: &Learner, samples: &[Sample]) -> Vec<Vec<f32>> {
    let refs: Vec<&Sample> = samples.iter().collect();
    pollster::block_on(learner.predict(&refs)).unwrap()
}

fn saved(learner: &Learner) -> Vec<u8> {
    pollster::block_on(learner.export()).unwrap().encode()
}

fn restored(bytes: &[u8]) -> Result<Learner, ArchiveError> {
    Learner::import(&Archive::decode(bytes)?, Device::flex())
}

#[test]
fn a_restored_learner_predicts_and_continues_exactly_like_the_saved_one() {
    let data = fixture();
    let mut original = Learner::new(config(), Device::flex());
    pollster::block_on(original.learn_step(&data.train.filter_classes(&[0, 1]), &mut Silent))
        .unwrap();
    pollster::block_on(original.learn_step(&data.train.filter_classes(&[2, 3]), &mut Silent))
        .unwrap();

    let bytes = saved(&original);
    let mut copy = restored(&bytes).expect("our own file restores");
    let test = data.test.filter_classes(&[0, 1, 2, 3]).samples;
    assert_eq!(predictions(&copy, &test), predictions(&original, &test));
    assert_eq!(copy.class_order, original.class_order);
    assert_eq!(copy.steps, original.steps);
    assert_eq!(copy.memory, original.memory);
    assert_eq!(copy.network().unwrap().branches.len(), 2);
    // Saved at its pruned size: the file holds the same number of parameters.
    assert_eq!(
        copy.network()
            .unwrap()
            .branches
            .iter()
            .map(|b| b.param_count())
            .sum::<usize>(),
        original
            .network()
            .unwrap()
            .branches
            .iter()
            .map(|b| b.param_count())
            .sum::<usize>()
    );
    // Saving the restored learner gives the same bytes.
    assert_eq!(saved(&copy), bytes);

    // The next step from the file is the next step the original takes.
    let third = data.train.filter_classes(&[4, 5]);
    pollster::block_on(original.learn_step(&third, &mut Silent)).unwrap();
    pollster::block_on(copy.learn_step(&third, &mut Silent)).unwrap();
    let test = data.test.samples.clone();
    assert_eq!(predictions(&copy, &test), predictions(&original, &test));
}

/// A baseline's ordinary network (no channel masks) is saved without gate entries and
/// restored as an ordinary network that predicts exactly as before.
#[test]
fn a_replay_baseline_restores_as_an_ordinary_network() {
    let data = fixture();
    let mut original = Learner::new(
        LearnerConfig {
            method: Method::Replay,
            ..config()
        },
        Device::flex(),
    );
    pollster::block_on(original.learn_step(&data.train.filter_classes(&[0, 1]), &mut Silent))
        .unwrap();
    let bytes = saved(&original);
    let archive = Archive::decode(&bytes).unwrap();
    assert!(
        archive.entries.iter().all(|e| !e.name.contains("gate")),
        "no gate entry: {:?}",
        archive.entries.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
    let copy = restored(&bytes).expect("a baseline's file restores");
    let network = copy.network().unwrap();
    assert!(network.branches.iter().all(|b| !b.is_gated()));
    let test = data.test.filter_classes(&[0, 1]).samples;
    assert_eq!(predictions(&copy, &test), predictions(&original, &test));

    // A baseline saved before ordinary networks has gate entries: it loads with its gates, as
    // it was trained. Every channel on here, so it predicts as the ordinary network does.
    let mut old = Archive::decode(&bytes).unwrap();
    for (name, channels) in [
        ("branch0.stem.gate", 4),
        ("branch0.s0.b0.gate1", 4),
        ("branch0.s0.gate", 4),
        ("branch0.s1.b0.gate1", 8),
        ("branch0.s1.gate", 8),
    ] {
        old.push(Entry::tensor(name, vec![channels], vec![1.0; channels]));
    }
    let gated = restored(&old.encode()).expect("an older baseline's file restores");
    assert!(
        gated
            .network()
            .unwrap()
            .branches
            .iter()
            .all(|b| b.is_gated())
    );
    let (then, now) = (predictions(&gated, &test), predictions(&original, &test));
    for (a, b) in then.iter().flatten().zip(now.iter().flatten()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn damaged_model_files_are_refused_with_a_message() {
    let data = fixture();
    let mut learner = Learner::new(config(), Device::flex());
    pollster::block_on(learner.learn_step(&data.train.filter_classes(&[0, 1]), &mut Silent))
        .unwrap();
    let bytes = saved(&learner);

    // Cut anywhere: refused, never a panic.
    for cut in (0..bytes.len()).step_by(97) {
        assert!(restored(&bytes[..cut]).is_err(), "cut at {cut}");
    }

    // A kernel whose shape no longer fits the layer before it.
    let mut archive = Archive::decode(&bytes).unwrap();
    let entry = archive
        .entries
        .iter_mut()
        .find(|e| e.name == "branch0.s0.b0.conv1.weight")
        .unwrap();
    let Body::F32 { dims, values } = &mut entry.body else {
        panic!("a tensor")
    };
    dims[1] += 1;
    values.extend(std::iter::repeat_n(0.0, dims[0] * dims[2] * dims[3]));
    let err = restored(&archive.encode()).err().expect("refused");
    assert!(matches!(err, ArchiveError::Invalid(_)), "{err}");
    assert!(
        err.to_string().contains("branch0.s0.b0.conv1.weight"),
        "{err}"
    );

    // NaN weights.
    let mut archive = Archive::decode(&bytes).unwrap();
    let entry = archive
        .entries
        .iter_mut()
        .find(|e| e.name == "classifier.bias")
        .unwrap();
    let Body::F32 { values, .. } = &mut entry.body else {
        panic!("a tensor")
    };
    values[0] = f32::NAN;
    assert!(
        restored(&archive.encode())
            .err()
            .unwrap()
            .to_string()
            .contains("NaN")
    );

    // A missing part is named.
    let mut archive = Archive::decode(&bytes).unwrap();
    archive.entries.retain(|e| e.name != "branch0.stem.gate");
    assert_eq!(
        restored(&archive.encode()).err(),
        Some(ArchiveError::Missing("branch0.stem.gate".into()))
    );
}
