//! A step that fails — a loss that becomes NaN, or a Cancel at any report — leaves the learner
//! exactly as it was after the last completed step (checked byte for byte through its saved
//! file), and the message says what to do.

use std::path::Path;

use burn::tensor::Device;
use der_studio::engine::config::BackboneConfig;
use der_studio::engine::learner::{Control, Observer, Progress, Silent, StepError};
use der_studio::engine::{Learner, LearnerConfig};
use der_studio::tools::imagefolder::ImageFolder;

fn trained_one_step() -> (Learner, ImageFolder) {
    let data =
        ImageFolder::load(Path::new("tests/fixtures/mnist6"), 16, None).expect("fixture loads");
    let config = LearnerConfig {
        backbone: BackboneConfig {
            input_size: 16,
            width: 4,
            stages: 2,
            blocks_per_stage: 1,
        },
        epochs: 3,
        batch_size: 16,
        memory_total: 20,
        memory_per_class: None,
        relearn_epochs: 2,
        // Epochs alone: the fixture's steps stay short.
        min_updates: 0,
        ..LearnerConfig::default()
    };
    let mut learner = Learner::new(config, Device::flex());
    pollster::block_on(learner.learn_step(&data.train.filter_classes(&[0, 1]), &mut Silent))
        .unwrap();
    (learner, data)
}

fn saved(learner: &Learner) -> Vec<u8> {
    pollster::block_on(learner.export()).unwrap().encode()
}

#[test]
fn a_nan_loss_stops_the_step_and_keeps_the_previous_model() {
    let (mut learner, data) = trained_one_step();
    let before = saved(&learner);
    learner.config.learning_rate = 1e12;
    let err =
        pollster::block_on(learner.learn_step(&data.train.filter_classes(&[2, 3]), &mut Silent))
            .unwrap_err();
    assert!(matches!(err, StepError::NonFiniteLoss { .. }), "{err}");
    assert!(err.to_string().contains("lower learning rate"), "{err}");
    learner.config.learning_rate = LearnerConfig::default().learning_rate;
    assert_eq!(
        saved(&learner),
        before,
        "the model is as it was after step 1"
    );
    // And the same classes can be learned afterwards.
    learner.config.learning_rate = 0.05;
    pollster::block_on(learner.learn_step(&data.train.filter_classes(&[2, 3]), &mut Silent))
        .unwrap();
    assert_eq!(learner.steps.len(), 2);
}

/// Cancels at the n-th progress report.
struct CancelAt {
    reports: usize,
    at: usize,
}

impl Observer for CancelAt {
    async fn progress(&mut self, _: &Progress) -> Control {
        self.reports += 1;
        if self.reports == self.at {
            Control::Cancel
        } else {
            Control::Continue
        }
    }
    fn report_every(&self) -> usize {
        1
    }
}

#[test]
fn cancel_at_any_report_keeps_the_previous_model() {
    let (mut learner, data) = trained_one_step();
    let before = saved(&learner);
    let next = data.train.filter_classes(&[2, 3]);
    // First batch, mid-training, and the phases after training (prune, re-learn, memory).
    let mut total = CancelAt {
        reports: 0,
        at: usize::MAX,
    };
    let mut probe = Learner::import(
        &der_studio::format::archive::Archive::decode(&before).unwrap(),
        Device::flex(),
    )
    .unwrap();
    pollster::block_on(probe.learn_step(&next, &mut total)).unwrap();
    for at in [
        1,
        total.reports / 2,
        total.reports - 2,
        total.reports - 1,
        total.reports,
    ] {
        let err = pollster::block_on(learner.learn_step(&next, &mut CancelAt { reports: 0, at }))
            .unwrap_err();
        assert_eq!(
            err,
            StepError::Cancelled,
            "cancel at report {at} of {}",
            total.reports
        );
        assert_eq!(
            saved(&learner),
            before,
            "cancel at report {at} changed the model"
        );
    }
}

/// Counts the training reports.
struct Paced {
    pace: Option<std::time::Duration>,
    training_reports: usize,
}

impl Observer for Paced {
    async fn progress(&mut self, progress: &Progress) -> Control {
        if progress.phase == der_studio::engine::report::Phase::Train {
            self.training_reports += 1;
        }
        Control::Continue
    }
    fn report_every(&self) -> usize {
        1
    }
    fn report_pace(&self) -> Option<std::time::Duration> {
        self.pace
    }
}

#[test]
fn a_pace_spaces_the_reports_and_each_epoch_still_reports() {
    let (learner, data) = trained_one_step();
    let next = data.train.filter_classes(&[2, 3]);
    let run = |pace| {
        let mut probe = learner.clone();
        let mut observer = Paced {
            pace,
            training_reports: 0,
        };
        pollster::block_on(probe.learn_step(&next, &mut observer)).unwrap();
        observer.training_reports
    };
    let every_batch = run(None);
    let hourly = run(Some(std::time::Duration::from_secs(3600)));
    let epochs = learner.config.epochs;
    assert!(
        every_batch > epochs,
        "a report per batch: {every_batch} over {epochs} epochs"
    );
    assert_eq!(
        hourly, epochs,
        "paced by an hour: only each epoch's last batch reports"
    );
}
