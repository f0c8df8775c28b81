//! The DER engine on real images (MNIST digits 0–5, three steps of two classes), natively on
//! the CPU device: what freezing, pruning and memory must achieve together.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use der_studio::engine::config::BackboneConfig;
use der_studio::engine::learner::Silent;
use der_studio::engine::network::DerNetwork;
use der_studio::engine::tensor_io::read_f32;
use der_studio::engine::{AccuracyMatrix, Learner, LearnerConfig, Method};
use der_studio::tools::imagefolder::ImageFolder;

const TASKS: [[usize; 2]; 3] = [[0, 1], [2, 3], [4, 5]];

fn fixture() -> ImageFolder {
    ImageFolder::load(Path::new("tests/fixtures/mnist6"), 16, None).expect("fixture loads")
}

fn config(method: Method) -> LearnerConfig {
    LearnerConfig {
        method,
        backbone: BackboneConfig {
            input_size: 16,
            width: 8,
            stages: 2,
            blocks_per_stage: 1,
        },
        epochs: 30,
        batch_size: 16,
        memory_total: 60,
        memory_per_class: None,
        relearn_epochs: 20,
        seed: 7,
        // A strong push, so that even 30 epochs on a few images switch channels off.
        lambda_sparsity: 0.5,
        // Epochs alone: the fixture's steps stay short and each test sets its own.
        min_updates: 0,
        ..LearnerConfig::default()
    }
}

/// Learns the three tasks with `method` from `seed`, calling `after_step` after each step.
fn run(
    method: Method,
    seed: u64,
    data: &ImageFolder,
    mut after_step: impl FnMut(usize, &Learner),
) -> AccuracyMatrix {
    let mut learner = Learner::new(
        LearnerConfig {
            seed,
            ..config(method)
        },
        Device::flex(),
    );
    let mut matrix = AccuracyMatrix::default();
    for (t, task) in TASKS.iter().enumerate() {
        pollster::block_on(learner.learn_step(&data.train.filter_classes(task), &mut Silent))
            .expect("step trains");
        let seen: Vec<usize> = TASKS[..=t].iter().flatten().copied().collect();
        let pairs = pollster::block_on(learner.evaluate(&data.test.filter_classes(&seen))).unwrap();
        matrix.push_step(t + 1, &pairs, |l| l / 2);
        after_step(t, &learner);
    }
    matrix
}

/// Every tensor of a branch (weights and BatchNorm statistics), read back.
fn branch_state(network: &DerNetwork, index: usize) -> Vec<Vec<f32>> {
    let branch = &network.branches[index];
    let mut state = Vec::new();
    for layer in branch.conv_layers() {
        state.push(pollster::block_on(read_f32(layer.conv.weight.val())).unwrap());
        state.push(pollster::block_on(read_f32(layer.bn.gamma.val())).unwrap());
        state.push(pollster::block_on(read_f32(layer.bn.beta.val())).unwrap());
        state.push(pollster::block_on(read_f32(layer.bn.running_mean.value())).unwrap());
        state.push(pollster::block_on(read_f32(layer.bn.running_var.value())).unwrap());
    }
    for (_, gate) in branch.gates() {
        let logits = gate.logits.as_ref().expect("DER's branches have masks");
        state.push(pollster::block_on(read_f32(logits.val())).unwrap());
    }
    state
}

/// Seeds of the learning-quality comparisons: a threshold must hold on their mean with a
/// margin, not on one lucky draw.
const SEEDS: [u64; 3] = [7, 8, 9];

fn mean(values: &[f32]) -> f32 {
    values.iter().sum::<f32>() / values.len() as f32
}

