//! The CPU device's kernels that our burn-flex patch replaces (`patches/burn-flex`): 2D
//! convolutions and their gradients (im2col + GEMM, `ops/conv_nchw.rs`) and training-mode batch norm
//! (`ops/batch_norm.rs`), against their definitions computed by hand; and the elementwise maps
//! the patch splits over rayon's threads above 32K elements (ReLU, its gradient, in-place sums).

use burn::tensor::activation::relu;
use burn::tensor::module::{batch_norm_train, conv2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use der_studio::engine::tensor_io::read_f32;

/// One convolution: input [n, c_in, h, w], weight [c_out, c_in / groups, kh, kw].
struct Case {
    n: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    k: [usize; 2],
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
    groups: usize,
}

fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// conv(x, w) + bias and the gradients of Σ r·conv(x, w) with respect to x and w, by the definition.
// Index loops on purpose: they spell out the definition's sums, index by index.
#[allow(clippy::needless_range_loop)]
fn by_hand(
    c: &Case,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    r: &[f32],
    [oh, ow]: [usize; 2],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (cpg, opg) = (c.c_in / c.groups, c.c_out / c.groups);
    let mut y = vec![0.0; r.len()];
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    for b in 0..c.n {
        for co in 0..c.c_out {
            let g = co / opg;
            for oy in 0..oh {
                for ox in 0..ow {
                    let at = ((b * c.c_out + co) * oh + oy) * ow + ox;
                    let grad = r[at];
                    y[at] += bias[co];
                    for ci in 0..cpg {
                        for ky in 0..c.k[0] {
                            for kx in 0..c.k[1] {
                                let iy = (oy * c.stride[0] + ky * c.dilation[0]) as isize
                                    - c.padding[0].0 as isize;
                                let ix = (ox * c.stride[1] + kx * c.dilation[1]) as isize
                                    - c.padding[1].0 as isize;
                                if iy < 0 || ix < 0 || iy as usize >= c.h || ix as usize >= c.w {
                                    continue;
                                }
                                let xi = ((b * c.c_in + g * cpg + ci) * c.h + iy as usize) * c.w
                                    + ix as usize;
                                let wi = ((co * cpg + ci) * c.k[0] + ky) * c.k[1] + kx;
                                y[at] += x[xi] * w[wi];
                                dx[xi] += grad * w[wi];
                                dw[wi] += grad * x[xi];
                            }
                        }
                    }
                }
            }
        }
    }
    (y, dx, dw)
}

fn assert_close(what: &str, got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * scale,
            "{what}[{i}]: {a} against {b}"
        );
    }
}

fn check(c: Case) {
    let device = Device::flex().autodiff();
    let x_values = values(c.n * c.c_in * c.h * c.w, 1);
    let w_values = values(c.c_out * (c.c_in / c.groups) * c.k[0] * c.k[1], 2);
    let x = Tensor::<4>::from_data(
        TensorData::new(x_values.clone(), [c.n, c.c_in, c.h, c.w]),
        &device,
    )
    .require_grad();
    let w = Tensor::<4>::from_data(
        TensorData::new(
            w_values.clone(),
            [c.c_out, c.c_in / c.groups, c.k[0], c.k[1]],
        ),
        &device,
    )
    .require_grad();
    let bias_values = values(c.c_out, 4);
    let bias = Tensor::<1>::from_data(TensorData::new(bias_values.clone(), [c.c_out]), &device);
    let options = ConvOptions::new_with_padding(c.stride, c.padding, c.dilation, c.groups);
    let y = conv2d(x.clone(), w.clone(), Some(bias), options);
    let [_, _, oh, ow] = y.dims();
    let r_values = values(c.n * c.c_out * oh * ow, 3);
    let r = Tensor::<4>::from_data(
        TensorData::new(r_values.clone(), [c.n, c.c_out, oh, ow]),
        &device,
    );
    let y_values = pollster::block_on(read_f32(y.clone())).unwrap();
    let grads = (y * r).sum().backward();
    let dx = pollster::block_on(read_f32(x.grad(&grads).expect("x has a gradient"))).unwrap();
    let dw = pollster::block_on(read_f32(w.grad(&grads).expect("w has a gradient"))).unwrap();
    let (y_expected, dx_expected, dw_expected) =
        by_hand(&c, &x_values, &w_values, &bias_values, &r_values, [oh, ow]);
    assert!(
        dw_expected.iter().any(|v| v.abs() > 0.1),
        "the case exercises the weights"
    );
    assert_close("y", &y_values, &y_expected);
    assert_close("dx", &dx, &dx_expected);
    assert_close("dw", &dw, &dw_expected);
}

