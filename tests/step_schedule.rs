//! A step's length on real MNIST digits: with the stopping rule a step whose loss has stopped
//! falling ends early and says so, no sooner than the minimum and never past the limit; without
//! it, and when epochs rather than the update floor set the length, it trains the whole length.

use std::path::Path;

use burn::tensor::Device;
use der_studio::engine::config::BackboneConfig;
use der_studio::engine::learner::Silent;
use der_studio::engine::learner::schedule::MIN_CYCLES;
use der_studio::engine::report::StopReason;
use der_studio::engine::{Learner, LearnerConfig};
use der_studio::tools::imagefolder::ImageFolder;

fn config(stop: bool, min_updates: usize, epochs: usize) -> LearnerConfig {
    LearnerConfig {
        backbone: BackboneConfig {
            input_size: 16,
            width: 4,
            stages: 2,
            blocks_per_stage: 1,
        },
        epochs,
        min_updates,
        mask_period: 25,
        stop_when_learned: stop,
        batch_size: 16,
        memory_total: 20,
        memory_per_class: None,
        relearn_epochs: 2,
        seed: 7,
        ..LearnerConfig::default()
    }
}

fn two_steps(config: LearnerConfig) -> Vec<(usize, Option<StopReason>)> {
    let data = ImageFolder::load(Path::new("tests/fixtures/mnist6"), 16, None).unwrap();
    let mut learner = Learner::new(config, Device::flex());
    [[0, 1], [2, 3]]
        .iter()
        .map(|classes| {
            let s = pollster::block_on(
                learner.learn_step(&data.train.filter_classes(classes), &mut Silent),
            )
            .unwrap();
            (s.updates, s.stop)
        })
        .collect()
}

#[test]
fn a_step_stops_once_its_loss_stops_falling_and_says_why() {
    // Two digits a step of the fixture are learned long before 1,000 updates.
    let stopped = two_steps(config(true, 1000, 1));
    for &(updates, stop) in &stopped {
        assert_eq!(stop, Some(StopReason::Learned), "{stopped:?}");
        assert!(updates < 1000, "{stopped:?}");
        assert!(
            updates >= MIN_CYCLES * 25 && updates % 25 == 0,
            "{stopped:?}"
        );
    }
    // The same steps without the rule train the whole floor.
    assert_eq!(
        two_steps(config(false, 400, 1)),
        vec![(400, Some(StopReason::Fixed)); 2]
    );
    // Epochs set the length (no floor): the step trains them all.
    let by_epochs = two_steps(config(true, 0, 3));
    assert!(
        by_epochs
            .iter()
            .all(|&(u, s)| u > 0 && s == Some(StopReason::Fixed)),
        "{by_epochs:?}"
    );
    println!("stopped after {stopped:?} updates; by epochs {by_epochs:?}");
}
