//! 2D convolutions, forward and both gradients, by im2col + GEMM per image on NCHW data.
//!
//! Added by DER Studio's `[patch.crates-io]` (see its Cargo.toml). Flex's own forward path
//! first copies the whole input to NHWC on one thread, then builds and zeroes an im2col tile
//! per 512 outputs and allocates each GEMM's result; here each image's im2col is written once
//! into a buffer its thread reuses, and the GEMM writes straight into the output (a 1×1,
//! stride-1 convolution needs no im2col at all). burn-backend's default gradients reach
//! flex through other operations: the weight gradient is a convolution whose
//! kernel is the whole output gradient (batch and channels swapped, so two transposes into
//! contiguous memory, an NHWC copy and an im2col of N·H·W columns), and the input gradient is a
//! transposed convolution. Here both are one GEMM per image on the image's own NCHW planes:
//!
//! - weight: dW_g += dY_g · col_gᵀ  (col_g = im2col of the image, C/g·KH·KW × OH·OW)
//! - input:  dcol_g = W_gᵀ · dY_g, then col2im adds dcol_g back into dX
//!
//! Images are split across rayon's threads; each thread keeps one col buffer and, for the
//! weight gradient, its own partial sum.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_std::{Bytes, Shape, f16};

use crate::{FlexTensor, Layout};

/// The sizes of one 2D convolution with symmetric padding.
#[derive(Clone, Copy)]
struct Geometry {
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    groups: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    stride: [usize; 2],
    pad: [usize; 2],
    dilation: [usize; 2],
}

impl Geometry {
    /// The geometry of a forward pass: the output size from the input, kernel and options.
    fn forward(x_shape: &[usize], weight_shape: &[usize], options: &ConvOptions<2>) -> Self {
        let out = |i: usize| {
            let (begin, end) = options.padding[i];
            let span = options.dilation[i] * (weight_shape[2 + i] - 1) + 1;
            (x_shape[2 + i] + begin + end).saturating_sub(span) / options.stride[i] + 1
        };
        let (oh, ow) = (out(0), out(1));
        Self::new(x_shape, weight_shape, &[x_shape[0], weight_shape[0], oh, ow], options)
    }

    fn new(x_shape: &[usize], weight_shape: &[usize], grad_shape: &[usize], options: &ConvOptions<2>) -> Self {
        Self {
            batch: x_shape[0],
            c_in: x_shape[1],
            h: x_shape[2],
            w: x_shape[3],
            c_out: weight_shape[0],
            groups: options.groups,
            kh: weight_shape[2],
            kw: weight_shape[3],
            oh: grad_shape[2],
            ow: grad_shape[3],
            stride: options.stride,
            pad: options.padding_begin(),
            dilation: options.dilation,
        }
    }
    fn in_per_group(&self) -> usize {
        self.c_in / self.groups
    }
    fn out_per_group(&self) -> usize {
        self.c_out / self.groups
    }
    /// Rows of one group's col matrix: C/g · KH · KW.
    fn col_rows(&self) -> usize {
        self.in_per_group() * self.kh * self.kw
    }
    fn out_plane(&self) -> usize {
        self.oh * self.ow
    }
    fn in_image(&self) -> usize {
        self.c_in * self.h * self.w
    }
    fn out_image(&self) -> usize {
        self.c_out * self.out_plane()
    }
    /// The output columns `ox` whose input column `ox·s + kx·d − p` lies inside the image.
    fn valid_ox(&self, kx: usize) -> (usize, usize) {
        let offset = (kx * self.dilation[1]) as isize - self.pad[1] as isize;
        let s = self.stride[1] as isize;
        // ox·s + offset ≥ 0  and  ox·s + offset ≤ w − 1
        let first = if offset >= 0 { 0 } else { ((-offset) + s - 1) / s };
        let last = (self.w as isize - 1 - offset).div_euclid(s) + 1;
        let first = (first as usize).min(self.ow);
        (first, (last.max(0) as usize).clamp(first, self.ow))
    }
    /// The input row of output row `oy` for kernel row `ky`, if inside the image.
    fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        let iy = (oy * self.stride[0] + ky * self.dilation[0]) as isize - self.pad[0] as isize;
        (iy >= 0 && (iy as usize) < self.h).then_some(iy as usize)
    }
}

