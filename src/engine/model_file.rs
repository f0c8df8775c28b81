//! The model file: a learner saved in a DER Studio [`Archive`] and restored from it. It holds
//! every branch at its pruned size (with its BatchNorm statistics and gates), the classifier,
//! the next branch's initial weights, the exemplar memory, the class order and the history of steps.
//!
//! A restored learner predicts exactly as the saved one and continues with the same next step.
//! Restoring checks every shape against the architecture before building a tensor, so a damaged
//! or hostile file gives an [`ArchiveError`], never a panic inside Burn.

use burn::module::{Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNormConfig, PaddingConfig2d};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::branch::{Block, Branch, ConvBn, Stage};
use super::config::LearnerConfig;
use super::data::Sample;
use super::gate::ChannelGate;
use super::head::Head;
use super::learner::Learner;
use super::memory::Memory;
use super::network::DerNetwork;
use super::report::StepSummary;
use super::tensor_io::{ReadError, floats, read_f32};
use crate::format::archive::{Archive, ArchiveError, Entry};

/// What the JSON part of a saved model says.
#[derive(Serialize, Deserialize)]
struct ModelFileMeta {
    config: LearnerConfig,
    class_order: Vec<usize>,
    steps: Vec<StepSummary>,
    branches: usize,
    has_init_source: bool,
    memory_classes: Vec<usize>,
    /// Classifiers kept for rewinding (`step{k}.classifier.*`, after step k + 1); files saved
    /// before they were kept have none.
    #[serde(default)]
    step_classifiers: usize,
}

const META: &str = "learner.json";
/// Largest architecture a file may ask for (well above anything the app offers).
const MAX_WIDTH: usize = 512;
const MAX_INPUT: usize = 256;
const MAX_BRANCHES: usize = 64;

impl Learner {
    /// Everything needed to continue later, read back from the device asynchronously.
    pub async fn export(&self) -> Result<Archive, ReadError> {
        let (network, init_source) = self.saved_parts();
        let memory_classes: Vec<usize> = self.memory.by_class.keys().copied().collect();
        let meta = ModelFileMeta {
            config: self.config.clone(),
            class_order: self.class_order.clone(),
            steps: self.steps.clone(),
            branches: network.map_or(0, |n| n.branches.len()),
            has_init_source: init_source.is_some(),
            memory_classes: memory_classes.clone(),
            step_classifiers: self.step_classifiers.len(),
        };
        let mut archive = Archive::new();
        archive.push(Entry::json(
            META,
            serde_json::to_string(&meta).expect("plain data"),
        ));
        if let Some(network) = network {
            for (b, branch) in network.branches.iter().enumerate() {
                save_branch(&mut archive, &format!("branch{b}"), branch).await?;
            }
            save_tensor(
                &mut archive,
                "classifier.weight",
                network.classifier.weight.val(),
            )
            .await?;
            save_tensor(
                &mut archive,
                "classifier.bias",
                network.classifier.bias.val(),
            )
            .await?;
        }
        for (k, head) in self.step_classifiers.iter().enumerate() {
            save_tensor(
                &mut archive,
                &format!("step{k}.classifier.weight"),
                head.weight.val(),
            )
            .await?;
            save_tensor(
                &mut archive,
                &format!("step{k}.classifier.bias"),
                head.bias.val(),
            )
            .await?;
        }
        if let Some(source) = init_source {
            save_branch(&mut archive, "init", source).await?;
        }
        for class in memory_classes {
            let pixels: Vec<u8> = self.memory.by_class[&class]
                .iter()
                .flat_map(|s| s.pixels.iter().copied())
                .collect();
            archive.push(Entry::bytes(format!("memory/{class}"), pixels));
        }
        Ok(archive)
    }

