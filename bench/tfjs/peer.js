// The browser peer for the worker's speed benchmark (src/tools/benchmark.rs, `der speed`):
// DER Studio's network and training iteration written in TensorFlow.js 4.22, as
// bench/torch_step.py writes them in PyTorch.
//
// Same architecture: stem + 3 stages of one residual block, widths 8/16/32, a channel gate
// m = sigmoid(s·e) after every convolution output, BatchNorm in training mode (batch statistics,
// running statistics updated, momentum 0.1, ε 1e-5), convolutions without bias and padding k/2.
// Same loss: classification + auxiliary + 0.5 × sparsity with soft masks. SGD with momentum 0.9,
// batch 32 of 32×32 RGB; only the newest branch trains, frozen branches run forward only, in
// eval mode with hard masks (or come from a cache, as the learner does without augmentation).
// Each iteration waits for its loss (one read-back), as the Burn side does.
//
// TF.js is NHWC; Burn and PyTorch are NCHW. The work per iteration is the same.
// Exposes `window.peerBench(backend, { branches, iterations, warmup })`, which returns the
// same case rows as the worker's speed table, plus per-iteration WebGPU counts when the page
// has the counting hook (tests/browser/gpu-counter.js).

const CLASSES_PER_STEP = 2;
const LAMBDA_SPARSITY = 0.5;
const LEARNING_RATE = 0.01;
const EPSILON = 1e-5;
const BN_MOMENTUM = 0.1;

// A deterministic stream (the weights' values do not change the time; a fixed seed keeps runs alike).
function uniform(shape, bound, seed) {
  return tf.randomUniform(shape, -bound, bound, 'float32', seed);
}

class ConvBn {
  constructor(cIn, cOut, k, stride, seed, trainable) {
    this.k = k;
    this.stride = stride;
    const bound = Math.sqrt(1 / (cIn * k * k));
    this.w = tf.variable(uniform([k, k, cIn, cOut], bound, seed), trainable);
    this.gamma = tf.variable(tf.ones([cOut]), trainable);
    this.beta = tf.variable(tf.zeros([cOut]), trainable);
    this.runMean = tf.variable(tf.zeros([cOut]), false);
    this.runVar = tf.variable(tf.ones([cOut]), false);
  }

