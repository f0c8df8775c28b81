//! One class-incremental step, end to end: expand → train with masks → prune → re-learn the
//! classifier on a balanced set → update the exemplar memory.
//!
//! The step works on copies and only replaces the learner's state when it completes, so a
//! cancelled or failed step leaves the model exactly as it was.

use std::future::Future;

use burn::module::Module;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Tensor};
use web_time::Instant;

use super::branch::Branch;
use super::config::LearnerConfig;
use super::data::{Dataset, Sample};
pub use super::report::{Phase, Progress, StepSummary};
use super::gate::{compensate_gradient, mask_scale, ChannelGate, GateMode, LOGIT_CLAMP};
use super::head::Head;
use super::memory::{herding, Memory};
use super::network::DerNetwork;
use super::prune::{rebuild, ChannelSelection};
use super::rng::SplitMix64;
use super::seeding::{draw_device, seeded_module};
use super::tensor_io::{batch_tensor, one_hot, read_f32, read_i64, ReadError};

/// What an observer wants after a progress report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Cancel,
}

/// Receives progress during a step and may cancel it. Async so a browser worker can yield to
/// its event loop (and hear a Cancel message) at every report.
pub trait Observer {
    fn progress(&mut self, progress: &Progress) -> impl Future<Output = Control>;
    /// Batches between reports.
    fn report_every(&self) -> usize {
        5
    }
}

/// An observer that never cancels and ignores reports.
pub struct Silent;