    /// A learner on `device` from an archive written by [`Learner::export`].
    pub fn import(archive: &Archive, device: Device) -> Result<Self, ArchiveError> {
        let meta: ModelFileMeta = archive.parse(META)?;
        let config = meta.config;
        let backbone = &config.backbone;
        let invalid = |reason: String| ArchiveError::Invalid(reason);
        if !(4..=MAX_INPUT).contains(&backbone.input_size)
            || !(1..=MAX_WIDTH).contains(&backbone.width)
            || !(1..=5).contains(&backbone.stages)
            || !(1..=4).contains(&backbone.blocks_per_stage)
            || meta.branches > MAX_BRANCHES
        {
            return Err(invalid(
                "the network's size is outside what DER Studio builds".into(),
            ));
        }
        let mut seen = meta.class_order.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != meta.class_order.len() {
            return Err(invalid("a class appears twice in the class order".into()));
        }
        if (meta.branches == 0) != meta.class_order.is_empty() {
            return Err(invalid(
                "classes without a network, or a network without classes".into(),
            ));
        }

        let train_device = device.clone().autodiff();
        let mut learner = Learner::new(config.clone(), device);
        if meta.branches > 0 {
            let branches = (0..meta.branches)
                .map(|b| load_branch(archive, &format!("branch{b}"), &config, &train_device))
                .collect::<Result<Vec<_>, _>>()?;
            let features: usize = branches.iter().map(Branch::feature_dim).sum();
            let classes = meta.class_order.len();
            let weight = load_tensor::<2>(
                archive,
                "classifier.weight",
                [features, classes],
                &train_device,
            )?;
            let bias = load_tensor::<1>(archive, "classifier.bias", [classes], &train_device)?;
            let network = DerNetwork {
                branches,
                classifier: Head::from_tensors(weight, bias),
                aux: None,
            };
            learner.restore_network(network);
            if meta.step_classifiers > meta.steps.len().min(meta.branches) {
                return Err(invalid(
                    "more step classifiers than steps with a branch".into(),
                ));
            }
            let device = learner.device().clone();
            let mut features = 0;
            let mut classes = 0;
            for k in 0..meta.step_classifiers {
                features += learner.network().expect("restored").branches[k].feature_dim();
                classes += meta.steps[k].classes.len();
                if classes > meta.class_order.len() {
                    return Err(invalid(format!(
                        "step {} learned classes the model does not have",
                        k + 1
                    )));
                }
                let name = |part: &str| format!("step{k}.classifier.{part}");
                let weight =
                    load_tensor::<2>(archive, &name("weight"), [features, classes], &device)?;
                let bias = load_tensor::<1>(archive, &name("bias"), [classes], &device)?;
                learner
                    .step_classifiers
                    .push(Head::from_tensors(weight, bias));
            }
        }
        if meta.has_init_source {
            learner.init_source = Some(load_branch(archive, "init", &config, &train_device)?);
        }
        let per_sample = 3 * backbone.input_size * backbone.input_size;
        let mut memory = Memory::default();
        for class in meta.memory_classes {
            if !meta.class_order.contains(&class) {
                return Err(invalid(format!(
                    "the memory holds class {class}, which the model never learned"
                )));
            }
            let pixels = archive.bytes(&format!("memory/{class}"))?;
            if pixels.len() % per_sample != 0 {
                return Err(invalid(format!(
                    "class {class}'s memory is not a whole number of images"
                )));
            }
            let samples = pixels
                .chunks_exact(per_sample)
                .map(|p| Sample {
                    pixels: p.to_vec(),
                    label: class,
                })
                .collect();
            memory.by_class.insert(class, samples);
        }
        learner.class_order = meta.class_order;
        learner.steps = meta.steps;
        learner.memory = memory;
        Ok(learner)
    }
}

async fn save_tensor<const D: usize>(
    archive: &mut Archive,
    name: &str,
    tensor: burn::tensor::Tensor<D>,
) -> Result<(), ReadError> {
    let dims = tensor.dims().to_vec();
    archive.push(Entry::tensor(name, dims, read_f32(tensor).await?));
    Ok(())
}

