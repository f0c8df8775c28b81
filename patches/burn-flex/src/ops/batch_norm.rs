//! Batch normalisation in training mode, forward and backward, on NCHW planes.
//!
//! Added by DER Studio's `[patch.crates-io]` (see its Cargo.toml). burn-backend's defaults
//! compute the per-channel statistics by swapping batch and channel into contiguous memory
//! (a full copy of the activation, twice forward and twice backward) and then a chain of
//! broadcast tensor operations. Here each channel's statistics are summed straight off its
//! planes (in f64), and the output and input gradient are written plane by plane.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::{DType, Element};
use burn_std::{Bytes, Shape};
use num_traits::Float;

use crate::{FlexTensor, Layout};

fn wide<T: num_traits::ToPrimitive>(v: T) -> f64 {
    num_traits::ToPrimitive::to_f64(&v).unwrap_or(f64::NAN)
}

fn narrow<T: num_traits::NumCast>(v: f64) -> T {
    <T as num_traits::NumCast>::from(v).expect("every float type holds an f64 value")
}

/// Σ f(a[i], b[i]) over two equal slices, in eight lanes so the loop vectorises; each plane's
/// sum then joins its channel's total in f64.
fn lane_sum<T: Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> f64 {
    let mut lanes = [T::zero(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a8.remainder().iter().zip(b8.remainder()).map(|(&x, &y)| wide(f(x, y))).sum();
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] = lanes[l] + f(x[l], y[l]);
        }
    }
    lanes.iter().map(|&l| wide(l)).sum::<f64>() + tail
}

/// Per channel, two sums over every plane of that channel: `sums(channel, plane of a, plane of b)`.
fn per_channel<T: Float + Sync>(
    a: &[T],
    b: &[T],
    (batch, channels, plane): (usize, usize, usize),
    sums: impl Fn(usize, &[T], &[T]) -> [f64; 2] + Sync,
) -> Vec<[f64; 2]> {
    let one = |c: usize| {
        let mut total = [0.0; 2];
        for n in 0..batch {
            let at = (n * channels + c) * plane;
            let [s0, s1] = sums(c, &a[at..][..plane], &b[at..][..plane]);
            total[0] += s0;
            total[1] += s1;
        }
        total
    };
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        (0..channels).into_par_iter().map(one).collect()
    }
    #[cfg(not(feature = "rayon"))]
    (0..channels).map(one).collect()
}

/// Writes every plane: `out = f(channel, plane of a, plane of b)`.
fn planes<T: Float + Send + Sync>(a: &[T], b: &[T], channels: usize, plane: usize, f: impl Fn(usize, &[T], &[T], &mut [T]) + Sync) -> Vec<T> {
    let mut out = vec![T::zero(); a.len()];
    let plane = plane.max(1);
    let fill = |(p, dst): (usize, &mut [T])| f(p % channels, &a[p * plane..][..plane], &b[p * plane..][..plane], dst);
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(plane).enumerate().for_each(fill);
    }
    #[cfg(not(feature = "rayon"))]
    out.chunks_mut(plane).enumerate().for_each(fill);
    out
}

fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let shape = x.layout().shape();
    let (batch, channels) = (shape[0], shape[1]);
    (batch, channels, shape.num_elements() / (batch * channels).max(1))
}

fn tensor<T: Element + bytemuck::Pod>(data: Vec<T>, shape: Shape) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(shape), T::dtype())
}

/// (output, mean, biased variance).
fn train_typed<T: Float + Element + bytemuck::Pod + Send + Sync>(x: &FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, epsilon: f64) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, gamma, beta) = (x.to_contiguous(), gamma.to_contiguous(), beta.to_contiguous());
    let (batch, channels, plane) = dims(&x);
    let data: &[T] = x.storage();
    let count = (batch * plane) as f64;
    let d = (batch, channels, plane);
    let sums = per_channel(data, data, d, |_, x, _| [lane_sum(x, x, |v, _| v), 0.0]);
    let mean: Vec<f64> = sums.iter().map(|s| s[0] / count).collect();
    // The variance from the centred values (two passes: no cancellation).
    let squares = per_channel(data, data, d, |c, x, _| {
        let m = narrow::<T>(mean[c]);
        [lane_sum(x, x, |v, _| (v - m) * (v - m)), 0.0]
    });
    let variance: Vec<f64> = squares.iter().map(|s| s[0] / count).collect();
    let (g, b): (&[T], &[T]) = (gamma.storage(), beta.storage());
    // out = x·scale + shift, with scale = γ/√(σ²+ε) and shift = β − μ·scale.
    let scale: Vec<T> = (0..channels).map(|c| narrow(wide(g[c]) / (variance[c] + epsilon).sqrt())).collect();
    let shift: Vec<T> = (0..channels).map(|c| narrow(wide(b[c]) - mean[c] * wide(scale[c]))).collect();
    let output = planes(data, data, channels, plane, |c, x, _, out| {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = v * scale[c] + shift[c];
        }
    });
    let cast = |v: &[f64]| v.iter().map(|&m| narrow::<T>(m)).collect::<Vec<T>>();
    (
        tensor(output, x.layout().shape().clone()),
        tensor(cast(&mean), Shape::new([channels])),
        tensor(cast(&variance), Shape::new([channels])),
    )
}