impl Observer for Silent {
    async fn progress(&mut self, _: &Progress) -> Control {
        Control::Continue
    }
    fn report_every(&self) -> usize {
        usize::MAX
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepError {
    NoSamples,
    ClassAlreadyLearned(usize),
    FirstStepNeedsTwoClasses,
    Cancelled,
    NonFiniteLoss { epoch: usize },
    Device(ReadError),
    /// Settings that cannot work for this step (`LearnerConfig::check_for_step`).
    Settings(String),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::NoSamples => write!(f, "this step has no training images"),
            StepError::ClassAlreadyLearned(c) => write!(f, "class {c} was already learned in an earlier step"),
            StepError::FirstStepNeedsTwoClasses => {
                write!(f, "the first step needs at least two classes to tell apart")
            }
            StepError::Cancelled => write!(f, "the step was cancelled; the model is as it was before"),
            StepError::NonFiniteLoss { epoch } => write!(
                f,
                "the loss became NaN or infinite in epoch {}; the previous model was kept — try a lower learning rate",
                epoch + 1
            ),
            StepError::Device(e) => write!(f, "{e}"),
            StepError::Settings(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for StepError {}

impl From<ReadError> for StepError {
    fn from(e: ReadError) -> Self {
        StepError::Device(e)
    }
}

/// Cloning is cheap (tensors are shared) and safe: a step builds new modules and never changes
/// the committed ones, so a clone taken before a step is the model as it was.
#[derive(Clone)]
pub struct Learner {
    pub config: LearnerConfig,
    /// The plain device; training wraps it with `.autodiff()`.
    device: Device,
    /// The trained network, on the autodiff device.
    network: Option<DerNetwork>,
    /// An inference snapshot of `network` (no autodiff, binary masks, BatchNorm in eval).
    inference: Option<DerNetwork>,
    /// The newest branch before pruning: the next branch starts from these weights.
    pub(super) init_source: Option<Branch>,
    /// Output index → global label, in the order classes were learned.
    pub class_order: Vec<usize>,
    pub steps: Vec<StepSummary>,
    pub memory: Memory,
}

impl Learner {
    /// Takes the settings a user may change between steps (epochs, learning rate, batch size,
    /// loss weights, memory, re-learning); the branch shape, the method and the seed stay as
    /// the first step fixed them.
    pub fn update_step_settings(&mut self, config: &LearnerConfig) {
        self.config = LearnerConfig {
            method: self.config.method,
            backbone: self.config.backbone.clone(),
            seed: self.config.seed,
            ..config.clone()
        };
    }

    pub fn new(config: LearnerConfig, device: Device) -> Self {
        Self {
            config,
            device,
            network: None,
            inference: None,
            init_source: None,
            class_order: Vec::new(),
            steps: Vec::new(),
            memory: Memory::default(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The parts a saved model holds: the trained network and the next branch's initial weights.
    pub(super) fn saved_parts(&self) -> (Option<&DerNetwork>, Option<&Branch>) {
        (self.network.as_ref(), self.init_source.as_ref())
    }

    /// Installs a network read from a file (on the autodiff device) and its inference copy.
    pub(super) fn restore_network(&mut self, network: DerNetwork) {
        self.inference = Some(network.valid());
        self.network = Some(network);
    }

    pub fn network(&self) -> Option<&DerNetwork> {
        self.network.as_ref()
    }

    /// Learns the classes of `train` as one new step.
    pub async fn learn_step<O: Observer>(
        &mut self,
        train: &Dataset,
        observer: &mut O,
    ) -> Result<StepSummary, StepError> {
        let new_classes = train.classes();
        if train.is_empty() {
            return Err(StepError::NoSamples);
        }
        if let Some(&c) = new_classes.iter().find(|c| self.class_order.contains(c)) {
            return Err(StepError::ClassAlreadyLearned(c));
        }
        if self.network.is_none() && new_classes.len() < 2 {
            return Err(StepError::FirstStepNeedsTwoClasses);
        }
        self.config.check_for_step(self.class_order.len() + new_classes.len(), train.len() + self.memory.len()).map_err(StepError::Settings)?;

        let start = Instant::now();
        let step = self.steps.len();
        let config = self.config.clone();
        let train_device = self.device.clone().autodiff();
        let mut rng = SplitMix64::new(config.seed.wrapping_add(1000 + step as u64));

        let old_classes = self.class_order.len();
        let mut class_order = self.class_order.clone();
        class_order.extend(&new_classes);
        let index_of = |label: usize| class_order.iter().position(|&c| c == label).unwrap();

        let mut network = seeded_module(&draw_device(), config.seed.wrapping_add(step as u64), || {
            self.expanded(new_classes.len(), class_order.len(), &train_device)
        });

        // Training set: the new classes plus the replayed exemplars.
        let mut training: Vec<&Sample> = train.samples.iter().collect();
        if config.method.uses_memory() {
            training.extend(self.memory.samples());
        }
        let size = train.size;
        let lambda_aux = if network.aux.is_some() { config.lambda_aux } else { 0.0 };
        let lambda_sparsity = config.effective_lambda_sparsity();

        let batch_size = config.batch_size.max(2);
        // A last batch of one image would give BatchNorm a zero variance: drop it.
        let batches = (training.len() / batch_size + usize::from(training.len() % batch_size >= 2)).max(1);
        let total_iterations = (config.epochs * batches).max(1);
        let mut optim = SgdConfig::new().with_momentum(Some(MomentumConfig::new().with_dampening(0.0))).init();
        let report_every = observer.report_every().max(1);
        let mut order: Vec<usize> = (0..training.len()).collect();
        let mut stats = StatsAccumulator::default();
        let frozen = frozen_features(&network, &training, size, &train_device);

        for epoch in 0..config.epochs {
            rng.shuffle(&mut order);
            for batch in 0..batches {
                let chunk = &order[batch * batch_size..((batch + 1) * batch_size).min(order.len())];
                let images: Vec<&Sample> = chunk.iter().map(|&i| training[i]).collect();
                let (x, labels) = batch_tensor(&images, size, &train_device);
                let targets: Vec<usize> = labels.iter().map(|&l| index_of(l)).collect();
                let scale = mask_scale(batch, batches, config.s_max);
                let mode = GateMode::Soft { scale };

                let frozen_rows = frozen
                    .as_ref()
                    .map(|f| f.clone().select(0, crate::engine::tensor_io::indices(chunk, &train_device)));
                let forward = network.forward_with_frozen(x, frozen_rows, mode);
                let loss_classifier =
                    cross_entropy(forward.logits.clone(), &targets, class_order.len(), &train_device);
                let mut loss = loss_classifier.clone();
                let mut loss_aux = None;
                if let (Some(aux_logits), true) = (forward.aux_logits, lambda_aux > 0.0) {
                    // Old classes → 0, new class j → 1 + j.
                    let aux_targets: Vec<usize> =
                        targets.iter().map(|&t| if t < old_classes { 0 } else { 1 + t - old_classes }).collect();
                    let l = cross_entropy(aux_logits, &aux_targets, new_classes.len() + 1, &train_device);
                    loss = loss.add(l.clone().mul_scalar(lambda_aux));
                    loss_aux = Some(l);
                }
                let newest = network.branches.last().unwrap();
                let loss_sparsity = newest.sparsity_loss(mode);
                if lambda_sparsity > 0.0 {
                    loss = loss.add(loss_sparsity.clone().mul_scalar(lambda_sparsity));
                }
                let correct = forward
                    .logits
                    .detach()
                    .argmax(1)
                    .reshape([targets.len()])
                    .equal(crate::engine::tensor_io::indices(&targets, &train_device))
                    .float()
                    .sum();
                stats.add(&loss, &loss_classifier, loss_aux.as_ref(), &loss_sparsity, correct, targets.len());

                let mut grads = GradientsParams::from_grads(loss.backward(), &network);
                for (_, gate) in newest.gates() {
                    compensate(&mut grads, gate, scale, config.s_max);
                }
                let iteration = epoch * batches + batch;
                let lr = cosine(config.learning_rate, iteration, total_iterations);
                network = optim.step(lr, network, grads);
                network.branches.last_mut().unwrap().for_each_gate_mut(clamp_logits);

                let last_batch = batch + 1 == batches;
                if (batch + 1) % report_every == 0 || last_batch {
                    let newest = network.branches.last().unwrap();
                    let progress = stats
                        .report(newest, mode, (epoch, config.epochs, batch + 1, batches), start.elapsed().as_secs_f64())
                        .await?;
                    if !progress.loss.is_finite() {
                        return Err(StepError::NonFiniteLoss { epoch });
                    }
                    if observer.progress(&progress).await == Control::Cancel {
                        return Err(StepError::Cancelled);
                    }
                }
            }
        }

        recalibrate_batch_norm(&network, &training, size, batch_size, &train_device, &mut rng);

        // Prune the newest branch: remove the channels its binary masks switched off.
        let newest = network.branches.last().unwrap();
        let unpruned = rebuild(newest, &ChannelSelection::all(newest), &train_device);
        let params_before_prune = network.param_count();
        let branch_params_before = newest.param_count();
        let branch_macs_before = newest.macs(size);
        let channels_before = ChannelSelection::all(newest).counts();
        if config.method.prunes() {
            network = prune_newest(network, &train_device).await?;
        }
        let newest = network.branches.last().unwrap();
        let summary = StepSummary {
            step,
            classes: new_classes.clone(),
            params_before_prune,
            params_after_prune: network.param_count(),
            branch_params_before,
            branch_params_after: newest.param_count(),
            branch_macs_before,
            branch_macs_after: newest.macs(size),
            channels_before,
            // After pruning the branch holds exactly the kept channels; without it, all of them.
            channels_after: ChannelSelection::all(newest).counts(),
            train_seconds: 0.0,
            epochs: config.epochs,
        };
        if observer.progress(&Progress::phase(Phase::Prune, start.elapsed().as_secs_f64())).await == Control::Cancel {
            return Err(StepError::Cancelled);
        }

        // Stage 2: re-learn the classifier on a class-balanced set.
        let per_class = config.exemplars_per_class(class_order.len());
        if step > 0 && config.method.expands() && config.relearn_epochs > 0 {
            let mut balanced: Vec<&Sample> = Vec::new();
            for exemplars in self.memory.by_class.values() {
                balanced.extend(exemplars.iter().take(per_class));
            }
            for &class in &new_classes {
                let mut of_class: Vec<&Sample> = train.samples.iter().filter(|s| s.label == class).collect();
                rng.shuffle(&mut of_class);
                balanced.extend(of_class.into_iter().take(per_class.max(1)));
            }
            network.classifier = relearn_classifier(&network, &balanced, &index_of, class_order.len(), &config, &self.device, &mut rng);
            if observer.progress(&Progress::phase(Phase::Relearn, start.elapsed().as_secs_f64())).await
                == Control::Cancel
            {
                return Err(StepError::Cancelled);
            }
        }

        // Update the memory by herding on the new network's features.
        let inference = network.valid();
        let mut memory = self.memory.clone();
        if config.method.uses_memory() {
            memory.shrink_to(per_class);
            for &class in &new_classes {
                let of_class: Vec<&Sample> = train.samples.iter().filter(|s| s.label == class).collect();
                let features = features_of(&inference, &of_class, size, &self.device).await?;
                let chosen = herding(&features, per_class);
                memory.by_class.insert(class, chosen.into_iter().map(|i| of_class[i].clone()).collect());
            }
        }

        let mut summary = summary;
        summary.train_seconds = start.elapsed().as_secs_f64();
        // Commit.
        self.network = Some(network);
        self.inference = Some(inference);
        if config.method.expands() {
            self.init_source = Some(unpruned);
        }
        self.class_order = class_order;
        self.memory = memory;
        self.steps.push(summary.clone());
        Ok(summary)
    }

    /// The network for the next step: old branches frozen, a new branch initialised from the
    /// previous one's weights (all channels on), grown classifier and a fresh auxiliary head.
    fn expanded(&self, new_count: usize, total: usize, device: &Device) -> DerNetwork {
        let Some(previous) = &self.network else {
            return DerNetwork::drawn_for(&self.config.backbone, total, device);
        };
        if !self.config.method.expands() {
            // Fine-tuning: one branch, trained again; an independent copy keeps the old model intact.
            let branch = &previous.branches[0];
            let copy = rebuild(branch, &ChannelSelection::all(branch), device);
            return DerNetwork {
                classifier: previous.classifier.grown(copy.feature_dim(), total, device),
                branches: vec![copy],
                aux: None,
            };
        }
        let source = self.init_source.as_ref().unwrap_or_else(|| previous.branches.last().unwrap());
        let mut branch = rebuild(source, &ChannelSelection::all(source), device);
        branch.for_each_gate_mut(|gate| *gate = ChannelGate::new(gate.channels(), device));
        let mut branches: Vec<Branch> = previous.branches.iter().map(|b| b.clone().freeze()).collect();
        let new_dim = branch.feature_dim();
        branches.push(branch);
        DerNetwork {
            classifier: previous.classifier.grown(previous.feature_dim() + new_dim, total, device),
            aux: Some(Head::new(new_dim, new_count + 1, device)),
            branches,
        }
    }

    /// Class probabilities (in [`Self::class_order`]) for each sample.
    pub async fn predict(&self, samples: &[&Sample]) -> Result<Vec<Vec<f32>>, ReadError> {
        let Some(network) = &self.inference else { return Ok(Vec::new()) };
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        let size = self.config.backbone.input_size;
        let (x, _) = batch_tensor(samples, size, &self.device);
        let probabilities = read_f32(softmax(network.forward(x, GateMode::Binary).logits, 1)).await?;
        let classes = self.class_order.len();
        Ok(probabilities.chunks(classes).map(<[f32]>::to_vec).collect())
    }

    /// (true label, predicted label) for every sample of `data`.
    pub async fn evaluate(&self, data: &Dataset) -> Result<Vec<(usize, usize)>, ReadError> {
        let Some(network) = &self.inference else { return Ok(Vec::new()) };
        let mut pairs = Vec::with_capacity(data.len());
        for chunk in data.samples.chunks(INFERENCE_CHUNK) {
            let refs: Vec<&Sample> = chunk.iter().collect();
            let (x, labels) = batch_tensor(&refs, data.size, &self.device);
            let predicted = read_i64(network.forward(x, GateMode::Binary).logits.argmax(1)).await?;
            pairs.extend(labels.into_iter().zip(predicted.into_iter().map(|p| self.class_order[p as usize])));
        }
        Ok(pairs)
    }

    /// The step each learned label belongs to.
    pub fn step_of(&self, label: usize) -> Option<usize> {
        self.steps.iter().position(|s| s.classes.contains(&label))
    }
}

/// Images per forward pass when nothing is trained (evaluation, features for herding, for the
/// frozen-feature cache and for re-learning): the size of a training batch, so these passes
/// never need more transient memory than training does (a pass's convolutions hold several
/// copies of its activations at once, and wasm memory never shrinks once grown). Per-image
/// results do not depend on it (BatchNorm in eval mode; Split-MNIST accuracies were identical
/// at 128). The step's peak was elsewhere: see `recalibrate_batch_norm`.
const INFERENCE_CHUNK: usize = 32;

fn cross_entropy(logits: Tensor<2>, targets: &[usize], classes: usize, device: &Device) -> Tensor<1> {
    let target = one_hot(targets, classes, device);
    log_softmax(logits, 1).mul(target).sum_dim(1).mean().neg()
}

fn cosine(base: f64, iteration: usize, total: usize) -> f64 {
    base * 0.5 * (1.0 + (std::f64::consts::PI * iteration as f64 / total as f64).cos())
}

fn compensate(grads: &mut GradientsParams, gate: &ChannelGate, scale: f32, s_max: f32) {
    let id = gate.logits.id;
    if let Some(grad) = grads.remove::<1>(id) {
        let logits = gate.logits.val().detach().inner();
        grads.register(id, compensate_gradient(grad, logits, scale, s_max));
    }
}

fn clamp_logits(gate: &mut ChannelGate) {
    gate.logits = gate
        .logits
        .clone()
        .map(|t| t.clamp(-LOGIT_CLAMP, LOGIT_CLAMP).detach().require_grad());
}

/// Removes the switched-off channels of the newest branch and the matching head inputs.
async fn prune_newest(mut network: DerNetwork, device: &Device) -> Result<DerNetwork, ReadError> {
    let newest = network.branches.pop().unwrap();
    let selection = ChannelSelection::from_masks(&newest).await?;
    let pruned = rebuild(&newest, &selection, device);
    let offset = network.feature_dim();
    let kept_out = &selection.stages.last().unwrap().out;
    let mut rows: Vec<usize> = (0..offset).collect();
    rows.extend(kept_out.iter().map(|&c| offset + c));
    network.classifier = network.classifier.with_inputs(&rows, device);
    network.aux = network.aux.map(|aux| aux.with_inputs(kept_out, device));
    network.branches.push(pruned);
    Ok(network)
}

/// Re-estimates the newest branch's BatchNorm running statistics with binary masks, as the
/// branch will be used from now on: one pass of training-mode forwards (no gradients) whose
/// momentum 1/(k+1) makes the running values the exact mean of the batches' statistics.
///
/// Why: within each epoch the mask scale s starts near 0, where every mask is about 0.5; the
/// batches seen then feed halved activations into the next layers' running statistics. With
/// many batches per epoch that share is small, but a classroom step has only a few, and the
/// statistics would no longer match inference.
fn recalibrate_batch_norm(
    network: &DerNetwork,
    training: &[&Sample],
    size: usize,
    batch_size: usize,
    device: &Device,
    rng: &mut SplitMix64,
) {
    const MAX_BATCHES: usize = 20;
    // A clone shares the running statistics (and so updates the network's) but has its own
    // momentum values. `no_grad`: on the autodiff device a forward whose parameters require
    // gradients is recorded, and the graph of all these batches stayed in memory (valgrind's
    // massif: 250 MB at the peak of a classroom step, 412 MB of the browser worker's memory).
    let mut branch = network.branches.last().expect("a network has a branch").clone().no_grad();
    let mut order: Vec<usize> = (0..training.len()).collect();
    rng.shuffle(&mut order);
    for (k, chunk) in order.chunks(batch_size).filter(|c| c.len() >= 2).take(MAX_BATCHES).enumerate() {
        branch.for_each_conv_bn_mut(|layer| layer.bn.momentum = 1.0 / (k + 1) as f64);
        let images: Vec<&Sample> = chunk.iter().map(|&i| training[i]).collect();
        let (x, _) = batch_tensor(&images, size, device);
        let _ = branch.forward(x, GateMode::Binary).detach();
    }
}

/// The frozen branches' features of every training sample, `[samples, frozen_dim]`, computed
/// once per step (no gradients, binary masks, BatchNorm in eval).
fn frozen_features(network: &DerNetwork, samples: &[&Sample], size: usize, device: &Device) -> Option<Tensor<2>> {
    if network.branches.len() < 2 {
        return None;
    }
    let parts: Vec<Tensor<2>> = samples
        .chunks(INFERENCE_CHUNK)
        .map(|chunk| {
            let (x, _) = batch_tensor(chunk, size, device);
            network.frozen_features(x).expect("two or more branches")
        })
        .collect();
    Some(Tensor::cat(parts, 0).detach())
}

/// Concatenated features of `samples` computed by an inference network, read back per sample.
async fn features_of(
    network: &DerNetwork,
    samples: &[&Sample],
    size: usize,
    device: &Device,
) -> Result<Vec<Vec<f32>>, ReadError> {
    let mut rows = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(INFERENCE_CHUNK) {
        let (x, _) = batch_tensor(chunk, size, device);
        let features = network.features(x, GateMode::Binary);
        let dim = features.dims()[1];
        rows.extend(read_f32(features).await?.chunks(dim).map(<[f32]>::to_vec));
    }
    Ok(rows)
}

/// Trains a fresh classifier on fixed features of a class-balanced set, logits divided by δ.
fn relearn_classifier(
    network: &DerNetwork,
    balanced: &[&Sample],
    index_of: &dyn Fn(usize) -> usize,
    classes: usize,
    config: &LearnerConfig,
    device: &Device,
    rng: &mut SplitMix64,
) -> Head {
    let train_device = device.clone().autodiff();
    let inference = network.valid();
    let size = config.backbone.input_size;
    // Features are fixed during this stage: compute them once.
    let mut parts = Vec::new();
    let mut targets = Vec::new();
    for chunk in balanced.chunks(INFERENCE_CHUNK) {
        let (x, labels) = batch_tensor(chunk, size, device);
        parts.push(inference.features(x, GateMode::Binary));
        targets.extend(labels.into_iter().map(index_of));
    }
    let features = Tensor::cat(parts, 0).autodiff();
    let dim = features.dims()[1];
    let mut head = seeded_module(&draw_device(), rng.next_u64(), || Head::new(dim, classes, &train_device));
    let mut optim = SgdConfig::new().with_momentum(Some(MomentumConfig::new().with_dampening(0.0))).init();
    let batch_size = 32usize;
    let batches = targets.len().div_ceil(batch_size);
    let total = config.relearn_epochs * batches;
    let mut order: Vec<usize> = (0..targets.len()).collect();
    for epoch in 0..config.relearn_epochs {
        rng.shuffle(&mut order);
        for batch in 0..batches {
            let chunk = &order[batch * batch_size..((batch + 1) * batch_size).min(order.len())];
            let rows = crate::engine::tensor_io::indices(chunk, &train_device);
            let x = features.clone().select(0, rows);
            let t: Vec<usize> = chunk.iter().map(|&i| targets[i]).collect();
            let logits = head.forward(x).div_scalar(config.temperature);
            let loss = cross_entropy(logits, &t, classes, &train_device);
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            let lr = cosine(config.relearn_learning_rate, epoch * batches + batch, total.max(1));
            head = optim.step(lr, head, grads);
        }
    }
    head
}

/// Running sums of the loss parts between two progress reports, kept on the device.
#[derive(Default)]
struct StatsAccumulator {
    sums: Option<Tensor<1>>,
    images: usize,
    batches: usize,
}

impl StatsAccumulator {
    fn add(
        &mut self,
        loss: &Tensor<1>,
        classifier: &Tensor<1>,
        aux: Option<&Tensor<1>>,
        sparsity: &Tensor<1>,
        correct: Tensor<1>,
        images: usize,
    ) {
        let aux = aux.cloned().unwrap_or_else(|| classifier.zeros_like());
        let row = Tensor::cat(
            vec![loss.clone().detach(), classifier.clone().detach(), aux.detach(), sparsity.clone().detach(), correct],
            0,
        )
        .inner();
        self.sums = Some(match self.sums.take() {
            Some(s) => s.add(row),
            None => row,
        });
        self.images += images;
        self.batches += 1;
    }

    /// Reads the sums and the newest branch's masks back in one transfer, then resets.
    async fn report(
        &mut self,
        newest: &Branch,
        mode: GateMode,
        (epoch, epochs, batch, batches): (usize, usize, usize, usize),
        elapsed_seconds: f64,
    ) -> Result<Progress, ReadError> {
        let gates = newest.gates();
        let sizes: Vec<usize> = gates.iter().map(|(_, g)| g.channels()).collect();
        let mut parts = vec![self.sums.take().expect("a batch ran")];
        parts.extend(gates.iter().map(|(_, g)| g.mask(mode).detach().inner()));
        let values = read_f32(Tensor::cat(parts, 0)).await?;
        let n = self.batches.max(1) as f32;
        let mut offset = 5;
        let gate_masks = sizes
            .iter()
            .map(|&c| {
                let m = values[offset..offset + c].to_vec();
                offset += c;
                m
            })
            .collect();
        let progress = Progress {
            phase: Phase::Train,
            epoch,
            epochs,
            batch,
            batches,
            loss: values[0] / n,
            loss_classifier: values[1] / n,
            loss_aux: values[2] / n,
            loss_sparsity: values[3] / n,
            train_accuracy: values[4] / self.images.max(1) as f32,
            mask_scale: match mode {
                GateMode::Soft { scale } => scale,
                GateMode::Binary => f32::INFINITY,
            },
            gate_masks,
            elapsed_seconds,
        };
        self.images = 0;
        self.batches = 0;
        Ok(progress)
    }
}