trait GradElement: burn_std::Element + Copy + Send + Sync + 'static + core::ops::AddAssign + bytemuck::Pod {
    const ZERO: Self;
    const ONE: Self;
    const DTYPE: DType;
}
impl GradElement for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const DTYPE: DType = DType::F32;
}
impl GradElement for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const DTYPE: DType = DType::F64;
}
impl GradElement for f16 {
    const ZERO: Self = f16::ZERO;
    const ONE: Self = f16::ONE;
    const DTYPE: DType = DType::F16;
}

/// Writes group `g`'s im2col of one image: row `(ci·KH + ky)·KW + kx`, column `oy·OW + ox`.
/// Every element is written (padding as zero), so `col` needs no clearing between images.
fn im2col<T: GradElement>(image: &[T], g: usize, geo: &Geometry, col: &mut [T]) {
    let plane = geo.h * geo.w;
    let cols = geo.out_plane();
    for ci in 0..geo.in_per_group() {
        let channel = &image[(g * geo.in_per_group() + ci) * plane..][..plane];
        for ky in 0..geo.kh {
            for kx in 0..geo.kw {
                let row = (ci * geo.kh + ky) * geo.kw + kx;
                let dst = &mut col[row * cols..][..cols];
                let (first, last) = geo.valid_ox(kx);
                let x_offset = (kx * geo.dilation[1]) as isize - geo.pad[1] as isize;
                for oy in 0..geo.oh {
                    let out = &mut dst[oy * geo.ow..][..geo.ow];
                    let Some(iy) = geo.input_row(oy, ky) else {
                        out.fill(T::ZERO);
                        continue;
                    };
                    let src = &channel[iy * geo.w..][..geo.w];
                    out[..first].fill(T::ZERO);
                    out[last..].fill(T::ZERO);
                    if geo.stride[1] == 1 {
                        let start = (first as isize + x_offset) as usize;
                        out[first..last].copy_from_slice(&src[start..start + (last - first)]);
                    } else {
                        for (ox, o) in out.iter_mut().enumerate().take(last).skip(first) {
                            *o = src[(ox as isize * geo.stride[1] as isize + x_offset) as usize];
                        }
                    }
                }
            }
        }
    }
}

/// Adds group `g`'s col matrix back into one image's input gradient (the transpose of [`im2col`]).
fn col2im_add<T: GradElement>(col: &[T], g: usize, geo: &Geometry, image: &mut [T]) {
    let plane = geo.h * geo.w;
    let cols = geo.out_plane();
    for ci in 0..geo.in_per_group() {
        let channel = &mut image[(g * geo.in_per_group() + ci) * plane..][..plane];
        for ky in 0..geo.kh {
            for kx in 0..geo.kw {
                let row = (ci * geo.kh + ky) * geo.kw + kx;
                let src = &col[row * cols..][..cols];
                let (first, last) = geo.valid_ox(kx);
                let x_offset = (kx * geo.dilation[1]) as isize - geo.pad[1] as isize;
                for oy in 0..geo.oh {
                    let Some(iy) = geo.input_row(oy, ky) else { continue };
                    let input = &mut channel[iy * geo.w..][..geo.w];
                    let grads = &src[oy * geo.ow..][..geo.ow];
                    if geo.stride[1] == 1 {
                        let start = (first as isize + x_offset) as usize;
                        for (i, &v) in input[start..start + (last - first)].iter_mut().zip(&grads[first..last]) {
                            *i += v;
                        }
                    } else {
                        for ox in first..last {
                            input[(ox as isize * geo.stride[1] as isize + x_offset) as usize] += grads[ox];
                        }
                    }
                }
            }
        }
    }
}