/// (x_grad, gamma_grad, beta_grad).
fn backward_typed<T: Float + Element + bytemuck::Pod + Send + Sync>(
    x: &FlexTensor,
    gamma: &FlexTensor,
    mean: &FlexTensor,
    variance: &FlexTensor,
    epsilon: f64,
    output_grad: &FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, gamma, mean, variance, dy) =
        (x.to_contiguous(), gamma.to_contiguous(), mean.to_contiguous(), variance.to_contiguous(), output_grad.to_contiguous());
    let (batch, channels, plane) = dims(&x);
    let (data, grad): (&[T], &[T]) = (x.storage(), dy.storage());
    let f = |s: &[T]| s.iter().map(|v| wide(*v)).collect::<Vec<f64>>();
    let (g, mu, var) = (f(gamma.storage()), f(mean.storage()), f(variance.storage()));
    let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    // Σ dy and Σ dy·x̂ per channel, read off the planes of x and dy together.
    let sums = per_channel(data, grad, (batch, channels, plane), |c, x, dy| {
        let (m, inv) = (narrow::<T>(mu[c]), narrow::<T>(inv_std[c]));
        [lane_sum(x, dy, |_, d| d), lane_sum(x, dy, |v, d| d * (v - m) * inv)]
    });
    let count = (batch * plane) as f64;
    // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + b·x + k per channel.
    let x_grad = planes(data, grad, channels, plane, |c, x, dy, out| {
        let scale = g[c] * inv_std[c];
        let slope = sums[c][1] / count * inv_std[c];
        let (a, b) = (narrow::<T>(scale), narrow::<T>(-scale * slope));
        let k = narrow::<T>(scale * (-sums[c][0] / count + slope * mu[c]));
        for ((o, &xv), &d) in out.iter_mut().zip(x).zip(dy) {
            *o = a * d + b * xv + k;
        }
    });
    let gamma_grad: Vec<T> = sums.iter().map(|s| narrow::<T>(s[1])).collect();
    let beta_grad: Vec<T> = sums.iter().map(|s| narrow::<T>(s[0])).collect();
    (
        tensor(x_grad, x.layout().shape().clone()),
        tensor(gamma_grad, Shape::new([channels])),
        tensor(beta_grad, Shape::new([channels])),
    )
}

pub fn batch_norm_train(x: &FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, epsilon: f64) -> (FlexTensor, FlexTensor, FlexTensor) {
    match x.dtype() {
        DType::F32 => train_typed::<f32>(x, gamma, beta, epsilon),
        DType::F64 => train_typed::<f64>(x, gamma, beta, epsilon),
        DType::F16 => train_typed::<burn_std::f16>(x, gamma, beta, epsilon),
        DType::BF16 => train_typed::<burn_std::bf16>(x, gamma, beta, epsilon),
        dtype => panic!("batch_norm_train: unsupported dtype {dtype:?}"),
    }
}

pub fn batch_norm_train_backward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    mean: &FlexTensor,
    variance: &FlexTensor,
    epsilon: f64,
    output_grad: &FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    match x.dtype() {
        DType::F32 => backward_typed::<f32>(x, gamma, mean, variance, epsilon, output_grad),
        DType::F64 => backward_typed::<f64>(x, gamma, mean, variance, epsilon, output_grad),
        DType::F16 => backward_typed::<burn_std::f16>(x, gamma, mean, variance, epsilon, output_grad),
        DType::BF16 => backward_typed::<burn_std::bf16>(x, gamma, mean, variance, epsilon, output_grad),
        dtype => panic!("batch_norm_train_backward: unsupported dtype {dtype:?}"),
    }
}