#[test]
fn a_3x3_convolution_with_padding_matches_the_definition() {
    check(Case {
        n: 5,
        c_in: 3,
        h: 9,
        w: 7,
        c_out: 4,
        k: [3, 3],
        stride: [1, 1],
        padding: [(1, 1), (1, 1)],
        dilation: [1, 1],
        groups: 1,
    });
}

#[test]
fn a_strided_convolution_and_a_strided_1x1_projection_match_the_definition() {
    check(Case {
        n: 3,
        c_in: 4,
        h: 10,
        w: 9,
        c_out: 6,
        k: [3, 3],
        stride: [2, 2],
        padding: [(1, 1), (1, 1)],
        dilation: [1, 1],
        groups: 1,
    });
    check(Case {
        n: 3,
        c_in: 4,
        h: 10,
        w: 9,
        c_out: 6,
        k: [1, 1],
        stride: [2, 2],
        padding: [(0, 0), (0, 0)],
        dilation: [1, 1],
        groups: 1,
    });
    // Stride 1: the image is its own im2col.
    check(Case {
        n: 3,
        c_in: 4,
        h: 10,
        w: 9,
        c_out: 6,
        k: [1, 1],
        stride: [1, 1],
        padding: [(0, 0), (0, 0)],
        dilation: [1, 1],
        groups: 2,
    });
}

#[test]
fn dilated_grouped_and_asymmetrically_padded_convolutions_match_the_definition() {
    check(Case {
        n: 2,
        c_in: 4,
        h: 11,
        w: 8,
        c_out: 6,
        k: [3, 2],
        stride: [1, 2],
        padding: [(2, 1), (0, 1)],
        dilation: [2, 1],
        groups: 2,
    });
    check(Case {
        n: 4,
        c_in: 2,
        h: 6,
        w: 6,
        c_out: 2,
        k: [5, 5],
        stride: [1, 1],
        padding: [(0, 0), (0, 0)],
        dilation: [1, 1],
        groups: 1,
    });
}

#[test]
fn training_batch_norm_and_its_gradients_match_the_definition() {
    let device = Device::flex().autodiff();
    let [n, c, h, w] = [4, 3, 5, 6];
    let (per_channel, count) = (h * w, (n * h * w) as f32);
    let x_values: Vec<f32> = values(n * c * h * w, 4)
        .iter()
        .enumerate()
        .map(|(i, v)| v * 2.0 + (i / per_channel % c) as f32)
        .collect();
    let (gamma_values, beta_values, r_values) =
        (values(c, 5), values(c, 6), values(n * c * h * w, 7));
    let x = Tensor::<4>::from_data(TensorData::new(x_values.clone(), [n, c, h, w]), &device)
        .require_grad();
    let gamma =
        Tensor::<1>::from_data(TensorData::new(gamma_values.clone(), [c]), &device).require_grad();
    let beta =
        Tensor::<1>::from_data(TensorData::new(beta_values.clone(), [c]), &device).require_grad();
    let out = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
    let r = Tensor::<4>::from_data(TensorData::new(r_values.clone(), [n, c, h, w]), &device);
    let (mean, variance) = (
        pollster::block_on(read_f32(out.mean)).unwrap(),
        pollster::block_on(read_f32(out.variance)).unwrap(),
    );
    let y = pollster::block_on(read_f32(out.output.clone())).unwrap();
    let grads = (out.output * r).sum().backward();
    let read = |t: Option<Tensor<4>>| pollster::block_on(read_f32(t.expect("a gradient"))).unwrap();
    let dx = read(x.grad(&grads));
    let dgamma = pollster::block_on(read_f32(gamma.grad(&grads).unwrap())).unwrap();
    let dbeta = pollster::block_on(read_f32(beta.grad(&grads).unwrap())).unwrap();

    // By hand: statistics per channel over the batch and the plane.
    let index = |b: usize, ch: usize, p: usize| (b * c + ch) * per_channel + p;
    let mut expected = (
        vec![0.0; x_values.len()],
        vec![0.0; x_values.len()],
        vec![0.0; c],
        vec![0.0; c],
        vec![0.0; c],
        vec![0.0; c],
    );
    for ch in 0..c {
        let at = |b, p| x_values[index(b, ch, p)];
        let all = || (0..n).flat_map(move |b| (0..per_channel).map(move |p| (b, p)));
        let mu = all().map(|(b, p)| at(b, p)).sum::<f32>() / count;
        let var = all().map(|(b, p)| (at(b, p) - mu).powi(2)).sum::<f32>() / count;
        let inv = 1.0 / (var + 1e-5f32).sqrt();
        let x_hat = |b, p| (at(b, p) - mu) * inv;
        let dy = |b: usize, p: usize| r_values[index(b, ch, p)];
        let sum_dy = all().map(|(b, p)| dy(b, p)).sum::<f32>();
        let sum_dy_xhat = all().map(|(b, p)| dy(b, p) * x_hat(b, p)).sum::<f32>();
        for (b, p) in all() {
            expected.0[index(b, ch, p)] = x_hat(b, p) * gamma_values[ch] + beta_values[ch];
            expected.1[index(b, ch, p)] = gamma_values[ch]
                * inv
                * (dy(b, p) - sum_dy / count - x_hat(b, p) * sum_dy_xhat / count);
        }
        (
            expected.2[ch],
            expected.3[ch],
            expected.4[ch],
            expected.5[ch],
        ) = (mu, var, sum_dy_xhat, sum_dy);
    }
    assert_close("output", &y, &expected.0);
    assert_close("mean", &mean, &expected.2);
    assert_close("variance", &variance, &expected.3);
    assert_close("dx", &dx, &expected.1);
    assert_close("dgamma", &dgamma, &expected.4);
    assert_close("dbeta", &dbeta, &expected.5);
}

