//! The only places the engine reads tensors back: always asynchronously, so the same code runs
//! in a wasm worker on WebGPU (where synchronous reads panic) and natively (where callers block).

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::data::Sample;

/// Why a read-back failed (a lost GPU device, an out-of-memory error, …).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("reading a tensor back from the device failed: {0}")]
pub struct ReadError(pub String);

pub async fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ReadError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| ReadError(format!("{e:?}")))?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| ReadError(format!("{e:?}")))
}

pub async fn read_i64<const D: usize>(tensor: Tensor<D, Int>) -> Result<Vec<i64>, ReadError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| ReadError(format!("{e:?}")))?;
    data.convert::<i64>()
        .try_into_vec::<i64>()
        .map_err(|e| ReadError(format!("{e:?}")))
}

pub fn indices(values: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

pub fn floats<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Pixel normalisation: bytes to [-1, 1].
const SCALE: f32 = 2.0 / 255.0;

/// Stacks samples into a `[batch, 3, size, size]` tensor and their labels.
pub fn batch_tensor(samples: &[&Sample], size: usize, device: &Device) -> (Tensor<4>, Vec<usize>) {
    let per = 3 * size * size;
    let mut values = Vec::with_capacity(samples.len() * per);
    let mut labels = Vec::with_capacity(samples.len());
    for sample in samples {
        values.extend(sample.pixels.iter().map(|&p| p as f32 * SCALE - 1.0));
        labels.push(sample.label);
    }
    (
        floats(values, [samples.len(), 3, size, size], device),
        labels,
    )
}

/// One-hot targets `[batch, classes]` built on the host (cheaper than a device gather).
pub fn one_hot(labels: &[usize], classes: usize, device: &Device) -> Tensor<2> {
    let mut values = vec![0f32; labels.len() * classes];
    for (row, &label) in labels.iter().enumerate() {
        values[row * classes + label] = 1.0;
    }
    floats(values, [labels.len(), classes], device)
}
