//! The super-feature extractor Φ_t = [F_1, …, F_t] with the classifier H_t over every class seen
//! and the auxiliary classifier H_a on the newest branch.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::branch::Branch;
use super::config::BackboneConfig;
use super::gate::GateMode;
use super::head::Head;
use super::seeding::{draw_device, materialize, moved_to};

#[derive(Module, Debug)]
pub struct DerNetwork {
    /// Oldest first; every branch but the last is frozen (no gradients, BatchNorm in eval).
    pub branches: Vec<Branch>,
    /// H_t: concatenated features → every class seen, in learning order.
    pub classifier: Head,
    /// H_a: newest branch's features → its new classes plus one "old" class.
    pub aux: Option<Head>,
}

/// What one forward pass produces.
pub struct Forward {
    pub logits: Tensor<2>,
    pub aux_logits: Option<Tensor<2>>,
}

impl DerNetwork {
    /// A first network; `gated`: DER's channel masks, or an ordinary network (the baselines).
    pub fn new(backbone: &BackboneConfig, classes: usize, gated: bool, device: &Device) -> Self {
        let branch = if gated {
            Branch::new(backbone, device)
        } else {
            Branch::plain(backbone, device)
        };
        let classifier = Head::new(branch.feature_dim(), classes, device);
        Self {
            branches: vec![branch],
            classifier,
            aux: None,
        }
    }

    /// A fresh network drawn on [`draw_device`] (the CPU) and moved to `device`: the same seed
    /// gives the same weights on every device. Call inside [`super::seeding::seeded`] on
    /// [`draw_device`].
    pub fn drawn_for(
        backbone: &BackboneConfig,
        classes: usize,
        gated: bool,
        device: &Device,
    ) -> Self {
        let cpu = draw_device();
        let network = Self::new(backbone, classes, gated, &cpu);
        materialize(&network);
        moved_to(network, device)
    }

    /// u = [F_1(x), …, F_t(x)]. The newest branch uses `newest`; older ones binary masks.
    pub fn features(&self, x: Tensor<4>, newest: GateMode) -> Tensor<2> {
        let last = self.branches.len() - 1;
        let parts: Vec<Tensor<2>> = self
            .branches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if i == last {
                    b.forward(x.clone(), newest)
                } else {
                    // Frozen: nothing to differentiate, so keep it out of the graph.
                    b.forward(x.clone(), GateMode::Binary).detach()
                }
            })
            .collect();
        if parts.len() == 1 {
            parts.into_iter().next().unwrap()
        } else {
            Tensor::cat(parts, 1)
        }
    }

    pub fn forward(&self, x: Tensor<4>, newest: GateMode) -> Forward {
        let u = self.features(x, newest);
        self.heads(u)
    }

    /// Like [`Self::forward`], with the frozen branches' features already computed (by their
    /// folded form, `engine/folded.rs`): frozen branches never change during a step.
    pub fn forward_with_frozen(
        &self,
        x: Tensor<4>,
        frozen: Option<Tensor<2>>,
        newest: GateMode,
    ) -> Forward {
        let new = self
            .branches
            .last()
            .expect("a network has a branch")
            .forward(x, newest);
        let u = match frozen {
            Some(old) => Tensor::cat(vec![old, new], 1),
            None => new,
        };
        self.heads(u)
    }

    fn heads(&self, u: Tensor<2>) -> Forward {
        let aux_logits = self.aux.as_ref().map(|aux| {
            let dim = self.branches.last().unwrap().feature_dim();
            let total = u.dims()[1];
            aux.forward(u.clone().narrow(1, total - dim, dim))
        });
        Forward {
            logits: self.classifier.forward(u),
            aux_logits,
        }
    }

    pub fn feature_dim(&self) -> usize {
        self.branches.iter().map(Branch::feature_dim).sum()
    }

    pub fn classes(&self) -> usize {
        self.classifier.outputs()
    }

    /// Parameters of every branch and both heads.
    pub fn param_count(&self) -> usize {
        self.branches.iter().map(Branch::param_count).sum::<usize>()
            + self.classifier.param_count()
            + self.aux.as_ref().map(Head::param_count).unwrap_or(0)
    }
}
