//! Reproducible parameter initialisation.
//!
//! Burn keeps one random generator per device, shared by the whole process. Seeding it and then
//! drawing is only reproducible if nothing else draws in between — which is not true when tests
//! (or a benchmark and a learner) run on several threads. Every draw from a device's generator in
//! this crate therefore goes through [`seeded`], which holds a process-wide lock from the seed
//! until the new parameters exist, and forces Burn's lazily initialised parameters to be drawn
//! while the lock is still held.
//!
//! Fresh parameters are always drawn on the CPU's generator ([`draw_device`]) and then moved to
//! the training device: WebGPU's generator gives other numbers for the same seed, so drawing on
//! the CPU is what makes a step's result depend on the seed alone — the same step on WebGPU and
//! on the CPU starts from the same weights and can be compared loss for loss.

use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};

static DEVICE_RANDOM: Mutex<()> = Mutex::new(());

/// The device whose generator draws every fresh parameter, whatever device trains.
pub fn draw_device() -> Device {
    Device::flex()
}

/// Moves a module drawn on [`draw_device`] to `device`; on an autodiff device its parameters
/// are then tracked (a fork alone keeps the plain device's untracked state).
pub fn moved_to<M: Module>(module: M, device: &Device) -> M {
    let moved = module.fork(device);
    if device.is_autodiff() {
        moved.train()
    } else {
        moved
    }
}

/// Seeds `device` and runs `draw` while no other thread can use the device's generator.
pub fn seeded<T>(device: &Device, seed: u64, draw: impl FnOnce() -> T) -> T {
    // A panic in another draw leaves nothing half-updated that matters here: keep going.
    let _guard = DEVICE_RANDOM
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    draw()
}

/// Builds a module with seeded random parameters, all of them drawn before returning.
pub fn seeded_module<M: Module>(device: &Device, seed: u64, build: impl FnOnce() -> M) -> M {
    seeded(device, seed, || {
        let module = build();
        materialize(&module);
        module
    })
}

/// Burn draws a parameter's initial value on its first use; this uses every one of them now.
pub fn materialize<M: Module>(module: &M) {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::head::Head;
    use crate::engine::tensor_io::read_f32;

    fn weights(head: &Head) -> Vec<f32> {
        pollster::block_on(read_f32(head.weight.val())).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_parameters_even_while_other_threads_draw() {
        let device = Device::flex();
        let noise = std::thread::spawn(|| {
            let device = Device::flex();
            for i in 0..200 {
                let _ = seeded(&device, i, || {
                    Tensor::<1>::random([64], burn::tensor::Distribution::Default, &device)
                });
            }
        });
        let runs: Vec<Vec<f32>> = (0..20)
            .map(|_| weights(&seeded_module(&device, 7, || Head::new(16, 4, &device))))
            .collect();
        noise.join().unwrap();
        assert!(runs.iter().all(|w| w == &runs[0]));
        let other = weights(&seeded_module(&device, 8, || Head::new(16, 4, &device)));
        assert_ne!(other, runs[0], "a different seed draws different weights");
    }
}
