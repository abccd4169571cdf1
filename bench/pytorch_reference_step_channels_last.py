#!/usr/bin/env python3
"""The shared PyTorch distillation-step yardstick with its ConvNet laid out channels-last (issue 28).

../shared/bench/pytorch_reference_step.py runs its ConvNet in PyTorch's default NCHW layout; ssdd
runs channels-last. A careful CPU user would try both (PyTorch's docs advise
`module.to(memory_format=torch.channels_last)` for convolutions on CPU), so bench/compare.sh times
the reference both ways and compares ssdd with the faster. This wrapper changes nothing but the
layout: it imports the shared script, lays the network it builds out channels-last (weights; the
activations follow them in oneDNN's convolutions, one-channel inputs included, since Module.to
re-strides a one-input-channel weight) and runs the shared main() with the same arguments.

Environment: SSDD_REFERENCE_STEP, the shared script (default ../shared/bench/pytorch_reference_step.py
beside this repository). Prints the shared script's JSON line.
"""
import importlib.util
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get("SSDD_REFERENCE_STEP",
                        os.path.join(here, "..", "..", "shared", "bench", "pytorch_reference_step.py"))
spec = importlib.util.spec_from_file_location("pytorch_reference_step", shared)
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)  # with --tuned this re-executes this wrapper once, as the shared script does
import torch  # noqa: E402 (after the re-execution above)

plain_convnet = reference.convnet
reference.convnet = lambda *args, **kwargs: plain_convnet(*args, **kwargs).to(memory_format=torch.channels_last)

if __name__ == "__main__":
    sys.exit(reference.main())