/// `dst (m×n) = read·dst + lhs (m×k) · rhs (k×n)`, strides in elements (column, row).
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_into<T: GradElement>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: usize,
    accumulate: bool,
    lhs: *const T,
    (lhs_cs, lhs_rs): (usize, usize),
    rhs: *const T,
    (rhs_cs, rhs_rs): (usize, usize),
) {
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs,
            lhs_cs as isize,
            lhs_rs as isize,
            rhs,
            rhs_cs as isize,
            rhs_rs as isize,
            if accumulate { T::ONE } else { T::ZERO },
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// How many images each parallel task takes: four tasks a thread, so that a thread that wakes
/// late (a Web Worker in the browser wakes in tens of microseconds or more) still finds work.
fn images_per_task(batch: usize) -> usize {
    #[cfg(feature = "rayon")]
    let tasks = 4 * rayon::current_num_threads().max(1);
    #[cfg(not(feature = "rayon"))]
    let tasks = 1;
    batch.div_ceil(tasks).max(1)
}

fn weight_grad<T: GradElement>(x: &[T], grad: &[T], geo: Geometry) -> Vec<T> {
    let (rows, cols, opg) = (geo.col_rows(), geo.out_plane(), geo.out_per_group());
    let per_task = images_per_task(geo.batch);
    // One partial dW per task over its images: dW_g += dY_g · col_gᵀ.
    let partial = |images: core::ops::Range<usize>| {
        let mut dw = vec![T::ZERO; geo.c_out * rows];
        let mut col = vec![T::ZERO; rows * cols];
        for b in images {
            let image = &x[b * geo.in_image()..][..geo.in_image()];
            let dy = &grad[b * geo.out_image()..][..geo.out_image()];
            for g in 0..geo.groups {
                im2col(image, g, &geo, &mut col);
                unsafe {
                    gemm_into(
                        opg,
                        rows,
                        cols,
                        dw.as_mut_ptr().add(g * opg * rows),
                        rows,
                        true,
                        dy.as_ptr().add(g * opg * cols),
                        (1, cols),
                        col.as_ptr(),
                        (cols, 1),
                    );
                }
            }
        }
        dw
    };
    let tasks: Vec<_> = (0..geo.batch).step_by(per_task).map(|s| s..(s + per_task).min(geo.batch)).collect();
    #[cfg(feature = "rayon")]
    let partials: Vec<Vec<T>> = {
        use rayon::prelude::*;
        tasks.into_par_iter().map(partial).collect()
    };
    #[cfg(not(feature = "rayon"))]
    let partials: Vec<Vec<T>> = tasks.into_iter().map(partial).collect();
    let mut partials = partials.into_iter();
    let mut dw = partials.next().unwrap_or_else(|| vec![T::ZERO; geo.c_out * rows]);
    for p in partials {
        for (a, b) in dw.iter_mut().zip(p) {
            *a += b;
        }
    }
    dw
}

/// Whether the im2col matrix of an image is the image itself (1×1 kernel, stride 1, no padding).
fn is_pointwise(geo: &Geometry) -> bool {
    geo.kh == 1 && geo.kw == 1 && geo.stride == [1, 1] && geo.pad == [0, 0] && geo.oh == geo.h && geo.ow == geo.w
}

fn forward<T: GradElement>(x: &[T], weight: &[T], bias: Option<&[T]>, geo: Geometry) -> Vec<T> {
    let (rows, cols, opg) = (geo.col_rows(), geo.out_plane(), geo.out_per_group());
    let per_task = images_per_task(geo.batch);
    let pointwise = is_pointwise(&geo);
    // For each image and group: Y_g = W_g · col_g, straight into the output.
    let run = |(task, out_task): (usize, &mut [T])| {
        let mut col = if pointwise { Vec::new() } else { vec![T::ZERO; rows * cols] };
        for (i, out_image) in out_task.chunks_mut(geo.out_image()).enumerate() {
            let b = task * per_task + i;
            let image = &x[b * geo.in_image()..][..geo.in_image()];
            for g in 0..geo.groups {
                let rhs = if pointwise {
                    image[g * rows * cols..].as_ptr()
                } else {
                    im2col(image, g, &geo, &mut col);
                    col.as_ptr()
                };
                unsafe {
                    gemm_into(
                        opg,
                        cols,
                        rows,
                        out_image.as_mut_ptr().add(g * opg * cols),
                        cols,
                        false,
                        weight.as_ptr().add(g * opg * rows),
                        (1, rows),
                        rhs,
                        (1, cols),
                    );
                }
            }
            if let Some(bias) = bias {
                for (channel, &b) in out_image.chunks_mut(cols).zip(bias) {
                    for v in channel {
                        *v += b;
                    }
                }
            }
        }
    };
    zeroed_by_tasks(geo.batch * geo.out_image(), per_task * geo.out_image(), run)
}

fn input_grad<T: GradElement>(weight: &[T], grad: &[T], geo: Geometry) -> Vec<T> {
    let (rows, cols, opg) = (geo.col_rows(), geo.out_plane(), geo.out_per_group());
    let per_task = images_per_task(geo.batch);
    // For each image: dcol_g = W_gᵀ · dY_g, added back into dX by col2im.
    let run = |(task, dx_task): (usize, &mut [T])| {
        let mut col = vec![T::ZERO; rows * cols];
        for (i, dx_image) in dx_task.chunks_mut(geo.in_image()).enumerate() {
            let b = task * per_task + i;
            let dy = &grad[b * geo.out_image()..][..geo.out_image()];
            for g in 0..geo.groups {
                unsafe {
                    gemm_into(
                        rows,
                        cols,
                        opg,
                        col.as_mut_ptr(),
                        cols,
                        false,
                        weight.as_ptr().add(g * opg * rows),
                        (rows, 1),
                        dy.as_ptr().add(g * opg * cols),
                        (1, cols),
                    );
                }
                col2im_add(&col, g, &geo, dx_image);
            }
        }
    };
    zeroed_by_tasks(geo.batch * geo.in_image(), per_task * geo.in_image(), run)
}

/// A buffer of `len` elements cut into tasks of `chunk`, each zeroed and then filled by `run`
/// (task index, its slice) on its own thread. Zeroing the whole buffer first on the calling
/// thread was the largest serial part of a threaded convolution (`vec::from_elem` in the
/// browser worker's profile); here each task zeroes the part it is about to write.
#[cfg(feature = "rayon")]
fn zeroed_by_tasks<T: GradElement>(len: usize, chunk: usize, run: impl Fn((usize, &mut [T])) + Sync + Send) -> Vec<T> {
    use core::mem::MaybeUninit;
    use rayon::prelude::*;
    let mut buffer: Vec<T> = Vec::with_capacity(len);
    let task = |(index, part): (usize, &mut [MaybeUninit<T>])| {
        for v in part.iter_mut() {
            v.write(T::ZERO);
        }
        // SAFETY: every element of `part` was written just above.
        let part = unsafe { &mut *(part as *mut [MaybeUninit<T>] as *mut [T]) };
        run((index, part));
    };
    buffer.spare_capacity_mut()[..len].par_chunks_mut(chunk.max(1)).enumerate().for_each(task);
    // SAFETY: the tasks above cover `0..len` and initialised all of it.
    unsafe { buffer.set_len(len) };
    buffer
}

/// On one thread: zeroed at once (the allocator may hand over memory that is zero already).
#[cfg(not(feature = "rayon"))]
fn zeroed_by_tasks<T: GradElement>(len: usize, chunk: usize, run: impl Fn((usize, &mut [T]))) -> Vec<T> {
    let mut buffer = vec![T::ZERO; len];
    buffer.chunks_mut(chunk.max(1)).enumerate().for_each(run);
    buffer
}

fn forward_typed<T: GradElement>(x: &FlexTensor, weight: &FlexTensor, bias: Option<&FlexTensor>, options: &ConvOptions<2>) -> FlexTensor {
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let bias = bias.map(|b| b.to_contiguous());
    let geo = Geometry::forward(x.layout().shape(), weight.layout().shape(), options);
    let data = forward::<T>(x.storage(), weight.storage(), bias.as_ref().map(|b| b.storage()), geo);
    let shape = Shape::from(vec![geo.batch, geo.c_out, geo.oh, geo.ow]);
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(shape), T::DTYPE)
}

