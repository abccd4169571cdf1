#!/usr/bin/env python3
"""Would training a grid's seeds as one grouped network be faster on CPU? (issue 28)

The evaluation grid pretrains one small ConvNet per (set, seed). Issue 28 suggests training G seeds
at once as one network whose convolutions are grouped (G groups of the ConvNet's widths), so each
step does G times the work in one call. This times one SGD step (forward, MSE, backward, update) of
G = 1, 2, 3 such networks at the grid cells' shapes in PyTorch, whose CPU convolutions are the same
oneDNN kernels ssdd calls through LibTorch, and prints seconds per network-step: below G = 1's, the
grouping pays.

Two cases, as in the grid:
  shared input    a set of at most 256 pairs is one full batch every step, the same for every seed:
                  the first convolution maps the batch to G x width channels (groups = 1)
  own input       larger sets (ours: 1,036-1,420 pairs) draw a different batch per seed: the G
                  batches are stacked along channels and the first convolution is grouped too
Each group's head is its own (feature_dim x d) matrix (one batched product); the loss is the sum of
the groups' mean squared errors, so every group gets exactly its own network's gradient.

Runs with ssdd's allocator settings (it re-executes itself with GLIBC_TUNABLES) and flushes
subnormal floats as ssdd does. Prints a markdown table.
  pytorch_grouped_cells.py [--threads 2] [--steps 8] [--groups 1,2,3]
"""
import argparse, os, sys, time

_TUNABLES = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824"
if os.environ.get("GLIBC_TUNABLES") != _TUNABLES:
    os.environ["GLIBC_TUNABLES"] = _TUNABLES
    os.execv(sys.executable, [sys.executable] + sys.argv)
import torch, torch.nn as nn, torch.nn.functional as F

# name, batch, channels, side, widths, d, first convolution's input (shared or own per group)
CELLS = [("fm-krrst", 100, 1, 28, (64, 64, 64), 256, "shared"),
         ("fm-ours", 256, 1, 28, (64, 64, 64), 256, "own"),
         ("cifar-krrst", 100, 3, 32, (64, 128, 256), 128, "shared"),
         ("cifar-ours", 256, 3, 32, (64, 128, 256), 128, "own")]


def grouped_convnet(groups, channels, widths, own_input):
    layers, c = [], channels * (groups if own_input else 1)
    for i, w in enumerate(widths):
        g = groups if (i > 0 or own_input) else 1
        layers += [nn.Conv2d(c, w * groups, 3, padding=1, groups=g), nn.BatchNorm2d(w * groups),
                   nn.ReLU(inplace=True), nn.AvgPool2d(2)]
        c = w * groups
    return nn.Sequential(*layers).to(memory_format=torch.channels_last)


def seconds_per_step(groups, batch, channels, side, widths, d, input_kind, steps):
    own = input_kind == "own"
    net = grouped_convnet(groups, channels, widths, own)
    features = widths[-1] * (side >> len(widths)) ** 2
    head = nn.Parameter(torch.randn(groups, features, d) / features ** 0.5)
    x = torch.randn(batch, channels * (groups if own else 1), side, side).to(memory_format=torch.channels_last)
    y = torch.randn(batch, groups, d)
    opt = torch.optim.SGD(list(net.parameters()) + [head], lr=0.01, momentum=0.9, weight_decay=1e-3)

    def step():
        h = net(x).reshape(batch, groups, widths[-1], -1).flatten(2)  # batch x G x features
        loss = F.mse_loss(torch.einsum("ngf,gfd->ngd", h, head), y) * groups
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=8, help="timed steps per measurement, after 2 of warm-up")
    p.add_argument("--groups", default="1,2,3", help="network counts G to time, comma-separated; the first is the base")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    groups = [int(g) for g in a.groups.split(",")]
    print(f"PyTorch {torch.__version__}, {a.threads} threads, {a.steps} timed steps each; "
          f"seconds per network-step (one step of a G-network group / G), and against G = {groups[0]}")
    print()
    print("| cell | batch, image, widths, d, first input | " + " | ".join(f"G = {g}" for g in groups) + " |")
    print("|---|---|" + "---|" * len(groups))
    for name, batch, channels, side, widths, d, kind in CELLS:
        per_net = [seconds_per_step(g, batch, channels, side, widths, d, kind, a.steps) / g for g in groups]
        shape = f"{batch}, {side}x{side}x{channels}, {'-'.join(map(str, widths))}, {d}, {kind}"
        cells = [f"{t:.4f} s ({t / per_net[0]:.2f}x)" for t in per_net]
        print(f"| {name} | {shape} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
