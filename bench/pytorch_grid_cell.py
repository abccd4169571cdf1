#!/usr/bin/env python3
"""PyTorch yardstick for the evaluation grid's two costs (issue 28), written the way a careful
PyTorch user would write them, at the shapes `ssdd bench pretrain` / `ssdd bench probe` time:

  pretrain  a fresh ConvNet-D (3x3 conv + bias -> BatchNorm -> ReLU -> 2x2 avg pool per block,
            channels-last, flattened features) and a linear head regressing d-dim targets by
            MSE; SGD lr 0.1, momentum 0.9, weight decay 1e-3, batch 256, a shuffle per epoch,
            the last short batch kept (KRR-ST's pretraining; evaluate/pretrain.h).
  probe     a linear classifier on standardised features; SGD lr 0.2 (cosine per step to 0),
            momentum 0.9, batch 256, cross-entropy, then top-1 on both splits
            (measure/linear_probe.h).

Synthetic data, the same kind as ssdd's bench (not the same numbers). Runs with ssdd's allocator
settings (it re-executes itself with GLIBC_TUNABLES, as ../shared/bench/*.py do). Prints one JSON line.
  pytorch_grid_cell.py pretrain [--arch 64,64,64] [--pairs N] [--channels C] [--res S] [--dim D] [--epochs E] [--bf16]
  pytorch_grid_cell.py probe [--train N] [--test N] [--features P] [--classes K] [--epochs E]
--bf16: the forward under torch.autocast("cpu", dtype=torch.bfloat16), the loss in fp32 (ssdd's
`bench pretrain --precision bfloat16`, evaluate's `pretrain_precision`).
Either with [--flush-denormals]: subnormal floats flushed to zero in this thread (and the threads
started after it; Debian's OpenBLAS started its own when loaded, so they keep them).
"""
import argparse, json, math, os, sys, time

_TUNABLES = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824"
if os.environ.get("GLIBC_TUNABLES") != _TUNABLES:
    os.environ["GLIBC_TUNABLES"] = _TUNABLES
    os.execv(sys.executable, [sys.executable] + sys.argv)
import torch, torch.nn as nn, torch.nn.functional as F


class ConvNet(nn.Module):
    def __init__(self, channels, widths, size):
        super().__init__()
        blocks, c = [], channels
        for w in widths:
            blocks += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.AvgPool2d(2)]
            c, size = w, size // 2
        self.blocks = nn.Sequential(*blocks)
        self.dim = c * size * size

    def forward(self, x):
        return self.blocks(x.contiguous(memory_format=torch.channels_last)).flatten(1)


def pretrain(a):
    g = torch.Generator().manual_seed(a.seed)
    x = torch.randn(a.pairs, a.channels, a.res, a.res, generator=g)
    y = torch.randn(a.pairs, a.dim, generator=g)
    torch.manual_seed(a.seed)
    net = ConvNet(a.channels, [int(w) for w in a.arch.split(",")], a.res).to(memory_format=torch.channels_last)
    head = nn.Linear(net.dim, a.dim)
    params = list(net.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3)
    net.train()
    losses, steps = [], 0
    start = time.perf_counter()
    for _ in range(a.epochs):
        order = torch.randperm(a.pairs, generator=g)
        total, batches = 0.0, 0
        for b in range(0, a.pairs, a.batch):
            idx = order[b:b + a.batch]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
                prediction = head(net(x[idx]))
            loss = F.mse_loss(prediction.float(), y[idx])  # .float(): a no-op in fp32
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, batches, steps = total + loss.detach(), batches + 1, steps + 1
        losses.append(float(total) / batches)  # one read per epoch, as ssdd defers its loss reads
    seconds = time.perf_counter() - start
    return {"steps": steps, "seconds": seconds, "s_per_step": seconds / steps,
            "first_epoch_loss": losses[0], "last_epoch_loss": losses[-1]}


def probe(a):
    g = torch.Generator().manual_seed(a.seed)
    n = a.train + a.test
    scale = torch.rand(1, a.features, generator=g) * 3
    feats = torch.relu(torch.randn(n, a.features, generator=g)) * scale
    labels = (feats @ torch.randn(a.features, a.classes, generator=g)).argmax(1)
    start = time.perf_counter()
    tr_x, te_x, tr_y, te_y = feats[:a.train], feats[a.train:], labels[:a.train], labels[a.train:]
    mean, std = tr_x.mean(0, keepdim=True), tr_x.std(0, unbiased=False, keepdim=True).clamp_min(1e-6)
    tr_x, te_x = (tr_x - mean) / std, (te_x - mean) / std
    torch.manual_seed(a.seed)
    clf = nn.Linear(a.features, a.classes)
    opt = torch.optim.SGD(clf.parameters(), lr=0.2, momentum=0.9)
    steps_per_epoch = math.ceil(a.train / a.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
    for _ in range(a.epochs):
        order = torch.randperm(a.train, generator=g)
        for b in range(0, a.train, a.batch):
            idx = order[b:b + a.batch]
            loss = F.cross_entropy(clf(tr_x[idx]), tr_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    with torch.no_grad():
        train_acc = (clf(tr_x).argmax(1) == tr_y).float().mean().item()
        test_acc = (clf(te_x).argmax(1) == te_y).float().mean().item()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "s_per_epoch": seconds / a.epochs, "train_accuracy": train_acc,
            "test_accuracy": test_acc}


ap = argparse.ArgumentParser()
ap.add_argument("what", choices=["pretrain", "probe"])
ap.add_argument("--arch", default="64,64,64"); ap.add_argument("--pairs", type=int, default=400)
ap.add_argument("--channels", type=int, default=1); ap.add_argument("--res", type=int, default=28)
ap.add_argument("--dim", type=int, default=256); ap.add_argument("--epochs", type=int, default=20)
ap.add_argument("--batch", type=int, default=256)
ap.add_argument("--bf16", action="store_true", help="pretrain: the forward under bf16 autocast")
ap.add_argument("--train", type=int, default=60000); ap.add_argument("--test", type=int, default=10000)
ap.add_argument("--features", type=int, default=576); ap.add_argument("--classes", type=int, default=10)
ap.add_argument("--threads", type=int, default=2); ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--flush-denormals", action="store_true",
                help="torch.set_flush_denormal(True) first, as a user who knows of subnormal floats would")
a = ap.parse_args()
if a.flush_denormals:
    torch.set_flush_denormal(True)
torch.set_num_threads(a.threads)
out = pretrain(a) if a.what == "pretrain" else probe(a)
out.update({"what": a.what, "threads": a.threads, "torch": torch.__version__, "flush_denormals": a.flush_denormals,
            "bf16": a.bf16})
print(json.dumps(out))