#[test]
fn der_freezes_old_branches_prunes_new_ones_and_forgets_less_than_finetuning() {
    let data = fixture();
    let (mut kept_by_der, mut kept_by_finetune, mut first_step, mut last_gap) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for seed in SEEDS {
        let mut first_branch_after_step_1 = None;
        let mut summaries = Vec::new();
        let der = run(Method::Der, seed, &data, |t, learner| {
            let network = learner.network().unwrap();
            assert_eq!(network.branches.len(), t + 1, "one branch per step");
            if t == 0 {
                first_branch_after_step_1 = Some(branch_state(network, 0));
            } else {
                // Weights and BatchNorm statistics of the frozen branch are bit-for-bit unchanged.
                assert_eq!(
                    first_branch_after_step_1.as_ref().unwrap(),
                    &branch_state(network, 0),
                    "seed {seed}, step {}",
                    t + 1
                );
            }
            summaries.push(learner.steps.last().unwrap().clone());
            // Memory: 60 exemplars in total, spread over the classes seen.
            let per_class = 60 / (2 * (t + 1));
            assert!(
                learner
                    .memory
                    .by_class
                    .values()
                    .all(|m| m.len() == per_class)
            );
        });
        let finetune = run(Method::Finetune, seed, &data, |_, learner| {
            assert_eq!(learner.network().unwrap().branches.len(), 1);
        });
        println!(
            "seed {seed}: DER rows {:?}\nfine-tuning rows {:?}",
            der.rows, finetune.rows
        );
        for s in &summaries {
            println!(
                "step {}: branch params {} → {}, channels {:?} → {:?}",
                s.step + 1,
                s.branch_params_before,
                s.branch_params_after,
                s.channels_before,
                s.channels_after
            );
        }
        // Pruning removed parameters in every step, on every seed.
        assert!(
            summaries
                .iter()
                .all(|s| s.branch_params_after < s.branch_params_before),
            "seed {seed}"
        );
        kept_by_der.push((der.rows[2][0] + der.rows[2][1]) / 2.0);
        kept_by_finetune.push((finetune.rows[2][0] + finetune.rows[2][1]) / 2.0);
        first_step.push(der.rows[0][0]);
        last_gap.push(der.last_accuracy() - finetune.last_accuracy());
    }
    println!(
        "first task after the last step: DER {kept_by_der:?}, fine-tuning {kept_by_finetune:?}; \
         DER's first step {first_step:?}; last-step gap {last_gap:?}"
    );
    // The first task after the last step: DER keeps clearly more than fine-tuning on average,
    // and more on every seed.
    let (der_old, finetune_old) = (mean(&kept_by_der), mean(&kept_by_finetune));
    assert!(
        der_old > finetune_old + 0.2,
        "old-task accuracy: DER {der_old} vs fine-tuning {finetune_old}"
    );
    assert!(
        kept_by_der
            .iter()
            .zip(&kept_by_finetune)
            .all(|(d, f)| d > f),
        "DER keeps more of the first task on every seed"
    );
    assert!(mean(&last_gap) > 0.0, "and is better overall: {last_gap:?}");
    assert!(
        mean(&first_step) > 0.8 && first_step.iter().all(|&a| a > 0.6),
        "the first step learns its two digits: {first_step:?}"
    );
}

#[test]
fn a_step_with_an_already_learned_class_or_a_single_first_class_is_refused() {
    let data = fixture();
    let mut learner = Learner::new(
        LearnerConfig {
            epochs: 2,
            relearn_epochs: 2,
            ..config(Method::Der)
        },
        Device::flex(),
    );
    let one = pollster::block_on(learner.learn_step(&data.train.filter_classes(&[0]), &mut Silent));
    assert_eq!(
        one.unwrap_err().to_string(),
        "the first step needs at least two classes to tell apart"
    );
    assert!(learner.network().is_none(), "nothing trained");

    // After a step, a step that repeats one of its classes is refused and changes nothing.
    pollster::block_on(learner.learn_step(&data.train.filter_classes(&[0, 1]), &mut Silent))
        .expect("the first step trains");
    let test = data.test.filter_classes(&[0, 1]);
    let before = pollster::block_on(learner.evaluate(&test)).unwrap();
    let (steps, memory, order) = (
        learner.steps.clone(),
        learner.memory.clone(),
        learner.class_order.clone(),
    );
    for repeated in [&[1usize, 2][..], &[0, 1], &[3, 0]] {
        let again = pollster::block_on(
            learner.learn_step(&data.train.filter_classes(repeated), &mut Silent),
        );
        let learned = repeated.iter().find(|c| order.contains(c)).unwrap();
        assert_eq!(
            again.unwrap_err().to_string(),
            format!("class {learned} was already learned in an earlier step"),
            "step with {repeated:?}"
        );
    }
    assert_eq!(learner.network().unwrap().branches.len(), 1);
    assert_eq!(learner.steps, steps);
    assert_eq!(learner.memory, memory);
    assert_eq!(learner.class_order, order);
    assert_eq!(pollster::block_on(learner.evaluate(&test)).unwrap(), before);
}

