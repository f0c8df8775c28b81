//! The step: expand the network, train the new branch with masks (one [`train_iteration`] per
//! batch), recalibrate and prune it, re-learn the classifier, update the memory, then commit.
//! Everything before the commit works on copies, so a cancelled or failed step changes nothing.

use burn::module::Module;
use burn::optim::SgdConfig;
use burn::optim::momentum::MomentumConfig;
use burn::tensor::{Device, Tensor};
use web_time::Instant;

use super::inference::features_of;
use super::iteration::{IterationBatch, IterationLosses, IterationSettings, train_iteration};
use super::relearn::relearn_classifier;
use super::schedule::{Plateau, StepSchedule};
use super::view_bank::{VIEWS_PER_IMAGE, ViewBank};
use super::{Control, Learner, Observer, StepError};
use crate::engine::augment::{Augment, augment};
use crate::engine::branch::Branch;
use crate::engine::data::{Dataset, Sample};
use crate::engine::folded::{FoldedNetwork, fold_frozen};
use crate::engine::gate::{ChannelGate, GateMode};
use crate::engine::head::Head;
use crate::engine::memory::herding;
use crate::engine::network::DerNetwork;
use crate::engine::prune::{ChannelSelection, rebuild};
use crate::engine::report::{Phase, Progress, StepSummary, StopReason};
use crate::engine::rng::SplitMix64;
use crate::engine::seeding::{draw_device, seeded_module};
use crate::engine::tensor_io::{ReadError, batch_tensor, read_f32};

impl Learner {
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
        self.config
            .check_for_step(
                self.class_order.len() + new_classes.len(),
                train.len() + self.memory.len(),
            )
            .map_err(StepError::Settings)?;

        let start = Instant::now();
        let step = self.steps.len();
        let config = self.config.clone();
        let train_device = self.device.clone().autodiff();
        let mut rng = SplitMix64::new(config.seed.wrapping_add(1000 + step as u64));

        let old_classes = self.class_order.len();
        let mut class_order = self.class_order.clone();
        class_order.extend(&new_classes);
        let index_of = |label: usize| class_order.iter().position(|&c| c == label).unwrap();

        let mut network = seeded_module(
            &draw_device(),
            config.seed.wrapping_add(step as u64),
            || self.expanded(new_classes.len(), class_order.len(), &train_device),
        );

        // Training set: the new classes plus the replayed exemplars.
        let mut training: Vec<&Sample> = train.samples.iter().collect();
        if config.method.uses_memory() {
            training.extend(self.memory.samples());
        }
        let size = train.size;
        let lambda_aux = if network.aux.is_some() {
            config.lambda_aux
        } else {
            0.0
        };
        let lambda_sparsity = config.effective_lambda_sparsity();

        let batch_size = config.batch_size.max(2);
        // A last batch of one image would give BatchNorm a zero variance: drop it.
        let batches =
            (training.len() / batch_size + usize::from(training.len() % batch_size >= 2)).max(1);
        let schedule = StepSchedule::for_step(&config, batches);
        let mut optim = SgdConfig::new()
            .with_momentum(Some(MomentumConfig::new().with_dampening(0.0)))
            .init();
        let report_every = observer.report_every().max(1);
        let pace = observer.report_pace();
        let mut last_report = Instant::now();
        let mut order: Vec<usize> = (0..training.len()).collect();
        let mut stats = StatsAccumulator::default();
        let augmenting = config.augment != Augment::None;
        // Folded: the frozen branches run as one convolution a layer (engine/folded.rs),
        // without autodiff, and only over the bank's views (view_bank.rs), once a step.
        let folded_frozen = fold_frozen(&network);
        let bank = (!folded_frozen.is_empty()).then(|| {
            ViewBank::build(
                &training,
                config.augment,
                VIEWS_PER_IMAGE,
                size,
                &mut rng,
                &folded_frozen,
                &self.device,
            )
        });
        let mut plateau = Plateau::default();
        // The classification loss summed on the device over the cycle so far.
        let mut cycle_loss: Option<Tensor<1>> = None;
        let mut cycle_updates = 0usize;
        let mut stop = if schedule.stop_when_learned {
            StopReason::Limit
        } else {
            StopReason::Fixed
        };
        let mut updates = 0;

