//! The DER engine on real images (MNIST digits 0–5, three steps of two classes), natively on
//! the CPU device: what freezing, pruning and memory must achieve together.

use std::path::Path;

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
        backbone: BackboneConfig { input_size: 16, width: 8, stages: 2, blocks_per_stage: 1 },
        epochs: 30,
        batch_size: 16,
        memory_total: 60,
        relearn_epochs: 20,
        seed: 7,
        // A strong push, so that even 30 epochs on a few images switch channels off.
        lambda_sparsity: 0.5,
        ..LearnerConfig::default()
    }
}

fn run(method: Method, data: &ImageFolder, mut after_step: impl FnMut(usize, &Learner)) -> AccuracyMatrix {
    let mut learner = Learner::new(config(method), Device::flex());
    let mut matrix = AccuracyMatrix::default();
    for (t, task) in TASKS.iter().enumerate() {
        pollster::block_on(learner.learn_step(&data.train.filter_classes(task), &mut Silent)).expect("step trains");
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
        state.push(pollster::block_on(read_f32(gate.logits.val())).unwrap());
    }
    state
}

#[test]
fn der_freezes_old_branches_prunes_new_ones_and_forgets_less_than_finetuning() {
    let data = fixture();
    let mut first_branch_after_step_1 = None;
    let mut summaries = Vec::new();
    let der = run(Method::Der, &data, |t, learner| {
        let network = learner.network().unwrap();
        assert_eq!(network.branches.len(), t + 1, "one branch per step");
        if t == 0 {
            first_branch_after_step_1 = Some(branch_state(network, 0));
        } else {
            // Weights and BatchNorm statistics of the frozen branch are bit-for-bit unchanged.
            assert_eq!(first_branch_after_step_1.as_ref().unwrap(), &branch_state(network, 0), "step {}", t + 1);
        }
        summaries.push(learner.steps.last().unwrap().clone());
        // Memory: 60 exemplars in total, spread over the classes seen.
        let per_class = 60 / (2 * (t + 1));
        assert!(learner.memory.by_class.values().all(|m| m.len() == per_class));
    });
    let finetune = run(Method::Finetune, &data, |_, learner| {
        assert_eq!(learner.network().unwrap().branches.len(), 1);
    });
    println!("DER rows {:?}\nfine-tuning rows {:?}", der.rows, finetune.rows);
    for s in &summaries {
        println!("step {}: branch params {} → {}, channels {:?} → {:?}", s.step + 1, s.branch_params_before, s.branch_params_after, s.channels_before, s.channels_after);
    }
    // Pruning removed parameters in every step.
    assert!(summaries.iter().all(|s| s.branch_params_after < s.branch_params_before));
    // The first task after the last step: DER keeps clearly more than fine-tuning.
    let der_old = (der.rows[2][0] + der.rows[2][1]) / 2.0;
    let finetune_old = (finetune.rows[2][0] + finetune.rows[2][1]) / 2.0;
    assert!(der_old > finetune_old + 0.2, "old-task accuracy: DER {der_old} vs fine-tuning {finetune_old}");
    assert!(der.last_accuracy() > finetune.last_accuracy());
    assert!(der.rows[0][0] > 0.8, "the first step learns its two digits: {}", der.rows[0][0]);
}

#[test]
fn a_step_with_an_already_learned_class_or_a_single_first_class_is_refused() {
    let data = fixture();
    let mut learner = Learner::new(config(Method::Der), Device::flex());
    let one = pollster::block_on(learner.learn_step(&data.train.filter_classes(&[0]), &mut Silent));
    assert_eq!(one.unwrap_err().to_string(), "the first step needs at least two classes to tell apart");
    assert!(learner.network().is_none(), "nothing trained");
}

#[test]
fn a_memory_per_class_grows_with_the_classes_while_a_fixed_total_is_shared() {
    let data = fixture();
    let short = |memory_per_class| LearnerConfig { epochs: 2, relearn_epochs: 2, memory_per_class, ..config(Method::Der) };
    let mut per_class = Learner::new(short(Some(7)), Device::flex());
    let mut total = Learner::new(short(None), Device::flex());
    for (t, task) in TASKS[..2].iter().enumerate() {
        let train = data.train.filter_classes(task);
        pollster::block_on(per_class.learn_step(&train, &mut Silent)).unwrap();
        pollster::block_on(total.learn_step(&train, &mut Silent)).unwrap();
        let classes = 2 * (t + 1);
        assert_eq!(per_class.memory.by_class.len(), classes);
        assert!(per_class.memory.by_class.values().all(|m| m.len() == 7), "7 exemplars for each class, step {}", t + 1);
        assert_eq!(per_class.memory.len(), 7 * classes);
        assert!(total.memory.by_class.values().all(|m| m.len() == 60 / classes), "60 shared by {classes} classes");
        // Exemplars are real training images of their own class.
        for (label, exemplars) in &per_class.memory.by_class {
            assert!(exemplars.iter().all(|e| e.label == *label && data.train.samples.contains(e)));
        }
    }
}