#[test]
fn a_memory_per_class_grows_with_the_classes_while_a_fixed_total_is_shared() {
    let data = fixture();
    let short = |memory_per_class| LearnerConfig {
        epochs: 2,
        relearn_epochs: 2,
        memory_per_class,
        ..config(Method::Der)
    };
    let mut per_class = Learner::new(short(Some(7)), Device::flex());
    let mut total = Learner::new(short(None), Device::flex());
    for (t, task) in TASKS[..2].iter().enumerate() {
        let train = data.train.filter_classes(task);
        pollster::block_on(per_class.learn_step(&train, &mut Silent)).unwrap();
        pollster::block_on(total.learn_step(&train, &mut Silent)).unwrap();
        let classes = 2 * (t + 1);
        assert_eq!(per_class.memory.by_class.len(), classes);
        assert!(
            per_class.memory.by_class.values().all(|m| m.len() == 7),
            "7 exemplars for each class, step {}",
            t + 1
        );
        assert_eq!(per_class.memory.len(), 7 * classes);
        assert!(
            total
                .memory
                .by_class
                .values()
                .all(|m| m.len() == 60 / classes),
            "60 shared by {classes} classes"
        );
        // Exemplars are real training images of their own class.
        for (label, exemplars) in &per_class.memory.by_class {
            assert!(
                exemplars
                    .iter()
                    .all(|e| e.label == *label && data.train.samples.contains(e))
            );
        }
    }
}

#[test]
fn replay_keeps_one_network_and_a_memory_and_forgets_less_than_finetuning() {
    let data = fixture();
    let (mut kept_by_replay, mut kept_by_finetune) = (Vec::new(), Vec::new());
    for seed in SEEDS {
        let short = |method| LearnerConfig {
            epochs: 12,
            seed,
            ..config(method)
        };
        let (replay_matrix, finetune_matrix) = replay_and_finetune(&data, short);
        let old = |m: &AccuracyMatrix| (m.rows[2][0] + m.rows[2][1]) / 2.0;
        println!(
            "seed {seed}: replay rows {:?}\nfine-tuning rows {:?}",
            replay_matrix.rows, finetune_matrix.rows
        );
        kept_by_replay.push(old(&replay_matrix));
        kept_by_finetune.push(old(&finetune_matrix));
    }
    let (replay_old, finetune_old) = (mean(&kept_by_replay), mean(&kept_by_finetune));
    assert!(
        replay_old > finetune_old + 0.1,
        "the memory keeps the first task: replay {kept_by_replay:?} vs fine-tuning {kept_by_finetune:?}"
    );
    assert!(
        kept_by_replay
            .iter()
            .zip(&kept_by_finetune)
            .all(|(r, f)| r > f),
        "on every seed: replay {kept_by_replay:?} vs fine-tuning {kept_by_finetune:?}"
    );
}

/// Learns the three tasks with replay and with fine-tuning, checking after every step what
/// each keeps; returns their accuracy matrices.
fn replay_and_finetune(
    data: &ImageFolder,
    config_for: impl Fn(Method) -> LearnerConfig,
) -> (AccuracyMatrix, AccuracyMatrix) {
    let mut replay = Learner::new(config_for(Method::Replay), Device::flex());
    let mut finetune = Learner::new(config_for(Method::Finetune), Device::flex());
    let (mut replay_matrix, mut finetune_matrix) =
        (AccuracyMatrix::default(), AccuracyMatrix::default());
    for (t, task) in TASKS.iter().enumerate() {
        let train = data.train.filter_classes(task);
        let seen: Vec<usize> = TASKS[..=t].iter().flatten().copied().collect();
        let test = data.test.filter_classes(&seen);
        for (learner, matrix) in [
            (&mut replay, &mut replay_matrix),
            (&mut finetune, &mut finetune_matrix),
        ] {
            pollster::block_on(learner.learn_step(&train, &mut Silent)).unwrap();
            let pairs = pollster::block_on(learner.evaluate(&test)).unwrap();
            matrix.push_step(t + 1, &pairs, |l| l / 2);
        }
        let network = replay.network().unwrap();
        assert_eq!(
            network.branches.len(),
            1,
            "replay keeps one network (step {})",
            t + 1
        );
        assert!(network.aux.is_none(), "and no auxiliary head");
        for (name, learner) in [("replay", &replay), ("fine-tuning", &finetune)] {
            let network = learner.network().unwrap();
            assert!(
                network.branches.iter().all(|b| !b.is_gated()),
                "{name} trains an ordinary network, without channel masks"
            );
            // As many parameters as a fresh ordinary network of its shape, fewer than DER's.
            let backbone = &learner.config.backbone;
            let classes = network.classes();
            let fresh = |gated| DerNetwork::new(backbone, classes, gated, &Device::flex());
            assert_eq!(
                network.num_params(),
                fresh(false).num_params(),
                "{name}: no gate parameter"
            );
            assert!(network.num_params() < fresh(true).num_params());
        }
        let summary = replay.steps.last().unwrap();
        assert_eq!(
            summary.branch_params_after, summary.branch_params_before,
            "and never prunes"
        );
        assert_eq!(
            replay.memory.by_class.len(),
            seen.len(),
            "it keeps exemplars of every class seen"
        );
        assert!(
            replay
                .memory
                .by_class
                .values()
                .all(|m| m.len() == 60 / seen.len()),
            "with DER's budget"
        );
        assert!(
            finetune.memory.by_class.is_empty(),
            "fine-tuning keeps none"
        );
    }
    (replay_matrix, finetune_matrix)
}