        for update in 0..schedule.max_updates {
            let (epoch, batch) = (update / batches, update % batches);
            let epochs = schedule.max_updates.div_ceil(batches);
            if batch == 0 {
                rng.shuffle(&mut order);
            }
            let chunk = &order[batch * batch_size..((batch + 1) * batch_size).min(order.len())];
            // With frozen branches the views come from the bank (same pixels for every branch);
            // without, the new branch alone sees a fresh augmentation of each image.
            let (x, labels, frozen_rows) = match &bank {
                Some(bank) => {
                    let rows = bank.draw(chunk, &mut rng);
                    let (x, labels) = batch_tensor(&bank.pixels(&rows), size, &train_device);
                    (x, labels, bank.frozen(&rows, &train_device))
                }
                None => {
                    let augmented: Vec<Sample> = chunk
                        .iter()
                        .map(|&i| augment(training[i], size, config.augment, &mut rng))
                        .collect();
                    let images: Vec<&Sample> = if augmenting {
                        augmented.iter().collect()
                    } else {
                        chunk.iter().map(|&i| training[i]).collect()
                    };
                    let (x, labels) = batch_tensor(&images, size, &train_device);
                    (x, labels, None)
                }
            };
            let targets: Vec<usize> = labels.iter().map(|&l| index_of(l)).collect();
            let scale = schedule.mask_scale(update);
            let mode = GateMode::Soft { scale };
            let settings = IterationSettings {
                lambda_aux,
                lambda_sparsity,
                scale,
                s_max: config.s_max,
                learning_rate: schedule.learning_rate(update),
            };
            let batch_input = IterationBatch {
                images: x,
                frozen: frozen_rows,
                targets: &targets,
                old_classes,
                device: &train_device,
            };
            let (trained, losses) = train_iteration(network, &mut optim, batch_input, &settings);
            network = trained;
            let classification = losses.classifier.clone();
            stats.add(losses, targets.len());
            updates = update + 1;

            // The stopping rule reads each update's classification loss at the end of a cycle
            // (one read per cycle: the values stay on the device until then).
            let mut stopping = false;
            if schedule.stop_when_learned {
                cycle_loss = Some(match cycle_loss {
                    Some(sum) => sum.add(classification.detach()),
                    None => classification.detach(),
                });
                cycle_updates += 1;
                if schedule.closes_cycle(update) {
                    let sum = read_f32(cycle_loss.take().expect("added above")).await?[0];
                    let mean = sum / cycle_updates as f32;
                    cycle_updates = 0;
                    if plateau.close_cycle(mean) && updates < schedule.max_updates {
                        stop = StopReason::Learned;
                        stopping = true;
                    }
                }
            }
            let last_batch = batch + 1 == batches || stopping || updates == schedule.max_updates;
            let paced = pace.is_none_or(|p| last_report.elapsed() >= p);
            if ((batch + 1) % report_every == 0 && paced) || last_batch {
                last_report = Instant::now();
                let newest = network.branches.last().unwrap();
                let progress = stats
                    .report(
                        newest,
                        mode,
                        (epoch, epochs, batch + 1, batches),
                        start.elapsed().as_secs_f64(),
                    )
                    .await?;
                if !progress.loss.is_finite() {
                    return Err(StepError::NonFiniteLoss { epoch });
                }
                if observer.progress(&progress).await == Control::Cancel {
                    return Err(StepError::Cancelled);
                }
            }
            if stopping {
                break;
            }
        }
        let epochs = updates.div_ceil(batches);
        let total_iterations = updates;