  forward(x, training) {
    const p = Math.floor(this.k / 2);
    const y = tf.conv2d(x, this.w, this.stride, [[0, 0], [p, p], [p, p], [0, 0]]);
    if (!training) {
      return tf.batchNorm(y, this.runMean, this.runVar, this.beta, this.gamma, EPSILON);
    }
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    // Running statistics, as Burn's BatchNorm keeps them in training mode (not differentiated).
    const n = y.shape[0] * y.shape[1] * y.shape[2];
    this.runMean.assign(tf.add(tf.mul(this.runMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
    this.runVar.assign(tf.add(tf.mul(this.runVar, 1 - BN_MOMENTUM), tf.mul(variance, BN_MOMENTUM * n / (n - 1))));
    // TF.js's fused batch-norm kernel with the batch's statistics, as tf.layers does in training.
    return tf.batchNorm(y, mean, variance, this.beta, this.gamma, EPSILON);
  }

  variables() { return [this.w, this.gamma, this.beta]; }
}

class Gate {
  constructor(channels, trainable) {
    this.logits = tf.variable(tf.ones([channels]), trainable);
  }

  // scale null: the hard mask of a frozen branch.
  mask(scale) {
    return scale === null ? tf.cast(tf.greaterEqual(this.logits, 0), 'float32') : tf.sigmoid(tf.mul(this.logits, scale));
  }

  forward(x, scale) { return tf.mul(x, this.mask(scale)); }
}

class Branch {
  constructor(width, seed, trainable, stages = 3) {
    this.stem = new ConvBn(3, width, 3, 1, seed, trainable);
    this.stemGate = new Gate(width, trainable);
    this.blocks = [];
    let cIn = width;
    for (let s = 0; s < stages; s++) {
      const c = width << s;
      const stride = s === 0 ? 1 : 2;
      this.blocks.push({
        conv1: new ConvBn(cIn, c, 3, stride, seed + 10 * s + 1, trainable),
        gate1: new Gate(c, trainable),
        conv2: new ConvBn(c, c, 3, 1, seed + 10 * s + 2, trainable),
        shortcut: new ConvBn(cIn, c, 1, stride, seed + 10 * s + 3, trainable),
        gate: new Gate(c, trainable),
      });
      cIn = c;
    }
    this.dim = cIn;
  }

  // scale null: eval mode (running statistics, hard masks).
  forward(x, scale) {
    const training = scale !== null;
    let h = tf.relu(this.stemGate.forward(this.stem.forward(x, training), scale));
    for (const b of this.blocks) {
      const inner = tf.relu(b.gate1.forward(b.conv1.forward(h, training), scale));
      h = b.gate.forward(tf.relu(tf.add(b.conv2.forward(inner, training), b.shortcut.forward(h, training))), scale);
    }
    return tf.mean(h, [1, 2]);
  }

  // Σ K·|m_in|₁·|m_out|₁ / Σ K·c_in·c_out, as the Rust engine and the PyTorch twin compute it.
  sparsity(scale) {
    let num = tf.scalar(0);
    let den = 0;
    let mPrev = tf.scalar(3);
    let cPrev = 3;
    const out = tf.sum(this.stemGate.mask(scale));
    const cStem = this.stemGate.logits.shape[0];
    num = tf.add(num, tf.mul(tf.mul(mPrev, out), 9));
    den += 9 * cPrev * cStem;
    mPrev = out;
    cPrev = cStem;
    for (const b of this.blocks) {
      const inner = tf.sum(b.gate1.mask(scale));
      const outer = tf.sum(b.gate.mask(scale));
      const ci = b.gate1.logits.shape[0];
      const co = b.gate.logits.shape[0];
      num = tf.addN([num, tf.mul(tf.mul(mPrev, inner), 9), tf.mul(tf.mul(inner, outer), 9), tf.mul(mPrev, outer)]);
      den += 9 * cPrev * ci + 9 * ci * co + cPrev * co;
      mPrev = outer;
      cPrev = co;
    }
    return tf.div(num, den);
  }

  variables() {
    const v = [...this.stem.variables(), this.stemGate.logits];
    for (const b of this.blocks) v.push(...b.conv1.variables(), b.gate1.logits, ...b.conv2.variables(), ...b.shortcut.variables(), b.gate.logits);
    return v;
  }
}

class Linear {
  constructor(inputs, outputs, seed) {
    const bound = Math.sqrt(1 / inputs);
    this.w = tf.variable(uniform([inputs, outputs], bound, seed));
    this.b = tf.variable(uniform([outputs], bound, seed + 1));
  }

  forward(x) { return tf.add(tf.matMul(x, this.w), this.b); }
}

// `branches` branches (all but the last frozen) with classifier and auxiliary head.
class Der {
  constructor(branches, width) {
    this.branches = Array.from({ length: branches }, (_, i) => new Branch(width, 7 + 100 * i, i === branches - 1));
    const dim = this.branches[0].dim;
    this.classifier = new Linear(dim * branches, CLASSES_PER_STEP * branches, 1000);
    this.aux = branches > 1 ? new Linear(dim, CLASSES_PER_STEP + 1, 2000) : null;
  }

  frozen(x) { return this.branches.slice(0, -1).map((b) => b.forward(x, null)); }

  forward(x, scale, frozen) {
    const old = frozen ?? this.frozen(x);
    const newest = this.branches.at(-1).forward(x, scale);
    const u = old.length ? tf.concat([...old, newest], 1) : newest;
    return { logits: this.classifier.forward(u), aux: this.aux ? this.aux.forward(newest) : null };
  }

  trainable() {
    const v = [...this.branches.at(-1).variables(), this.classifier.w, this.classifier.b];
    if (this.aux) v.push(this.aux.w, this.aux.b);
    return v;
  }

  dispose() { tf.disposeVariables(); }
}

const median = (times) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];

// Counts from the WebGPU counting hook, if the page has it (the benchmark only).
const counts = () => (self.__gpuCounts ? self.__gpuCounts.snapshot() : null);

function perIteration(first, afterFirst, last, iterations) {
  if (!first) return null;
  const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - a[k]]));
  const steady = diff(afterFirst, last);
  return {
    first: diff(first, afterFirst),
    steady: Object.fromEntries(Object.entries(steady).map(([k, v]) => [k, v / Math.max(1, iterations - 1)])),
  };
}