/// A 2D convolution of f32, f64 or f16 (`None` for other types: flex's own path takes them).
pub fn conv2d(x: &FlexTensor, weight: &FlexTensor, bias: Option<&FlexTensor>, options: &ConvOptions<2>) -> Option<FlexTensor> {
    match x.dtype() {
        DType::F32 => Some(forward_typed::<f32>(x, weight, bias, options)),
        DType::F64 => Some(forward_typed::<f64>(x, weight, bias, options)),
        DType::F16 => Some(forward_typed::<f16>(x, weight, bias, options)),
        _ => None,
    }
}

fn typed<T: GradElement>(
    x: &FlexTensor,
    weight_shape: &[usize],
    grad: &FlexTensor,
    options: &ConvOptions<2>,
    input: bool,
    weight: Option<&FlexTensor>,
) -> FlexTensor {
    let geo = Geometry::new(x.layout().shape(), weight_shape, grad.layout().shape(), options);
    let grad = grad.to_contiguous();
    let (data, shape) = if input {
        let weight = weight.expect("the input gradient needs the weight").to_contiguous();
        (input_grad::<T>(weight.storage(), grad.storage(), geo), x.layout().shape().clone())
    } else {
        let x = x.to_contiguous();
        (weight_grad::<T>(x.storage(), grad.storage(), geo), Shape::from(weight_shape.to_vec()))
    };
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(shape), T::DTYPE)
}

