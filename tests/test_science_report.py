#!/usr/bin/env python3
"""Tests of scripts/science_report.py on small made-up grids: the verdict rule, pooling grids
by their cells, the spread split between and within sets, and the claim lines of a whole report.
Run by CTest (ScienceReport.*) or directly: python3 tests/test_science_report.py"""
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("science_report", os.path.join(HERE, "..", "scripts",
                                                                            "science_report.py"))
science_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(science_report)

ARCH = "convnet:64-128-256:batch"


def record(row, kind, seed, accuracy, file=None):
    """One cell as `ssdd evaluate` writes it; the KRR-ST probe reads 5 points above."""
    r = {"row": row, "kind": kind, "seed": seed, "target": "cifar10",
         "arch": "teacher:resnet18:16:cifar" if kind == "teacher" else ARCH,
         "probe_test_accuracy": accuracy,
         "probes": {"standardized": {"test_accuracy": accuracy}, "krrst": {"test_accuracy": accuracy + 0.05}}}
    if file:
        r["file"] = file
    return r


def summarise(rows, kinds, stored, records):
    """results.json's summary of the records, as science_report's pooled() recomputes it."""
    grid = {"archs": [ARCH], "probes": ["standardized", "krrst"], "source": "cifar10", "targets": ["cifar10"],
            "protocol": {"pretrain_steps": 300, "seeds": 3, "probe_epochs": 30},
            "teacher": {"arch": "resnet18:16:cifar", "id": "t1"}, "rows": rows, "row_kinds": kinds,
            "row_stored": stored, "records": records}
    return science_report.pooled([grid, dict(grid, rows=[], row_kinds=[], row_stored=[], records=[])])


def claims_grid():
    """ours (3 sets x 3 student seeds) well ahead of krrst-eq and random-eq, which tie; none far below."""
    records = [record("none", "none", s, 0.58 + 0.002 * s) for s in range(3)]
    for row, base in (("ours", 0.64), ("krrst-eq", 0.615), ("random-eq", 0.616)):
        for d in range(3):
            for s in range(3):
                records.append(record(row, "set", s, base + 0.003 * d + 0.001 * s, file=f"/{row}/{d}.pt"))
    rows = ["none", "ours", "krrst-eq", "random-eq"]
    return summarise(rows, ["none", "set", "set", "set"], [None, 100.0, 100.0, 100.0], records)


class Verdict(unittest.TestCase):
    def test_holds_when_the_gap_exceeds_the_larger_std(self):
        self.assertEqual(science_report.verdict((0.65, 0.004, 3), (0.62, 0.005, 3))[2], "holds")

    def test_does_not_hold_when_the_other_row_leads_by_more(self):
        self.assertEqual(science_report.verdict((0.60, 0.004, 3), (0.62, 0.005, 3))[2], "does not hold")

    def test_a_gap_inside_the_spread_is_not_resolved(self):
        gap, spread, word = science_report.verdict((0.621, 0.004, 3), (0.62, 0.005, 3))
        self.assertAlmostEqual(gap, 0.1)
        self.assertAlmostEqual(spread, 0.5)
        self.assertEqual(word, "not resolved (gap within the spread)")

    def test_one_value_a_row_is_never_resolved(self):
        self.assertEqual(science_report.verdict((0.70, 0.0, 1), (0.60, 0.0, 3))[2],
                         "not resolved (one value per row)")


class Pooling(unittest.TestCase):
    def test_rows_pool_the_cells_of_every_grid(self):
        results = claims_grid()
        mean, std, n = science_report.summary_of(results, "ours", "standardized")
        values = [0.64 + 0.003 * d + 0.001 * s for d in range(3) for s in range(3)]
        self.assertEqual(n, 9)
        self.assertAlmostEqual(mean, statistics.fmean(values))
        self.assertAlmostEqual(std, statistics.stdev(values))
        self.assertEqual(results["row_sets"], [0, 3, 3, 3])

    def test_grids_of_different_protocols_are_refused(self):
        grid = {"archs": [ARCH], "probes": ["standardized"], "source": "cifar10", "protocol": {"seeds": 1},
                "teacher": {"id": "t1"}, "rows": [], "row_kinds": [], "records": []}
        with self.assertRaises(SystemExit):
            science_report.pooled([grid, dict(grid, protocol={"seeds": 3})])


class Spread(unittest.TestCase):
    def test_between_sets_and_within_a_set(self):
        lines = science_report.spread_table(claims_grid(), "standardized")
        ours = next(line for line in lines if line.startswith("| ours |"))
        # Set means 64.1, 64.4, 64.7 points: std 0.30; within a set 0.0, 0.1, 0.2 points: std 0.10.
        self.assertEqual(ours, "| ours | 3 x 3 | 0.30 | 0.10 |")

    def test_rows_with_one_set_or_one_seed_are_left_out(self):
        records = [record("ours", "set", 0, 0.64, file="/a.pt"), record("ours", "set", 0, 0.65, file="/b.pt")]
        self.assertEqual(science_report.spread_table(summarise(["ours"], ["set"], [100.0], records), "krrst"), [])


class Report(unittest.TestCase):
    def test_the_equal_storage_ranking_is_judged_once_per_probe(self):
        lines = science_report.grid_section("g", "main", claims_grid(), 100)
        text = "\n".join(lines)
        self.assertEqual(text.count("- ours > krrst-eq: **holds**"), 2)
        self.assertEqual(text.count("- krrst-eq > random-eq: **not resolved (gap within the spread)**"), 2)
        self.assertEqual(text.count("- random-eq > none: **holds**"), 2)
        self.assertNotIn("ours > krrst:", text)  # rows absent from the grid are skipped

    def test_main_writes_the_report_from_a_grid_folder(self):
        with tempfile.TemporaryDirectory() as tmp:
            grid = os.path.join(tmp, "grid")
            os.makedirs(grid)
            with open(os.path.join(grid, "results.json"), "w") as f:
                json.dump(claims_grid(), f)
            out = os.path.join(tmp, "science.md")
            argv = sys.argv
            sys.argv = ["science_report.py", grid, "--out", out]
            try:
                self.assertEqual(science_report.main(), 0)
            finally:
                sys.argv = argv
            with open(out) as f:
                text = f.read()
            self.assertIn("| ours | 64.40 ± 0.27 | 9 | 3 | 100.0 | +2.40 |", text)
            self.assertTrue(os.path.exists(os.path.join(tmp, "science-grid-gain.svg")))


if __name__ == "__main__":
    unittest.main()