async function timeTraining(branches, width, batch, iterations, warmup, cached) {
  // From before the network exists, as the worker's counts are (its parameters' uploads count).
  const start = counts();
  const net = new Der(branches, width);
  const x = uniform([batch, 32, 32, 3], 1, 1);
  const labels = Array.from({ length: batch }, (_, i) => i % (CLASSES_PER_STEP * branches));
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES_PER_STEP * branches);
  const auxOneHot = tf.oneHot(tf.tensor1d(labels.map((l) => Math.max(0, l - CLASSES_PER_STEP * (branches - 1))), 'int32'), CLASSES_PER_STEP + 1);
  const frozen = cached ? tf.tidy(() => net.frozen(x)) : null;
  const optimizer = tf.train.momentum(LEARNING_RATE, 0.9);
  const vars = net.trainable();
  let afterFirst = null;
  const times = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = performance.now();
    const scale = 1 + i;
    const loss = optimizer.minimize(() => {
      const { logits, aux } = net.forward(x, scale, frozen);
      let l = tf.losses.softmaxCrossEntropy(oneHot, logits);
      if (aux) l = tf.add(l, tf.losses.softmaxCrossEntropy(auxOneHot, aux));
      return tf.add(l, tf.mul(net.branches.at(-1).sparsity(scale), LAMBDA_SPARSITY));
    }, true, vars);
    const [value] = await loss.data();
    loss.dispose();
    if (!Number.isFinite(value)) throw new Error(`TF.js: loss ${value} at iteration ${i}`);
    if (i === 0) afterFirst = counts();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  const result = perIteration(start, afterFirst, counts(), warmup + iterations);
  optimizer.dispose();
  tf.dispose([x, oneHot, auxOneHot, ...(frozen ?? [])]);
  net.dispose();
  return { median_ms: median(times), min_ms: Math.min(...times), counts: result };
}

async function timePrediction(branches, width, iterations, warmup) {
  const start = counts();
  const net = new Der(branches, width);
  const x = uniform([1, 32, 32, 3], 1, 1);
  let afterFirst = null;
  const times = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = performance.now();
    const p = tf.tidy(() => tf.softmax(net.forward(x, null, null).logits));
    const values = await p.data();
    p.dispose();
    if (!values.every(Number.isFinite)) throw new Error('TF.js: prediction not finite');
    if (i === 0) afterFirst = counts();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  const result = perIteration(start, afterFirst, counts(), warmup + iterations);
  x.dispose();
  net.dispose();
  return { median_ms: median(times), min_ms: Math.min(...times), counts: result };
}

// The worker's cases, in its order and with its names.
self.peerBench = async (backend, { branches = [1, 3, 5], iterations = 3, warmup = 1, batch = 32, width = 8 } = {}) => {
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} is not available`);
  await tf.ready();
  const cases = [];
  for (const b of branches) {
    for (const cached of [false, true]) {
      if (cached && b === 1) continue;
      const r = await timeTraining(b, width, batch, iterations, warmup, cached);
      cases.push({ case: cached ? 'train step, frozen features cached' : 'train step, frozen branches run', branches: b, ...r });
    }
  }
  const most = Math.max(...branches);
  cases.push({ case: 'predict one image', branches: most, ...(await timePrediction(most, width, iterations, warmup)) });
  return { backend: tf.getBackend(), version: tf.version.tfjs, cases };
};