fn dispatch(
    x: &FlexTensor,
    weight: &FlexTensor,
    grad: &FlexTensor,
    options: &ConvOptions<2>,
    input: bool,
) -> FlexTensor {
    let w_shape = weight.layout().shape().to_vec();
    match x.dtype() {
        DType::F32 => typed::<f32>(x, &w_shape, grad, options, input, Some(weight)),
        DType::F64 => typed::<f64>(x, &w_shape, grad, options, input, Some(weight)),
        DType::F16 => typed::<f16>(x, &w_shape, grad, options, input, Some(weight)),
        DType::BF16 => {
            use crate::ops::conv_common::{convert_bf16_to_f32, convert_f32_to_bf16};
            let result = typed::<f32>(
                &convert_bf16_to_f32(x),
                &w_shape,
                &convert_bf16_to_f32(grad),
                options,
                input,
                Some(&convert_bf16_to_f32(weight)),
            );
            convert_f32_to_bf16(&result)
        }
        dtype => panic!("conv2d backward: unsupported dtype {dtype:?}"),
    }
}

/// The gradient of a 2D convolution's weight. `options` must have symmetric padding (pad the
/// input first otherwise, as the forward pass does).
pub fn conv2d_weight_backward(x: &FlexTensor, weight: &FlexTensor, grad: &FlexTensor, options: &ConvOptions<2>) -> FlexTensor {
    dispatch(x, weight, grad, options, false)
}

/// The gradient of a 2D convolution's input (symmetric padding, as above).
pub fn conv2d_x_backward(x: &FlexTensor, weight: &FlexTensor, grad: &FlexTensor, options: &ConvOptions<2>) -> FlexTensor {
    dispatch(x, weight, grad, options, true)
}
