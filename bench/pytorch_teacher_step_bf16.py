#!/usr/bin/env python3
"""The shared PyTorch teacher-step yardstick with its forward in bfloat16 autocast (issue 28).

What the bf16 route would have to beat: ../shared/bench/pytorch_teacher_step.py's step with both
views' forward under `torch.autocast("cpu", dtype=torch.bfloat16)` (convolutions and linear
layers in bf16, the rest as autocast decides) and the Barlow Twins loss in fp32, as a PyTorch
user on a CPU with AVX512_BF16 would try: the reference for ssdd's `teacher --precision bfloat16`
in bench/compare-teacher.sh's bf16 table (docs/performance-log.md, sections 20-21).

The shared script has no main(): this wrapper runs its source with the one step line replaced
and stops with an error if that line is not found (the shared script changed). Same arguments and
output as the shared script, the JSON line with "bf16": true and the last step's loss added.
Environment: SSDD_REFERENCE_TEACHER, the shared script (default ../shared/bench/pytorch_teacher_step.py
beside this repository).
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get("SSDD_REFERENCE_TEACHER",
                        os.path.join(here, "..", "..", "shared", "bench", "pytorch_teacher_step.py"))
STEP = "    loss = bt_loss(model(x1), model(x2))\n"
BF16_STEP = ("    with torch.autocast('cpu', dtype=torch.bfloat16):\n"
             "        z1, z2 = model(x1), model(x2)\n"
             "    loss = bt_loss(z1.float(), z2.float())\n")
RESULT = '"torch": torch.__version__}'

source = open(shared).read()
for line in (STEP, RESULT):
    if source.count(line) != 1:
        sys.exit(f"pytorch_teacher_step_bf16: expected one {line.strip()!r} in {shared}; the shared script changed")
source = source.replace(STEP, BF16_STEP).replace(RESULT, '"torch": torch.__version__, "bf16": True, "loss": loss.item()}')
exec(compile(source, shared, "exec"), {"__name__": "__main__"})