        recalibrate_batch_norm(
            &network,
            &training,
            size,
            batch_size,
            &train_device,
            &mut rng,
        );

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
            epochs,
            updates: total_iterations,
            augment: config.augment,
            stop: Some(stop),
        };
        if observer
            .progress(&Progress::phase(
                Phase::Prune,
                start.elapsed().as_secs_f64(),
            ))
            .await
            == Control::Cancel
        {
            return Err(StepError::Cancelled);
        }

        // The branches are final from here: folded once, for re-learning's features and herding's.
        let mut inference = FoldedNetwork::fold(&network);

        // Stage 2: re-learn the classifier on a class-balanced set.
        let per_class = config.exemplars_per_class(class_order.len());
        if step > 0 && config.method.relearns() && config.relearn_epochs > 0 {
            let mut balanced: Vec<&Sample> = Vec::new();
            for exemplars in self.memory.by_class.values() {
                balanced.extend(exemplars.iter().take(per_class));
            }
            for &class in &new_classes {
                let mut of_class: Vec<&Sample> =
                    train.samples.iter().filter(|s| s.label == class).collect();
                rng.shuffle(&mut of_class);
                balanced.extend(of_class.into_iter().take(per_class.max(1)));
            }
            network.classifier = relearn_classifier(
                &inference,
                &balanced,
                &index_of,
                class_order.len(),
                &config,
                &self.device,
                &mut rng,
            );
            inference = inference.with_classifier(&network.classifier);
            if observer
                .progress(&Progress::phase(
                    Phase::Relearn,
                    start.elapsed().as_secs_f64(),
                ))
                .await
                == Control::Cancel
            {
                return Err(StepError::Cancelled);
            }
        }

        // Update the memory by herding on the new network's features.
        let mut memory = self.memory.clone();
        if config.method.uses_memory() {
            memory.shrink_to(per_class);
            for &class in &new_classes {
                let of_class: Vec<&Sample> =
                    train.samples.iter().filter(|s| s.label == class).collect();
                let features = features_of(&inference, &of_class, size, &self.device).await?;
                let chosen = herding(&features, per_class);
                memory.by_class.insert(
                    class,
                    chosen.into_iter().map(|i| of_class[i].clone()).collect(),
                );
            }
        }

        let mut summary = summary;
        summary.train_seconds = start.elapsed().as_secs_f64();
        // Commit.
        if config.method.expands() {
            // Kept for rewinding; a file saved before them has none, so they only line up
            // with the steps when every earlier step kept one.
            if self.step_classifiers.len() == self.steps.len() {
                self.step_classifiers.push(inference.classifier().clone());
            }
        }
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
            // DER's branches carry channel masks; the baselines train an ordinary network.
            let gated = self.config.method.masks_channels();
            return DerNetwork::drawn_for(&self.config.backbone, total, gated, device);
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
        let source = self
            .init_source
            .as_ref()
            .unwrap_or_else(|| previous.branches.last().unwrap());
        let mut branch = rebuild(source, &ChannelSelection::all(source), device);
        branch.for_each_gate_mut(|gate| *gate = ChannelGate::new(gate.channels(), device));
        let mut branches: Vec<Branch> = previous
            .branches
            .iter()
            .map(|b| b.clone().freeze())
            .collect();
        let new_dim = branch.feature_dim();
        branches.push(branch);
        DerNetwork {
            classifier: previous
                .classifier
                .grown(previous.feature_dim() + new_dim, total, device),
            aux: Some(Head::new(new_dim, new_count + 1, device)),
            branches,
        }
    }
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
    let mut branch = network
        .branches
        .last()
        .expect("a network has a branch")
        .clone()
        .no_grad();
    let mut order: Vec<usize> = (0..training.len()).collect();
    rng.shuffle(&mut order);
    for (k, chunk) in order
        .chunks(batch_size)
        .filter(|c| c.len() >= 2)
        .take(MAX_BATCHES)
        .enumerate()
    {
        branch.for_each_conv_bn_mut(|layer| layer.bn.momentum = 1.0 / (k + 1) as f64);
        let images: Vec<&Sample> = chunk.iter().map(|&i| training[i]).collect();
        let (x, _) = batch_tensor(&images, size, device);
        let _ = branch.forward(x, GateMode::Binary).detach();
    }
}

/// Running sums of the loss parts between two progress reports, kept on the device.
#[derive(Default)]
struct StatsAccumulator {
    sums: Option<Tensor<1>>,
    images: usize,
    batches: usize,
}

impl StatsAccumulator {
    fn add(&mut self, losses: IterationLosses, images: usize) {
        let IterationLosses {
            loss,
            classifier,
            aux,
            sparsity,
            correct,
        } = losses;
        let aux = aux.unwrap_or_else(|| classifier.zeros_like());
        let row = Tensor::cat(
            vec![
                loss.detach(),
                classifier.detach(),
                aux.detach(),
                sparsity.detach(),
                correct,
            ],
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
        let device = parts[0].device();
        // An open gate (an ordinary network's) keeps every channel: its mask is all ones.
        parts.extend(gates.iter().map(|(_, g)| match g.mask(mode) {
            Some(mask) => mask.detach().inner(),
            None => Tensor::ones([g.channels()], &device),
        }));
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
