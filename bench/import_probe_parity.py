"""The Python half of bench/import-probe-parity.sh (issue 24).

Builds a torchvision ResNet18 with a CIFAR stem, gives its batch norms statistics of CIFAR-10
images, saves its state_dict, and probes the frozen weights on CIFAR-10 with ssdd's linear
protocol written in plain PyTorch (measure/linear_probe.cpp: features standardised with the
train split's mean and population std, a Linear layer, SGD momentum 0.9, lr 0.2 with a per-step
cosine decay, batch 256, no weight decay). It prints one JSON line per probe seed.

    import_probe_parity.py DATA_ROOT OUT_DIR [--epochs 30] [--seeds 3] [--threads 2] [--padding 1]

DATA_ROOT holds cifar10/{train,test}/<class>/*.jpg (scripts/extract-data.sh puts it in ssdd's
cache). OUT_DIR receives state_dict.pt, the file ssdd then imports.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torchvision
from PIL import Image

MEAN = (0.4914, 0.4822, 0.4465)  # ssdd's published CIFAR-10 constants (data/registry.cpp)
STD = (0.2470, 0.2435, 0.2616)


def read_split(root):
    """uint8 N x 3 x 32 x 32 and labels; classes in sorted folder order, files sorted."""
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    images, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(root, name)
        for file in sorted(os.listdir(folder)):
            with Image.open(os.path.join(folder, file)) as im:
                images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
            labels.append(label)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(labels, dtype=torch.long)


def normalise(batch_u8):
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (batch_u8.float() / 255 - mean) / std


def features(model, images_u8, batch=512):
    parts = []
    with torch.no_grad():
        for begin in range(0, images_u8.shape[0], batch):
            parts.append(model(normalise(images_u8[begin:begin + batch])).flatten(1))
    return torch.cat(parts)


def probe(train_x, train_y, test_x, test_y, epochs, seed):
    mean = train_x.mean(0, keepdim=True)
    std = train_x.std(0, unbiased=False, keepdim=True).clamp_min(1e-6)
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    torch.manual_seed(seed)
    classifier = torch.nn.Linear(train_x.shape[1], 10)
    base_lr = 0.2
    optimizer = torch.optim.SGD(classifier.parameters(), lr=base_lr, momentum=0.9)
    n, batch = train_x.shape[0], 256
    steps_per_epoch = math.ceil(n / batch)
    total = epochs * steps_per_epoch
    generator = torch.Generator().manual_seed(seed)
    step = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, batch):
            for group in optimizer.param_groups:
                group["lr"] = base_lr * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total))))
            index = order[begin:begin + batch]
            loss = torch.nn.functional.cross_entropy(classifier(train_x[index]), train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
    with torch.no_grad():
        train_acc = (classifier(train_x).argmax(1) == train_y).double().mean().item()
        test_acc = (classifier(test_x).argmax(1) == test_y).double().mean().item()
    return train_acc, test_acc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data_root")
    parser.add_argument("out_dir")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--padding", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    start = time.time()
    train_u8, train_y = read_split(os.path.join(args.data_root, "cifar10", "train"))
    test_u8, test_y = read_split(os.path.join(args.data_root, "cifar10", "test"))
    read_seconds = time.time() - start

    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, args.padding, bias=False)
    model.maxpool = torch.nn.Identity()
    # Batch-norm statistics of real images (a fresh model's are 0 and 1): train-mode passes
    # over 2,048 training images, cumulative average.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    model.train()
    calibration = torch.randperm(train_u8.shape[0], generator=torch.Generator().manual_seed(0))[:2048]
    with torch.no_grad():
        for begin in range(0, 2048, 256):
            model(normalise(train_u8[calibration[begin:begin + 256]]))
    model.eval()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.out_dir, "state_dict.pt"))

    model.fc = torch.nn.Identity()
    start = time.time()
    train_f, test_f = features(model, train_u8), features(model, test_u8)
    feature_seconds = time.time() - start
    for seed in range(args.seeds):
        start = time.time()
        train_acc, test_acc = probe(train_f, train_y, test_f, test_y, args.epochs, seed)
        print(json.dumps({"seed": seed, "test_accuracy": test_acc, "train_accuracy": train_acc,
                          "probe_seconds": round(time.time() - start, 1),
                          "feature_seconds": round(feature_seconds, 1), "read_seconds": round(read_seconds, 1)}),
              flush=True)


if __name__ == "__main__":
    main()
