//! Explaining an answer and rewinding the model, on real MNIST digits over three DER steps:
//! each branch's term plus the bias is the logit the network computes, the model after an
//! earlier step answers exactly as it did then (also after saving and restoring), and the
//! occlusion map is the drop in probability when a square hides those pixels.

use std::path::Path;

use burn::tensor::Device;
use der_studio::engine::config::BackboneConfig;
use der_studio::engine::learner::Silent;
use der_studio::engine::learner::explain::AskError;
use der_studio::engine::{Learner, LearnerConfig, Method, Sample};
use der_studio::format::archive::Archive;
use der_studio::tools::imagefolder::ImageFolder;

fn fixture() -> ImageFolder {
    ImageFolder::load(Path::new("tests/fixtures/mnist6"), 16, None).expect("fixture loads")
}

fn config(method: Method) -> LearnerConfig {
    LearnerConfig {
        method,
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
        seed: 5,
        min_updates: 0,
        ..LearnerConfig::default()
    }
}

const STEPS: [[usize; 2]; 3] = [[0, 1], [2, 3], [4, 5]];

/// The test images of every class, and per step (after it): each image's probabilities and
/// answer from the model as it was then.
struct History {
    probabilities: Vec<Vec<Vec<f32>>>,
    answers: Vec<Vec<usize>>,
}

fn learn_three_steps(data: &ImageFolder) -> (Learner, History) {
    let mut learner = Learner::new(config(Method::Der), Device::flex());
    let test: Vec<&Sample> = data.test.samples.iter().collect();
    let mut history = History {
        probabilities: Vec::new(),
        answers: Vec::new(),
    };
    for classes in STEPS {
        pollster::block_on(learner.learn_step(&data.train.filter_classes(&classes), &mut Silent))
            .unwrap();
        history
            .probabilities
            .push(pollster::block_on(learner.predict(&test)).unwrap());
        history
            .answers
            .push(pollster::block_on(learner.answers_after(&test, None)).unwrap());
    }
    (learner, history)
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-4 * (1.0 + b.abs())
}

#[test]
fn each_branchs_term_plus_the_bias_is_the_logit_and_the_model_rewinds_exactly() {
    let data = fixture();
    let (learner, history) = learn_three_steps(&data);
    let test: Vec<&Sample> = data.test.samples.iter().collect();

    // The split: one term per branch, and the terms plus the bias give the logit the network
    // computed in one pass, for every test image and at every step.
    let mut strongest = std::collections::BTreeSet::new();
    for step in 1..=3 {
        for (i, sample) in test.iter().enumerate() {
            let answer = pollster::block_on(learner.explain(sample, Some(step))).unwrap();
            let e = &answer.explanation;
            assert_eq!(e.contributions.len(), step);
            let sum: f32 = e.contributions.iter().sum::<f32>() + e.bias;
            assert!(
                close(sum, e.logit),
                "step {step} image {i}: {sum} vs {}",
                e.logit
            );
            // The winner is the answer the model gave then, with the same probabilities.
            let then = &history.probabilities[step - 1][i];
            assert_eq!(answer.probabilities.len(), then.len());
            for (p, q) in answer.probabilities.iter().zip(then) {
                assert!(close(*p, *q), "step {step} image {i}: {p} vs {q}");
            }
            let order = learner.class_order_after(Some(step));
            assert_eq!(order[e.output], history.answers[step - 1][i]);
            if step == 3 {
                strongest.insert(e.strongest().unwrap());
            }
        }
    }
    // Not a constant: after three steps, different images are carried by different branches.
    assert!(
        strongest.len() >= 2,
        "every image was carried by branch {strongest:?}"
    );

    // Rewinding: what the model after each step says of every test image, even of classes it
    // had not seen then, is what it said at the time.
    for step in 1..=3 {
        let now = pollster::block_on(learner.answers_after(&test, Some(step))).unwrap();
        assert_eq!(now, history.answers[step - 1], "after step {step}");
    }
    assert_eq!(learner.class_order_after(Some(1)), &[0, 1]);
    assert_eq!(learner.rewindable_steps(), vec![1, 2, 3]);
    // The current model is untouched by rewinding.
    assert_eq!(
        pollster::block_on(learner.answers_after(&test, None)).unwrap(),
        history.answers[2]
    );
    for bad in [0, 4] {
        assert!(matches!(
            pollster::block_on(learner.answers_after(&test, Some(bad))),
            Err(AskError::CannotRewind(_))
        ));
    }

    // Saved and restored, the steps' classifiers come back: the same answers at every step.
    let bytes = pollster::block_on(learner.export()).unwrap().encode();
    let restored = Learner::import(&Archive::decode(&bytes).unwrap(), Device::flex()).unwrap();
    for step in 1..=3 {
        let again = pollster::block_on(restored.answers_after(&test, Some(step))).unwrap();
        assert_eq!(
            again,
            history.answers[step - 1],
            "restored, after step {step}"
        );
    }
}

#[test]
fn the_occlusion_map_is_the_drop_in_probability_under_each_square() {
    let data = fixture();
    let mut learner = Learner::new(config(Method::Der), Device::flex());
    for classes in &STEPS[..2] {
        pollster::block_on(learner.learn_step(&data.train.filter_classes(classes), &mut Silent))
            .unwrap();
    }
    let sample = &data.test.samples[3];
    let map = pollster::block_on(learner.occlusion(sample, None)).unwrap();
    assert_eq!((map.size, map.patch, map.stride), (16, 4, 2));
    assert_eq!(map.images, 49);
    assert_eq!(map.drop.len(), 16 * 16);
    let answer = pollster::block_on(learner.explain(sample, None)).unwrap();
    assert_eq!(map.output, answer.explanation.output);
    assert!(close(map.probability, answer.probabilities[map.output]));
    // The top-left 2×2 pixels are hidden by the first square alone: their value is the drop
    // when that square is grey, computed here independently.
    let mut hidden = sample.clone();
    for c in 0..3 {
        for y in 0..4 {
            for x in 0..4 {
                hidden.pixels[c * 256 + y * 16 + x] = 128;
            }
        }
    }
    let p = pollster::block_on(learner.predict(&[&hidden])).unwrap()[0][map.output];
    assert!(
        close(map.drop[0], map.probability - p),
        "{} vs {}",
        map.drop[0],
        map.probability - p
    );
    assert!(close(map.drop[17], map.drop[0]));
    // A digit on a dark background: hiding its strokes matters more than hiding a corner.
    let centre = map.drop[8 * 16 + 8];
    assert!(map.peak() > 0.0 && map.peak() >= centre);
    println!(
        "occlusion at 16×16, 2 branches: {} images in {:.0} ms, peak drop {:.3}",
        map.images,
        map.millis,
        map.peak()
    );
}

#[test]
fn only_der_rewinds() {
    let data = fixture();
    let mut learner = Learner::new(config(Method::Replay), Device::flex());
    for classes in &STEPS[..2] {
        pollster::block_on(learner.learn_step(&data.train.filter_classes(classes), &mut Silent))
            .unwrap();
    }
    let test: Vec<&Sample> = data.test.samples.iter().collect();
    let err = pollster::block_on(learner.answers_after(&test, Some(1))).unwrap_err();
    assert!(err.to_string().contains("only DER"), "{err}");
    assert_eq!(learner.rewindable_steps(), vec![2]);
    // The latest model always answers, with its explanation (one network: one term).
    let answer = pollster::block_on(learner.explain(test[0], None)).unwrap();
    assert_eq!(answer.explanation.contributions.len(), 1);
}