/// ReLU and its gradient over 3 × 40,000 elements (split over the threads), with NaNs in
/// the input: max(x, 0) with NaN kept, and the gradient passed where the output is positive or
/// NaN. Twice: once with the input still held elsewhere (a new output buffer) and once as the
/// only owner (in place). Then x + y, in place, at the same size.
#[test]
fn relu_its_gradient_and_a_sum_split_over_threads_match_the_definition() {
    let device = Device::flex().autodiff();
    let n = 3 * 40_000;
    let mut x_values = values(n, 7);
    for i in (0..n).step_by(9_973) {
        x_values[i] = f32::NAN;
    }
    let r_values = values(n, 8);
    let relu_of = |v: f32| if v.is_nan() || v > 0.0 { v } else { 0.0 };
    let same = |what: &str, got: &[f32], expected: &[f32]| {
        assert_eq!(got.len(), expected.len(), "{what}: length");
        for (i, (a, b)) in got.iter().zip(expected).enumerate() {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "{what}[{i}]: {a} against {b}"
            );
        }
    };

    let x = Tensor::<2>::from_data(TensorData::new(x_values.clone(), [3, 40_000]), &device)
        .require_grad();
    let r = Tensor::<2>::from_data(TensorData::new(r_values.clone(), [3, 40_000]), &device);
    let y = relu(x.clone());
    let y_values = pollster::block_on(read_f32(y.clone())).unwrap();
    let grads = (y * r).sum().backward();
    let dx = pollster::block_on(read_f32(x.grad(&grads).expect("x has a gradient"))).unwrap();
    let y_expected: Vec<f32> = x_values.iter().map(|&v| relu_of(v)).collect();
    let dx_expected: Vec<f32> = x_values
        .iter()
        .zip(&r_values)
        .map(|(&v, &g)| if v.is_nan() || v > 0.0 { g } else { 0.0 })
        .collect();
    assert!(
        y_expected.iter().filter(|v| **v == 0.0).count() > n / 3,
        "the case has negative inputs"
    );
    same("relu (new buffer)", &y_values, &y_expected);
    same("relu gradient", &dx, &dx_expected);

    let plain = Device::flex();
    let owned = Tensor::<1>::from_data(TensorData::new(x_values.clone(), [n]), &plain);
    same(
        "relu (in place)",
        &pollster::block_on(read_f32(relu(owned))).unwrap(),
        &y_expected,
    );

    let a = Tensor::<1>::from_data(TensorData::new(x_values.clone(), [n]), &plain);
    let b = Tensor::<1>::from_data(TensorData::new(r_values.clone(), [n]), &plain);
    let sum_expected: Vec<f32> = x_values.iter().zip(&r_values).map(|(a, b)| a + b).collect();
    same(
        "x + y (in place)",
        &pollster::block_on(read_f32(a + b)).unwrap(),
        &sum_expected,
    );
}