async fn save_conv_bn(
    archive: &mut Archive,
    prefix: &str,
    layer: &ConvBn,
) -> Result<(), ReadError> {
    save_tensor(
        archive,
        &format!("{prefix}.weight"),
        layer.conv.weight.val(),
    )
    .await?;
    save_tensor(archive, &format!("{prefix}.gamma"), layer.bn.gamma.val()).await?;
    save_tensor(archive, &format!("{prefix}.beta"), layer.bn.beta.val()).await?;
    save_tensor(
        archive,
        &format!("{prefix}.mean"),
        layer.bn.running_mean.value_sync(),
    )
    .await?;
    save_tensor(
        archive,
        &format!("{prefix}.var"),
        layer.bn.running_var.value_sync(),
    )
    .await
}

/// A gate's embedding; an open gate (an ordinary network's) has none and writes no entry.
async fn save_gate(archive: &mut Archive, name: &str, gate: &ChannelGate) -> Result<(), ReadError> {
    match &gate.logits {
        Some(logits) => save_tensor(archive, name, logits.val()).await,
        None => Ok(()),
    }
}

async fn save_branch(
    archive: &mut Archive,
    prefix: &str,
    branch: &Branch,
) -> Result<(), ReadError> {
    save_conv_bn(archive, &format!("{prefix}.stem"), &branch.stem).await?;
    save_gate(archive, &format!("{prefix}.stem.gate"), &branch.stem_gate).await?;
    for (s, stage) in branch.stages.iter().enumerate() {
        for (b, block) in stage.blocks.iter().enumerate() {
            let p = format!("{prefix}.s{s}.b{b}");
            save_conv_bn(archive, &format!("{p}.conv1"), &block.conv1).await?;
            save_gate(archive, &format!("{p}.gate1"), &block.gate1).await?;
            save_conv_bn(archive, &format!("{p}.conv2"), &block.conv2).await?;
            if let Some(shortcut) = &block.shortcut {
                save_conv_bn(archive, &format!("{p}.shortcut"), shortcut).await?;
            }
        }
        save_gate(archive, &format!("{prefix}.s{s}.gate"), &stage.gate).await?;
    }
    Ok(())
}

