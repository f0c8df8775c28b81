//! A short training run of the engine's own network on a fixed synthetic batch: used by the
//! page's "Train demo" button, by the WebGPU-versus-CPU check and by benchmarks.
//!
//! The weights are always initialised on the CPU and then moved, so every device starts from
//! bit-identical parameters and their losses can be compared.

use burn::module::Module;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::Device;

use super::config::BackboneConfig;
use super::data::Sample;
use super::tensor_io::{batch_tensor, one_hot};
use super::gate::{mask_scale, GateMode};
use super::network::DerNetwork;
use super::rng::SplitMix64;
use super::seeding::seeded_module;
use super::tensor_io::{read_f32, ReadError};

pub const DEMO_BATCH: usize = 32;
pub const DEMO_CLASSES: usize = 4;

/// Four visual classes (a bright quadrant each) with pixel noise: easy to learn, so a working
/// training step shows a clearly falling loss within a few steps.
pub fn demo_batch(size: usize, seed: u64) -> Vec<Sample> {
    let mut rng = SplitMix64::new(seed);
    (0..DEMO_BATCH)
        .map(|i| {
            let label = i % DEMO_CLASSES;
            let (qx, qy) = (label % 2, label / 2);
            let mut pixels = vec![0u8; 3 * size * size];
            for c in 0..3 {
                for y in 0..size {
                    for x in 0..size {
                        let inside = (x * 2 / size == qx) && (y * 2 / size == qy);
                        let base = if inside { 200.0 } else { 40.0 };
                        let noise = (rng.unit_f32() - 0.5) * 80.0;
                        pixels[c * size * size + y * size + x] = (base + noise).clamp(0.0, 255.0) as u8;
                    }
                }
            }
            Sample { pixels, label }
        })
        .collect()
}

/// Runs `steps` SGD steps of a one-branch DER network (masks annealed as in training) and
/// returns the loss before each step. `on_step(step, loss, millis)` is called after each one.
pub async fn train_demo(
    device: &Device,
    steps: usize,
    seed: u64,
    mut on_step: impl FnMut(usize, f32, f64),
) -> Result<Vec<f32>, ReadError> {
    let backbone = BackboneConfig { input_size: 32, width: 8, stages: 3, blocks_per_stage: 1 };
    // Initialise on the CPU, then move: every device starts from bit-identical weights.
    let cpu = Device::flex();
    let train_device = device.clone().autodiff();
    let network = seeded_module(&cpu, seed, || DerNetwork::new(&backbone, DEMO_CLASSES, &cpu));
    let mut network = network.fork(&train_device).train();
    let samples = demo_batch(backbone.input_size, seed);
    let refs: Vec<&Sample> = samples.iter().collect();
    let mut optim = SgdConfig::new().with_momentum(Some(MomentumConfig::new().with_dampening(0.0))).init();
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let start = web_time::Instant::now();
        let (x, labels) = batch_tensor(&refs, backbone.input_size, &train_device);
        let target = one_hot(&labels, DEMO_CLASSES, &train_device);
        let mode = GateMode::Soft { scale: mask_scale(step, steps, 100.0) };
        let logits = network.forward(x, mode).logits;
        let loss = log_softmax(logits, 1).mul(target).sum_dim(1).mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        network = optim.step(0.05, network, grads);
        let value = read_f32(loss.detach()).await?[0];
        losses.push(value);
        on_step(step, value, start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(losses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_loss_falls_on_the_cpu_and_is_reproducible() {
        let device = Device::flex();
        let a = pollster::block_on(train_demo(&device, 8, 5, |_, _, _| {})).unwrap();
        let b = pollster::block_on(train_demo(&device, 8, 5, |_, _, _| {})).unwrap();
        assert_eq!(a, b, "same seed, same losses");
        assert!(a[7] < a[0] * 0.8, "loss should fall: {a:?}");
    }
}
