#!/usr/bin/env python3
"""Two grids over the same sets under one change of protocol (e.g. `pretrain_precision`), cell by
cell: the pairs of cells with the same row, set file and student seed, each probe's test accuracy
in both, and per row and probe the mean of the second grid's minus the first's with its range,
beside the first grid's spread over seeds (the size of difference a seed alone makes).
Also the pretraining seconds of both (wall time as each grid measured it: compare only grids run
on the same, quiet machine). Prints a markdown table.

Usage: scripts/pair-grid-cells.py FIRST_GRID SECOND_GRID
A GRID is a grid's folder (`ssdd evaluate --out`, or a run's evaluate/NAME) or its cells.jsonl.
"""
import json
import os
import statistics
import sys


def set_cells(path):
    if os.path.isdir(path):
        path = os.path.join(path, "cells.jsonl")
    cells = {}
    for line in open(path):
        r = json.loads(line)
        if r.get("kind") == "set":
            cells[(r["row"], r["file"], r["seed"], r["arch"], r["target"])] = r
    return cells


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    first, second = set_cells(argv[1]), set_cells(argv[2])
    pairs = sorted(set(first) & set(second))
    if not pairs:
        sys.exit(f"pair-grid-cells: no cell of {argv[1]} has a twin in {argv[2]} "
                 "(same row, set file, seed, architecture and target)")
    accuracy, seconds = {}, {}
    for key in pairs:
        a, b = first[key], second[key]
        seconds.setdefault(key[0], []).append((a["pretrain_seconds"], b["pretrain_seconds"]))
        for probe in a["probes"]:
            if probe in b["probes"]:
                pair = (a["probes"][probe]["test_accuracy"], b["probes"][probe]["test_accuracy"])
                accuracy.setdefault((key[0], probe), []).append(pair)
    print(f"{len(pairs)} pairs of cells ({len(first)} and {len(second)} set cells in the grids)")
    print()
    print("| row | probe | cells | first: mean (std over cells) | second: mean | second - first: mean (range) "
          "| pretraining s, median: first / second |")
    print("|---|---|---|---|---|---|---|")
    for (row, probe), pairs_of_row in sorted(accuracy.items()):
        x = [100 * a for a, _ in pairs_of_row]
        y = [100 * b for _, b in pairs_of_row]
        d = [q - p for p, q in zip(x, y)]
        spread = statistics.stdev(x) if len(x) > 1 else float("nan")
        secs = [statistics.median(side) for side in zip(*seconds[row])]
        print(f"| {row} | {probe} | {len(x)} | {statistics.fmean(x):.2f} ({spread:.2f}) | {statistics.fmean(y):.2f} "
              f"| {statistics.fmean(d):+.2f} ({min(d):+.2f} to {max(d):+.2f}) | {secs[0]:.1f} / {secs[1]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
