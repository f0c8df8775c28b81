//! A linear classifier with an explicit `[inputs, outputs]` layout, so that growing it (new
//! classes, new branch features) and pruning its inputs are plain slices.

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor};

use super::seeding::{draw_device, moved_to};
use super::tensor_io::indices;

#[derive(Module, Debug)]
pub struct Head {
    /// `[inputs, outputs]`.
    pub weight: Param<Tensor<2>>,
    /// `[outputs]`.
    pub bias: Param<Tensor<1>>,
}

impl Head {
    /// A fresh head, drawn on [`draw_device`] (the CPU) and moved to `device`.
    pub fn new(inputs: usize, outputs: usize, device: &Device) -> Self {
        let bound = 1.0 / (inputs.max(1) as f64).sqrt();
        let cpu = draw_device();
        let weight = Tensor::random(
            [inputs, outputs],
            Distribution::Uniform(-bound, bound),
            &cpu,
        );
        moved_to(
            Self::from_tensors(weight, Tensor::zeros([outputs], &cpu)),
            device,
        )
    }

    pub fn from_tensors(weight: Tensor<2>, bias: Tensor<1>) -> Self {
        Self {
            weight: Param::from_tensor(weight),
            bias: Param::from_tensor(bias),
        }
    }

    pub fn inputs(&self) -> usize {
        self.weight.shape().dims::<2>()[0]
    }

    pub fn outputs(&self) -> usize {
        self.weight.shape().dims::<2>()[1]
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let outputs = self.outputs();
        x.matmul(self.weight.val())
            .add(self.bias.val().reshape([1, outputs]))
    }

    /// A larger head whose top-left block is this one: old features keep their weights for old
    /// classes; the rows of new features and the columns of new classes start fresh.
    pub fn grown(&self, inputs: usize, outputs: usize, device: &Device) -> Self {
        let (old_in, old_out) = (self.inputs(), self.outputs());
        assert!(
            inputs >= old_in && outputs >= old_out,
            "a head can only grow"
        );
        let fresh = Head::new(inputs, outputs, device);
        let weight = fresh
            .weight
            .val()
            .slice_assign([0..old_in, 0..old_out], self.weight.val().detach());
        // One range per dimension: Burn's slices are arrays, for a 1-D tensor too.
        #[allow(clippy::single_range_in_vec_init)]
        let bias = fresh
            .bias
            .val()
            .slice_assign([0..old_out], self.bias.val().detach());
        Self::from_tensors(weight.detach(), bias.detach())
    }

    /// Keeps only the input rows in `kept` (sorted indices).
    pub fn with_inputs(&self, kept: &[usize], device: &Device) -> Self {
        let weight = self.weight.val().select(0, indices(kept, device)).detach();
        Self::from_tensors(weight, self.bias.val().detach())
    }

    pub fn param_count(&self) -> usize {
        self.inputs() * self.outputs() + self.outputs()
    }
}
