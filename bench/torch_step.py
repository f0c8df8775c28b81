"""The peer for `der speed`: DER Studio's network and training iteration written in PyTorch.

Same architecture (stem + 3 stages of one residual block, widths 8/16/32, channel gates
m = sigmoid(s*e) after every convolution output), same loss (classification + auxiliary +
0.5 x sparsity, soft masks), SGD with momentum, batch 32 of 32x32 RGB, only the newest branch
trainable; frozen branches in eval mode under no_grad. Prints one line per case and, with
--json, the numbers for scripts/bench-speed.sh.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WARMUP = 3
CLASSES_PER_STEP = 2


class Gate(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.logits = nn.Parameter(torch.ones(channels))

    def mask(self, scale):
        if scale is None:
            return (self.logits >= 0).float()
        return torch.sigmoid(self.logits * scale)

    def forward(self, x, scale):
        return x * self.mask(scale).view(1, -1, 1, 1)


def conv_bn(c_in, c_out, k, stride):
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out))


class Block(nn.Module):
    def __init__(self, c_in, c, stride):
        super().__init__()
        self.conv1, self.gate1 = conv_bn(c_in, c, 3, stride), Gate(c)
        self.conv2 = conv_bn(c, c, 3, 1)
        self.shortcut = conv_bn(c_in, c, 1, stride)


class Branch(nn.Module):
    def __init__(self, width, stages=3):
        super().__init__()
        self.stem, self.stem_gate = conv_bn(3, width, 3, 1), Gate(width)
        self.blocks, self.gates = nn.ModuleList(), nn.ModuleList()
        c_in = width
        for s in range(stages):
            c = width << s
            self.blocks.append(Block(c_in, c, 1 if s == 0 else 2))
            self.gates.append(Gate(c))
            c_in = c
        self.dim = c_in

    def forward(self, x, scale):
        x = F.relu(self.stem_gate(self.stem(x), scale))
        for block, gate in zip(self.blocks, self.gates):
            h = F.relu(block.gate1(block.conv1(x), scale))
            x = gate(F.relu(block.conv2(h) + block.shortcut(x)), scale)
        return x.mean(dim=(2, 3))

    def sparsity(self, scale):
        # sum K * |m_in|_1 * |m_out|_1 / sum K * c_in * c_out, as in the Rust engine.
        num, den = 0.0, 0.0
        m_prev, c_prev = torch.tensor(3.0), 3
        out = self.stem_gate.mask(scale).sum()
        num, den = num + 9 * m_prev * out, den + 9 * c_prev * self.stem_gate.logits.numel()
        m_prev, c_prev = out, self.stem_gate.logits.numel()
        for block, gate in zip(self.blocks, self.gates):
            inner, outer = block.gate1.mask(scale).sum(), gate.mask(scale).sum()
            ci, co = block.gate1.logits.numel(), gate.logits.numel()
            num = num + 9 * m_prev * inner + 9 * inner * outer + 1 * m_prev * outer
            den = den + 9 * c_prev * ci + 9 * ci * co + 1 * c_prev * co
            m_prev, c_prev = outer, co
        return num / den


class Der(nn.Module):
    def __init__(self, branches, width):
        super().__init__()
        self.branches = nn.ModuleList(Branch(width) for _ in range(branches))
        dim = self.branches[0].dim
        self.classifier = nn.Linear(dim * branches, CLASSES_PER_STEP * branches)
        self.aux = nn.Linear(dim, CLASSES_PER_STEP + 1) if branches > 1 else None
        for b in self.branches[:-1]:
            b.eval()
            b.requires_grad_(False)

    def frozen(self, x):
        with torch.no_grad():
            return [b(x, None) for b in self.branches[:-1]]

    def forward(self, x, scale, frozen=None):
        old = self.frozen(x) if frozen is None else frozen
        new = self.branches[-1](x, scale)
        u = torch.cat(old + [new], 1)
        return self.classifier(u), (self.aux(new) if self.aux is not None else None)


def time_training(branches, width, batch, iterations, cached):
    torch.manual_seed(7)
    net = Der(branches, width)
    x = torch.rand(batch, 3, 32, 32) * 2 - 1
    labels = torch.arange(batch) % (CLASSES_PER_STEP * branches)
    aux_labels = (labels - CLASSES_PER_STEP * (branches - 1)).clamp(min=0)
    frozen = net.frozen(x) if cached else None
    trainable = [p for p in net.parameters() if p.requires_grad]
    optim = torch.optim.SGD(trainable, lr=0.01, momentum=0.9)
    times = []
    for i in range(WARMUP + iterations):
        start = time.perf_counter()
        scale = 1.0 + i
        logits, aux = net(x, scale, frozen)
        loss = F.cross_entropy(logits, labels)
        if aux is not None:
            loss = loss + F.cross_entropy(aux, aux_labels)
        loss = loss + 0.5 * net.branches[-1].sparsity(scale)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        assert torch.isfinite(loss).item()
        if i >= WARMUP:
            times.append((time.perf_counter() - start) * 1000)
    return times


def time_prediction(branches, width, iterations):
    torch.manual_seed(7)
    net = Der(branches, width).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    times = []
    with torch.inference_mode():
        for i in range(WARMUP + iterations):
            start = time.perf_counter()
            p = torch.softmax(net(x, None)[0], 1)
            assert torch.isfinite(p).all().item()
            if i >= WARMUP:
                times.append((time.perf_counter() - start) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--branches", default="1,3,5")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"pytorch {torch.__version__} · {torch.get_num_threads()} threads · batch {args.batch} · width {args.width}")
    branch_counts = [int(b) for b in args.branches.split(",")]
    cases = []

    def record(case, branches, times):
        c = {"case": case, "branches": branches, "median_ms": statistics.median(times), "min_ms": min(times)}
        cases.append(c)
        print(f"{case:<38} branches {branches}  median {c['median_ms']:>8.2f} ms  min {c['min_ms']:>8.2f} ms")

    for b in branch_counts:
        record("train step, frozen branches run", b, time_training(b, args.width, args.batch, args.iterations, False))
        if b > 1:
            record("train step, frozen features cached", b, time_training(b, args.width, args.batch, args.iterations, True))
    most = max(branch_counts)
    record("predict one image", most, time_prediction(most, args.width, args.iterations))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(cases, f, indent=2)


if __name__ == "__main__":
    main()
