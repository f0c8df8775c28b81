//! The only places the engine reads tensors back: always asynchronously, so the same code runs
//! in a wasm worker on WebGPU (where synchronous reads panic) and natively (where callers block).

use burn::tensor::{Device, Int, Tensor, TensorData};

/// Why a read-back failed (a lost GPU device, an out-of-memory error, …).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadError(pub String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reading a tensor back from the device failed: {}", self.0)
    }
}

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
