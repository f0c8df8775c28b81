//! One classroom step in the worker: DER's step (and each baseline's, when comparing) on clones
//! of the committed learners, described for the page, then committed at once.

use burn::tensor::Device;

use super::outbox::post;
use super::state::{BaselineLearner, with_state};
use crate::classroom::outcome::{Baseline, Comparison};
use crate::engine::learner::{Control, Observer, Progress, StepError};
use crate::engine::metrics::confusion;
use crate::engine::prune::ChannelSelection;
use crate::engine::tensor_io::ReadError;
use crate::engine::{AccuracyMatrix, Dataset, Learner, LearnerConfig};
use crate::protocol::{BaselineOutcome, BranchView, FromWorker, StepOutcome, WorkerError};

/// Lets the worker's event loop run (so a Cancel message is heard) between reports.
pub(super) async fn yield_now() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

/// Streams progress to the page and stops when the page asked to cancel.
struct PageObserver {
    /// The baseline learning, or `None` for DER.
    baseline: Option<Baseline>,
}

impl Observer for PageObserver {
    async fn progress(&mut self, progress: &Progress) -> Control {
        post(&FromWorker::StepProgress {
            progress: progress.clone(),
            baseline: self.baseline,
        });
        yield_now().await;
        if with_state(|s| std::mem::take(&mut s.cancel)) {
            Control::Cancel
        } else {
            Control::Continue
        }
    }
    /// About ten reports a second on any device: the diagram's cells follow the masks they carry
    /// (one read per report, none extra), and a fast GPU is not stalled by a read every batch.
    fn report_every(&self) -> usize {
        1
    }
    fn report_pace(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(100))
    }
}

/// A failing device (a lost or failing GPU) is a device fault: the page then offers the CPU
/// and can run the step again there.
pub(super) fn step_error(e: StepError) -> WorkerError {
    WorkerError {
        device_fault: matches!(e, StepError::Device(_)),
        message: e.to_string(),
    }
}

pub(super) fn read_error(e: ReadError) -> WorkerError {
    WorkerError::device(e.to_string())
}

/// Runs one step on the worker's learner (and on each baseline of `comparison`) and describes
/// the result for the page. Either every learner takes the step or none does.
pub(super) async fn learn(
    config: LearnerConfig,
    device: Device,
    train: Dataset,
    test: Dataset,
    comparison: Comparison,
) -> Result<StepOutcome, WorkerError> {
    // Clones: the committed learners stay in the state (and keep answering predictions) until
    // this step has fully succeeded. No restore can run meanwhile (the worker is busy).
    let (learner, matrix, committed_baselines) =
        with_state(|s| (s.learner.clone(), s.matrix.clone(), s.baselines.clone()));
    let mut learner = learner.unwrap_or_else(|| Learner::new(config.clone(), device.clone()));
    learner.update_step_settings(&config);
    learner
        .learn_step(&train, &mut PageObserver { baseline: None })
        .await
        .map_err(step_error)?;
    let mut outcome = describe(
        &learner,
        matrix,
        learner.steps.last().cloned().expect("a step"),
        &test,
    )
    .await?;
    let mut baselines = Vec::new();
    let mut baseline_models = Vec::new();
    for &kind in comparison.baselines() {
        let committed = committed_baselines
            .iter()
            .find(|b| b.baseline == kind)
            .cloned();
        let (mut baseline, matrix) = match committed {
            Some(b) => (b.learner, b.matrix),
            None => (
                Learner::new(
                    LearnerConfig {
                        method: kind.method(),
                        ..config.clone()
                    },
                    device.clone(),
                ),
                AccuracyMatrix::default(),
            ),
        };
        baseline.update_step_settings(&config);
        // Nothing is committed yet: a failure or Cancel here leaves every learner as it was.
        baseline
            .learn_step(
                &train,
                &mut PageObserver {
                    baseline: Some(kind),
                },
            )
            .await
            .map_err(step_error)?;
        let pairs = baseline.evaluate(&test).await.map_err(read_error)?;
        let mut matrix = matrix;
        matrix.push_step(baseline.steps.len(), &pairs, |label| {
            baseline.step_of(label).unwrap_or(0)
        });
        outcome.set_baseline(
            kind,
            BaselineOutcome {
                accuracy_rows: matrix.rows.clone(),
                accuracy_seen: matrix.seen.clone(),
                average_incremental_accuracy: matrix.average_incremental_accuracy(),
                forgetting: matrix.forgetting(),
            },
        );
        baseline_models.push((kind, baseline.export().await.map_err(read_error)?.encode()));
        baselines.push(BaselineLearner {
            baseline: kind,
            learner: baseline,
            matrix,
        });
    }
    let model = learner
        .export()
        .await
        .map_err(|e| WorkerError::device(format!("The model could not be saved: {e}")))?
        .encode();
    // Commit everything at once, with no await in between.
    with_state(|s| {
        s.matrix = AccuracyMatrix {
            rows: outcome.accuracy_rows.clone(),
            seen: outcome.accuracy_seen.clone(),
        };
        s.learner = Some(learner);
        s.baselines = baselines;
    });
    post(&FromWorker::ModelSaved {
        model,
        baselines: baseline_models,
    });
    Ok(outcome)
}

/// `matrix`: the committed accuracy history; this step's row is added to a copy, which
/// `learn` commits only if the whole step succeeds.
pub(super) async fn describe(
    learner: &Learner,
    mut matrix: AccuracyMatrix,
    summary: crate::engine::learner::StepSummary,
    test: &Dataset,
) -> Result<StepOutcome, WorkerError> {
    let pairs = learner.evaluate(test).await.map_err(read_error)?;
    let steps = learner.steps.len();
    matrix.push_step(steps, &pairs, |label| learner.step_of(label).unwrap_or(0));
    let position = |label: usize| {
        learner
            .class_order
            .iter()
            .position(|&c| c == label)
            .unwrap_or(usize::MAX)
    };
    let indexed: Vec<(usize, usize)> = pairs
        .iter()
        .map(|&(t, p)| (position(t), position(p)))
        .collect();
    let network = learner
        .network()
        .ok_or_else(|| WorkerError::input("no network after a step"))?;
    let last = network.branches.len() - 1;
    let mut branches = Vec::with_capacity(network.branches.len());
    for (i, branch) in network.branches.iter().enumerate() {
        let kept = ChannelSelection::from_masks(branch)
            .await
            .map_err(read_error)?
            .counts();
        // Steps map to branches one to one (fine-tuning keeps a single branch).
        let total = learner
            .steps
            .get(i)
            .map(|s| s.channels_before.clone())
            .unwrap_or_else(|| kept.clone());
        branches.push(BranchView {
            kept,
            total,
            gate_names: branch.gates().into_iter().map(|(n, _)| n).collect(),
            params: branch.param_count(),
            frozen: i < last,
        });
    }
    Ok(StepOutcome {
        summary,
        accuracy_rows: matrix.rows.clone(),
        accuracy_seen: matrix.seen.clone(),
        average_incremental_accuracy: matrix.average_incremental_accuracy(),
        forgetting: matrix.forgetting(),
        class_order: learner.class_order.clone(),
        confusion: confusion(&indexed, learner.class_order.len()),
        branches,
        memory: learner
            .memory
            .by_class
            .iter()
            .map(|(&c, s)| (c, s.clone()))
            .collect(),
        finetune: None,
        replay: None,
    })
}