#[test]
fn train_per_class_takes_the_first_images_of_each_class() {
    let data = fixture();
    let few = data.train.first_per_class(3);
    for label in 0..6 {
        let all: Vec<_> = data
            .train
            .samples
            .iter()
            .filter(|s| s.label == label)
            .collect();
        let kept: Vec<_> = few.samples.iter().filter(|s| s.label == label).collect();
        assert_eq!(kept.len(), 3.min(all.len()), "class {label}");
        assert_eq!(
            kept,
            all[..kept.len()].to_vec(),
            "the first ones, in order (class {label})"
        );
    }
    assert_eq!(
        data.train.first_per_class(100_000).samples,
        data.train.samples,
        "more than there are: all of them"
    );
}

#[test]
fn augmented_batches_train_the_new_branch_and_leave_frozen_branches_untouched() {
    use der_studio::engine::augment::Augment;
    let data = fixture();
    let short = |augment| LearnerConfig {
        epochs: 12,
        augment,
        ..config(Method::Der)
    };
    let mut plain = Learner::new(short(Augment::None), Device::flex());
    let mut shifted = Learner::new(short(Augment::Shift), Device::flex());
    let mut seconds = Vec::new();
    for learner in [&mut plain, &mut shifted] {
        let mut first_branch = None;
        for (t, task) in TASKS[..2].iter().enumerate() {
            pollster::block_on(learner.learn_step(&data.train.filter_classes(task), &mut Silent))
                .expect("step trains");
            let network = learner.network().unwrap();
            if t == 0 {
                first_branch = Some(branch_state(network, 0));
            } else {
                assert_eq!(
                    first_branch.as_ref().unwrap(),
                    &branch_state(network, 0),
                    "the frozen branch saw the augmented batches without changing"
                );
            }
        }
        seconds.push(learner.steps[1].train_seconds);
        let pairs =
            pollster::block_on(learner.evaluate(&data.test.filter_classes(&[0, 1, 2, 3]))).unwrap();
        let right = pairs.iter().filter(|(truth, guess)| truth == guess).count() as f32
            / pairs.len() as f32;
        assert!(right > 0.6, "{:?} learns: {right}", learner.config.augment);
    }
    println!(
        "step 2 with a frozen branch: {:.2} s without augmentation (frozen features cached), {:.2} s with shifts (frozen branch run per batch)",
        seconds[0], seconds[1]
    );
}

#[test]
fn a_floor_of_updates_makes_a_small_step_train_and_prune_like_a_large_one() {
    let data = fixture();
    let step = data.train.filter_classes(&TASKS[0]);
    let run = |min_updates| {
        let config = LearnerConfig {
            epochs: 1,
            min_updates,
            ..config(Method::Der)
        };
        let mut learner = Learner::new(config, Device::flex());
        let summary =
            pollster::block_on(learner.learn_step(&step, &mut Silent)).expect("step trains");
        let pairs =
            pollster::block_on(learner.evaluate(&data.test.filter_classes(&TASKS[0]))).unwrap();
        let right = pairs.iter().filter(|(truth, guess)| truth == guess).count() as f32
            / pairs.len() as f32;
        (summary, right)
    };
    let (one_epoch, one_epoch_right) = run(0);
    let (floored, floored_right) = run(150);
    let batches = one_epoch.updates;
    assert_eq!(one_epoch.epochs, 1);
    assert_eq!(
        floored.epochs,
        150usize.div_ceil(batches),
        "as many epochs as 150 updates need"
    );
    assert!(
        floored.updates >= 150 && floored.updates < 150 + batches,
        "{} updates",
        floored.updates
    );
    println!(
        "one epoch: {} updates, {:.0}% right, branch {} → {} parameters; floor of 150: {} updates ({} epochs), {:.0}% right, branch {} → {}",
        one_epoch.updates,
        one_epoch_right * 100.0,
        one_epoch.branch_params_before,
        one_epoch.branch_params_after,
        floored.updates,
        floored.epochs,
        floored_right * 100.0,
        floored.branch_params_before,
        floored.branch_params_after
    );
    assert!(
        floored_right >= 0.9,
        "the floored step learns its two digits: {floored_right}"
    );
    assert!(
        floored.branch_params_after < one_epoch.branch_params_after,
        "and prunes more: the masks had updates to switch channels off"
    );
}
