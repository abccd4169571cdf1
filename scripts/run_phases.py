#!/usr/bin/env python3
"""Where an `ssdd run` spent its time, by stage and phase, from its run folder alone.

Usage: scripts/run_phases.py RUN_DIR [RUN_DIR ...] [--labels A,B] [--grid-rows]

Prints one markdown table, a column per run folder (minutes). Stage times come from run.json;
the phases inside a stage from what the stage already records:
- a distillation: the teacher's representations and setup (stage log, first line to the storage
  line), staggering the pool (to the stagger's "done" line), the iterations (metrics.json), and
  the rest (the approximation networks' fit, saving, pictures);
- the evaluation grid: pretraining (each network's pretrain_seconds, counted once per network),
  features and probes, fine-tuning (cells.jsonl), and the rest (loading the targets).
A stage another run computed (action "reused" or "shipped") counts what this run spent on it.
--grid-rows adds the grid's mean seconds per row, from every cell recorded so far: a run still in
its grid stage can be set beside a finished one cell for cell.
"""
import argparse
import datetime
import glob
import json
import os
import sys


def log_times(path):
    """(time, text) for each timestamped line of a stage log."""
    out = []
    with open(path) as f:
        for line in f:
            stamp, _, text = line.partition(" ")
            try:
                t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                continue  # a table's continuation line
            out.append((t, text))
    return out


def seconds_until(lines, needle):
    for t, text in lines:
        if needle in text:
            return (t - lines[0][0]).total_seconds()
    return None


def distill_phases(stage_dir, total):
    lines = log_times(os.path.join(stage_dir, "log"))
    with open(os.path.join(stage_dir, "metrics.json")) as f:
        iterations = json.load(f)["seconds"]
    setup = seconds_until(lines, " stores ")
    staggered = [(t, x) for t, x in lines if "pool stagger" in x and "| done |" in x]
    phases = {"teacher representations and setup": setup}
    if staggered and setup is not None:
        stagger_done = (staggered[-1][0] - lines[0][0]).total_seconds()
        phases["pool stagger"] = stagger_done - setup
    phases["iterations"] = iterations
    known = sum(v for v in phases.values() if v is not None)
    phases["approximation fit, saving, pictures"] = total - known
    return phases


def read_cells(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def finetune_seconds(cell):
    return cell.get("finetune", {}).get("seconds", 0.0)


def probe_seconds(cell):
    """A cell's features and probes: its seconds without its fine-tuning."""
    return cell["seconds"] - finetune_seconds(cell)


def grid_phases(stage_dir, total):
    pretrain, probes, finetune = {}, 0.0, 0.0
    for cell in read_cells(os.path.join(stage_dir, "cells.jsonl")):
        if "pretrain_seconds" in cell:  # one network per row, arch and seed
            pretrain[(cell["row"], cell["arch"], cell["seed"])] = cell["pretrain_seconds"]
        finetune += finetune_seconds(cell)
        probes += probe_seconds(cell)
    phases = {"pretraining": sum(pretrain.values()), "features and probes": probes,
              "fine-tuning": finetune}
    phases["targets' loading and the rest"] = total - sum(phases.values())
    return phases


def grid_by_row(run_dir):
    """{grid row: (pretraining seconds per network, features-and-probes seconds per cell, cells)}
    over every cell the run's grids have recorded, finished stage or not."""
    rows = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "evaluate", "*", "cells.jsonl"))):
        for cell in read_cells(path):
            r = rows.setdefault(cell["row"], ([], []))
            if "pretrain_seconds" in cell:
                r[0].append(cell["pretrain_seconds"])
            r[1].append(probe_seconds(cell))
    mean = lambda xs: sum(xs) / len(xs) if xs else None
    return {k: (mean(p), mean(c), len(c)) for k, (p, c) in rows.items()}


def print_grid_rows(runs, labels):
    grids = [grid_by_row(r) for r in runs]
    print("\n| grid row | " + " | ".join(f"{l}: pretraining s / probes s per cell (cells)" for l in labels) + " |")
    print("|---" * (len(labels) + 1) + "|")
    for row in dict.fromkeys(k for g in grids for k in g):
        def text(g):
            if row not in g:
                return ""
            p, c, n = g[row]
            return ("-" if p is None else f"{p:.0f}") + f" / {c:.0f} ({n})"
        print(f"| {row} | " + " | ".join(text(g) for g in grids) + " |")


def run_phases(run_dir):
    """Ordered ((stage, phase), seconds) rows; a stage's own row has phase None."""
    with open(os.path.join(run_dir, "run.json")) as f:
        run = json.load(f)
    rows = []
    for stage in run["stages"]:
        seconds = stage.get("seconds", 0.0) if stage.get("action") == "ran" else 0.0
        rows.append(((stage["name"], None), seconds))
        stage_dir = os.path.join(run_dir, stage.get("dir", ""))
        if stage.get("action") != "ran":
            continue
        if os.path.exists(os.path.join(stage_dir, "cells.jsonl")):
            phases = grid_phases(stage_dir, seconds)
        elif os.path.exists(os.path.join(stage_dir, "metrics.json")) and stage["name"].startswith("distill"):
            phases = distill_phases(stage_dir, seconds)
        else:
            continue
        rows += [((stage["name"], k), v) for k, v in phases.items()]
    rows.append((("total", None), sum(s for (_, phase), s in rows if phase is None)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders (each with run.json)")
    parser.add_argument("--labels", help="column names, comma-separated (default: the folders' names)")
    parser.add_argument("--grid-rows", action="store_true",
                        help="also a table of the grid's mean seconds per row, from every cell recorded so far")
    args = parser.parse_args()
    labels = args.labels.split(",") if args.labels else [os.path.basename(r.rstrip("/")) for r in args.runs]
    if len(labels) != len(args.runs):
        sys.exit(f"run_phases: {len(args.runs)} run folders but {len(labels)} labels")
    rows = [run_phases(r) for r in args.runs]
    tables = [dict(r) for r in rows]
    names = []
    for r in rows:
        names += [n for n, _ in r if n not in names and n[0] != "total"]
    names.append(("total", None))
    finished = []
    for r in args.runs:
        with open(os.path.join(r, "run.json")) as f:
            finished.append(json.load(f).get("finished", False))
    labels = [l if done else l + " (unfinished)" for l, done in zip(labels, finished)]

    def cell(t, n):
        if t.get(n) is None:
            return ""
        return f"{max(t[n], 0.0) / 60:.1f}" if t[n] > -1 else f"{t[n] / 60:.1f}"  # rounding of log stamps

    ratio = len(tables) == 2
    print("| stage / phase (minutes) | " + " | ".join(labels) + (" | second / first |" if ratio else " |"))
    print("|---" * (len(labels) + 1 + ratio) + "|")
    for n in names:
        row = [cell(t, n) for t in tables]
        if ratio:
            a, b = tables[0].get(n), tables[1].get(n)
            comparable = a and b is not None and a > 1 and not (n[0] == "total" and not all(finished))
            row.append(f"{b / a:.2f}" if comparable else "")
        shown = f"**{n[0]}**" if n[1] is None else f"&nbsp;&nbsp;{n[1]}"
        print(f"| {shown} | " + " | ".join(row) + " |")
    if args.grid_rows:
        print_grid_rows(args.runs, labels)


if __name__ == "__main__":
    main()