/// Loads a tensor whose shape must be exactly `expected`.
fn load_tensor<const D: usize>(
    archive: &Archive,
    name: &str,
    expected: [usize; D],
    device: &Device,
) -> Result<burn::tensor::Tensor<D>, ArchiveError> {
    let (dims, values) = archive.tensor(name)?;
    if dims != expected {
        return Err(ArchiveError::Invalid(format!(
            "“{name}” has shape {dims:?}, expected {expected:?}"
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(ArchiveError::Invalid(format!(
            "“{name}” holds NaN or infinite values"
        )));
    }
    Ok(floats(values.to_vec(), expected, device))
}

/// Output channels of a saved convolution (its first dimension), checked to be usable.
fn out_channels(archive: &Archive, name: &str) -> Result<usize, ArchiveError> {
    let (dims, _) = archive.tensor(name)?;
    match dims.first() {
        Some(&c) if (1..=MAX_WIDTH * 16).contains(&c) && dims.len() == 4 => Ok(c),
        _ => Err(ArchiveError::Invalid(format!(
            "“{name}” is not a convolution kernel of a usable size"
        ))),
    }
}

fn load_conv_bn(
    archive: &Archive,
    prefix: &str,
    c_in: usize,
    kernel: usize,
    stride: usize,
    device: &Device,
) -> Result<ConvBn, ArchiveError> {
    let c_out = out_channels(archive, &format!("{prefix}.weight"))?;
    let weight = load_tensor::<4>(
        archive,
        &format!("{prefix}.weight"),
        [c_out, c_in, kernel, kernel],
        device,
    )?;
    let conv = Conv2d {
        weight: Param::from_tensor(weight),
        bias: None,
        stride: [stride, stride],
        kernel_size: [kernel, kernel],
        dilation: [1, 1],
        groups: 1,
        padding: PaddingConfig2d::Explicit(kernel / 2, kernel / 2, kernel / 2, kernel / 2),
    };
    let mut bn = BatchNormConfig::new(c_out).init(device);
    bn.gamma = Param::from_tensor(load_tensor(
        archive,
        &format!("{prefix}.gamma"),
        [c_out],
        device,
    )?);
    bn.beta = Param::from_tensor(load_tensor(
        archive,
        &format!("{prefix}.beta"),
        [c_out],
        device,
    )?);
    bn.running_mean = RunningState::new(load_tensor(
        archive,
        &format!("{prefix}.mean"),
        [c_out],
        device,
    )?);
    let var = load_tensor::<1>(archive, &format!("{prefix}.var"), [c_out], device)?;
    bn.running_var = RunningState::new(var);
    Ok(ConvBn { conv, bn })
}

/// A gate's embedding. The baselines' ordinary networks write none, so for them a missing
/// entry is an open gate; DER's must have every one. (Baseline files written before ordinary
/// networks have gate entries: those load as they were trained.)
fn load_gate(
    archive: &Archive,
    name: &str,
    channels: usize,
    config: &LearnerConfig,
    device: &Device,
) -> Result<ChannelGate, ArchiveError> {
    if archive.get(name).is_none() && !config.method.masks_channels() {
        return Ok(ChannelGate::open(channels));
    }
    Ok(ChannelGate::from_logits(load_tensor(
        archive,
        name,
        [channels],
        device,
    )?))
}

fn load_branch(
    archive: &Archive,
    prefix: &str,
    config: &LearnerConfig,
    device: &Device,
) -> Result<Branch, ArchiveError> {
    let stem = load_conv_bn(archive, &format!("{prefix}.stem"), 3, 3, 1, device)?;
    let mut channels = stem.weight_dims()[0];
    let stem_gate = load_gate(
        archive,
        &format!("{prefix}.stem.gate"),
        channels,
        config,
        device,
    )?;
    let mut stages = Vec::with_capacity(config.backbone.stages);
    for s in 0..config.backbone.stages {
        let stride = if s == 0 { 1 } else { 2 };
        let mut blocks = Vec::with_capacity(config.backbone.blocks_per_stage);
        for b in 0..config.backbone.blocks_per_stage {
            let p = format!("{prefix}.s{s}.b{b}");
            let first = b == 0;
            let conv1 = load_conv_bn(
                archive,
                &format!("{p}.conv1"),
                channels,
                3,
                if first { stride } else { 1 },
                device,
            )?;
            let inner = conv1.weight_dims()[0];
            let gate1 = load_gate(archive, &format!("{p}.gate1"), inner, config, device)?;
            let conv2 = load_conv_bn(archive, &format!("{p}.conv2"), inner, 3, 1, device)?;
            let out = conv2.weight_dims()[0];
            if !first && out != channels {
                return Err(ArchiveError::Invalid(format!(
                    "“{p}” changes the stage's width"
                )));
            }
            let shortcut = if first {
                let shortcut = load_conv_bn(
                    archive,
                    &format!("{p}.shortcut"),
                    channels,
                    1,
                    stride,
                    device,
                )?;
                if shortcut.weight_dims()[0] != out {
                    return Err(ArchiveError::Invalid(format!(
                        "“{p}.shortcut” does not match its block"
                    )));
                }
                Some(shortcut)
            } else {
                None
            };
            channels = out;
            blocks.push(Block {
                conv1,
                gate1,
                conv2,
                shortcut,
            });
        }
        let gate = load_gate(
            archive,
            &format!("{prefix}.s{s}.gate"),
            channels,
            config,
            device,
        )?;
        stages.push(Stage { blocks, gate });
    }
    Ok(Branch {
        stem,
        stem_gate,
        stages,
    })
}
