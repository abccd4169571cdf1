#!/usr/bin/env python3
"""Writes docs/science.md (issue 23) from the run folders of configs/*-science.toml runs.

For every grid of every run (`main`: the paper's epochs; `equal-steps`: the same SGD steps
for every set) and every probe protocol it prints the table (mean ± sample std over student
seeds x distillation seeds, n, stored image-equivalents), the improvement over random at equal
storage, one line per claim of the paper (holds / does not hold / not resolved; the ranking both
as the paper states it and with every row storage-equal), and, for rows with several sets and
student seeds, how much of the spread lies between sets and how much within. Nothing is typed by
hand: every number comes from the grids' results.json.

Usage: scripts/science_report.py RUN_DIR [RUN_DIR ...] [--out docs/science.md]
A RUN_DIR is an `ssdd run` folder (its evaluate/ grids) or one grid's folder (`ssdd evaluate --out`).
Grid folders joined by '+' (A+B) are pooled into one table: grids evaluated at different times
under one protocol (same pretraining, probes, seeds, teacher, source and student), their rows'
cells pooled (a row in both grids gets the values of both).
A run whose distilled sets differ only in their outer iterations (configs/cifar10-convergence.toml)
also gets a convergence table per method and a figure of the outer loss against iterations
(an SVG beside --out).
"""
import argparse
import json
import math
import os
import re
import statistics
import sys

# The paper's claims as chains "a > b > c" and pairs; rows missing from a grid are skipped.
ORDER_CLAIM = ["ours", "krrst", "random", "none"]
ORDER_CLAIM_EQ = ["ours", "krrst-eq", "random-eq", "none"]  # the same ranking at equal storage
ABLATIONS = ["ours-no-param", "ours-random-aug", "ours-stored-targets"]
CONTROLS = [("ours", "random"), ("ours", "random-rot"), ("ours", "random-rot-eq"), ("ours", "krrst-eq"),
            ("random-rot", "random"), ("random-rot-eq", "random-eq"), ("krrst-eq", "random-eq"),
            ("kmeans-eq", "random-eq")]
# The budget-split sweep's rows (configs/cifar10-budget-split.toml: k_x or k_y changed from ours').
SPLIT_ROW = re.compile(r"^k[xy][0-9]+$")


def load(path):
    with open(path) as f:
        return json.load(f)


# What grids must share to be pooled into one table.
POOL_KEYS = ("protocol", "source", "archs", "probes")


def pooled(grids):
    """One results dict from several grids of one protocol: rows in first-seen order, each
    row's summary recomputed (mean, sample std, n) from the cells of every grid."""
    first = grids[0]
    for g in grids[1:]:
        for key in POOL_KEYS:
            if g[key] != first[key]:
                raise SystemExit(f"science_report: cannot pool grids with different {key}: {g[key]} vs {first[key]}")
        if g["teacher"]["id"] != first["teacher"]["id"]:
            raise SystemExit("science_report: cannot pool grids of different teachers")
    rows, kinds, stored, files = [], {}, {}, {}
    for g in grids:
        for row, kind, st in zip(g["rows"], g["row_kinds"], g.get("row_stored", [None] * len(g["rows"]))):
            if row not in kinds:
                rows.append(row)
                kinds[row], stored[row] = kind, st
        for r in g["records"]:
            files.setdefault(r["row"], set()).add(r.get("file"))
    summary = []
    for row in rows:
        cells = [r for g in grids for r in g["records"] if r["row"] == row and r["target"] == first["source"]
                 and (kinds[row] == "teacher" or r["arch"] == first["archs"][0])]
        if not cells:
            continue
        probes = {}
        for probe in first.get("probes", ["standardized"]):
            values = [r["probes"][probe]["test_accuracy"] if "probes" in r else r["probe_test_accuracy"]
                      for r in cells]
            probes[probe] = {"mean": statistics.fmean(values), "n": len(values),
                             "std": statistics.stdev(values) if len(values) > 1 else 0.0}
        head = probes[first.get("probes", ["standardized"])[0]]
        summary.append({"row": row, "kind": kinds[row], "target": first["source"], "arch": cells[0]["arch"],
                        "probe_mean": head["mean"], "probe_std": head["std"], "n": head["n"], "probes": probes})
    return dict(first, rows=rows, row_kinds=[kinds[r] for r in rows], row_stored=[stored[r] for r in rows],
                row_sets=[len(files.get(r, set()) - {None}) for r in rows], summary=summary)


def summary_of(results, row, probe):
    """(mean, std, n) of a row's first-architecture, source-target cell under a probe protocol."""
    arch, source = results["archs"][0], results["source"]
    first = results.get("probes", ["standardized"])[0]
    for s in results["summary"]:
        if s["row"] != row or s["target"] != source:
            continue
        if s["kind"] != "teacher" and s["arch"] != arch:
            continue
        if probe == first:
            return s["probe_mean"], s["probe_std"], s["n"]
        p = s.get("probes", {}).get(probe)
        return (p["mean"], p["std"], p["n"]) if p else None
    return None


def verdict(a, b):
    """Whether row a beats row b: holds when the gap exceeds both spreads, does not hold when
    b leads by as much, not resolved otherwise (or with one value per row)."""
    gap = 100 * (a[0] - b[0])
    spread = 100 * max(a[1], b[1])
    if a[2] < 2 or b[2] < 2:
        return gap, spread, "not resolved (one value per row)"
    if gap > spread:
        return gap, spread, "holds"
    if gap < -spread:
        return gap, spread, "does not hold"
    return gap, spread, "not resolved (gap within the spread)"


def claim_line(results, probe, pair):
    a, b = (summary_of(results, r, probe) for r in pair)
    if not a or not b:
        return None
    gap, spread, word = verdict(a, b)
    return (f"- {pair[0]} > {pair[1]}: **{word}**: {gap:+.2f} points (larger std {spread:.2f}; "
            f"n = {a[2]}, {b[2]})")


def spread_table(results, probe):
    """For rows with several distilled sets and several student seeds a set: the std of the set
    means (what the distillation seed moves) beside the pooled within-set std (what the student
    seed moves), from the grid's cells. Empty when no row has both."""
    arch, source = results["archs"][0], results["source"]
    out = []
    for row in results["rows"]:
        by_set = {}
        for r in results["records"]:
            if r["row"] == row and r["target"] == source and r["arch"] == arch and r.get("file"):
                value = r["probes"][probe]["test_accuracy"] if "probes" in r else r["probe_test_accuracy"]
                by_set.setdefault(r["file"], []).append(100 * value)
        sets = [v for v in by_set.values() if len(v) > 1]
        if len(sets) < 2 or len(sets) != len(by_set):
            continue
        between = statistics.stdev(statistics.fmean(v) for v in sets)
        within = math.sqrt(statistics.fmean(statistics.variance(v) for v in sets))
        out.append(f"| {row} | {len(sets)} x {len(sets[0])} | {between:.2f} | {within:.2f} |")
    if not out:
        return []
    return ["\nWhere the spread comes from: the std of a row's set means (distillation seeds) and the pooled "
            "std within a set (student seeds), in points:\n",
            "| row | sets x student seeds | between sets | within a set |", "|---|---|---|---|"] + out


def run_budget(run):
    """The budget N of a run's sets, from its config.json (every set of a run shares it)."""
    path = os.path.join(run, "config.json")
    if not os.path.exists(path):
        return None
    config = load(path)
    for section in ("distill", "baselines"):
        for stage in config.get(section, {}).values():
            if "budget" in stage:
                return stage["budget"]
    return None


def grid_section(run_name, grid_name, results, budget, figure=None):
    """The grid's tables and claim lines per probe; with `figure`, also an SVG of each row's gain
    over random at equal storage (written there, linked from the section)."""
    out, gains = [], {}
    p = results["protocol"]
    steps = p.get("pretrain_steps", 0)
    protocol = (f"equal compute: {steps} SGD steps for every set" if steps
                else f"the paper's: {p['pretrain_epochs']} epochs over each set's (view, target) pairs")
    stored = dict(zip(results["rows"], results.get("row_stored", [])))
    sets = dict(zip(results["rows"], results.get("row_sets", [])))
    out.append(f"### {run_name}, grid `{grid_name}`: pretraining {protocol}\n")
    out.append(f"Source {results['source']}, student {results['archs'][0]}, teacher {results['teacher']['arch']} "
               f"(id {results['teacher']['id']}); {p['seeds']} student seed(s) per set.\n")
    for probe in results.get("probes", ["standardized"]):
        length = f"{p['probe_steps']} steps" if p.get("probe_steps") else (
            "5,000 steps" if probe == "krrst" else f"{p['probe_epochs']} epochs")
        name = (f"KRR-ST's probe (raw features, {length})" if probe == "krrst"
                else f"standardised probe ({length})")
        out.append(f"#### {name}\n")
        out.append("| row | top-1 % | n | sets | stored (image-equivalents) | over random at equal storage |")
        out.append("|---|---|---|---|---|---|")
        base = summary_of(results, "random-eq", probe)
        if budget is None and "random-eq" in stored and stored["random-eq"] is not None:
            budget = math.ceil(stored["random-eq"] - 1e-6)  # a grid folder: random-eq fills the budget
        for row in results["rows"]:
            s = summary_of(results, row, probe)
            if not s:
                continue
            st = stored.get(row)
            over = ""
            if base and st is not None and (budget is None or st <= budget + 1e-9):
                over = f"{100 * (s[0] - base[0]):+.2f}"
                if row != "random-eq":
                    gains.setdefault(row, {})[probe] = 100 * (s[0] - base[0])
            elif base and st is not None:
                over = f"(stores over {budget})"
            out.append(f"| {row} | {100 * s[0]:.2f} ± {100 * s[1]:.2f} | {s[2]} | {sets.get(row) or ''} | "
                       f"{'' if st is None else f'{st:.1f}'} | {over} |")
        out.append("")
        pairs = [(chain[i], chain[i + 1]) for chain in (ORDER_CLAIM, ORDER_CLAIM_EQ) for i in range(len(chain) - 1)]
        pairs += [("ours", ablation) for ablation in ABLATIONS] + CONTROLS
        lines = [claim_line(results, probe, pair) for pair in dict.fromkeys(pairs)]
        lines = [line for line in lines if line]
        if lines:
            out.append("Claims (holds: the gap exceeds the larger std; does not hold: the other way round):\n")
            out.extend(lines)
        else:
            out.append("No claim of the paper has both of its rows in this grid.")
        out.extend(spread_table(results, probe))
        splits = [claim_line(results, probe, (row, "ours")) for row in results["rows"] if SPLIT_ROW.match(row)]
        if any(splits):
            out.append("\nBudget splits against `ours` (k_x 256, k_y 32, the split the sweep started from), the same rule:\n")
            out.extend(line for line in splits if line)
        out.append("")
    if figure and gains:
        probes = results.get("probes", ["standardized"])
        with open(figure, "w") as f:
            where = run_name if run_name == grid_name else f"{run_name} / {grid_name}"
            f.write(svg_bars(gains, probes, f"{where}: points over random-eq (equal storage)"))
        out.append(f"![gain over random at equal storage]({os.path.basename(figure)})\n")
    return out


def svg_bars(gains, probes, title, width=640):
    """Horizontal bars: one group per row, one bar per probe, from a zero line (SVG text)."""
    names = {"standardized": "standardised probe", "krrst": "KRR-ST's probe"}
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c"]
    bar, gap, top, left, right = 9, 8, 40, 150, 60
    rows = list(gains)
    height = top + len(rows) * (len(probes) * bar + gap) + 30
    values = [v for g in gains.values() for v in g.values()] + [0.0]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    def px(v):  # 40 px kept free left of the bars for a negative bar's value
        return left + 40 + (width - left - 40 - right) * (v - lo) / span
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="14" text-anchor="middle">{title}</text>']
    for k, probe in enumerate(probes):
        out.append(f'<rect x="{left + 170 * k}" y="22" width="10" height="10" fill="{colours[k % 3]}"/>')
        out.append(f'<text x="{left + 14 + 170 * k}" y="31">{names.get(probe, probe)}</text>')
    y = top
    for row in rows:
        out.append(f'<text x="{left - 6}" y="{y + len(probes) * bar / 2 + 4}" text-anchor="end">{row}</text>')
        for k, probe in enumerate(probes):
            v = gains[row].get(probe)
            if v is not None:
                x0, x1 = sorted((px(0.0), px(v)))
                out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0.5):.1f}" height="{bar - 1}" '
                           f'fill="{colours[k % 3]}"/>')
                out.append(f'<text x="{(x1 + 3) if v >= 0 else (x0 - 3):.1f}" y="{y + bar - 1}" '
                           f'text-anchor="{"start" if v >= 0 else "end"}" font-size="9">{v:+.2f}</text>')
            y += bar
        y += gap
    out.append(f'<line x1="{px(0.0):.1f}" y1="{top - 4}" x2="{px(0.0):.1f}" y2="{y}" stroke="black"/>')
    out.append(f'<text x="{px(0.0):.1f}" y="{y + 14}" text-anchor="middle">0 (random-eq)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# Settings that do not change what a distilled set is: left out when grouping sets that differ
# only in their outer iterations.
NOT_SETTINGS = {"iterations", "checkpoint_every", "threads", "device", "data_dir", "teacher"}


LOSS_WINDOW = 10  # iterations a plotted point averages: one step's loss is one real batch's


def loss_curve(metrics):
    """(window, means) of a set's outer loss: published metrics keep window means
    (loss_windows, written by window_means), a run folder's keep every iteration's loss."""
    if "loss_windows" in metrics:
        return metrics["loss_windows"]["window"], metrics["loss_windows"]["mean"]
    if metrics.get("loss"):
        return LOSS_WINDOW, window_means(metrics["loss"])
    return None


def window_means(losses, window=LOSS_WINDOW):
    return [statistics.fmean(losses[i:i + window]) for i in range(0, len(losses) - window + 1, window)]


def convergence_groups(run):
    """{settings key: [(name, iterations, metrics)]} for the run's distilled sets that share every
    setting but their iterations, when at least two lengths exist."""
    distill = os.path.join(run, "distill")
    groups = {}
    if not os.path.isdir(distill):
        return groups
    for name in sorted(os.listdir(distill)):
        config_path, metrics_path = (os.path.join(distill, name, f) for f in ("config.json", "metrics.json"))
        if not (os.path.exists(config_path) and os.path.exists(metrics_path)):
            continue
        config = load(config_path)
        key = json.dumps({k: v for k, v in config.items() if k not in NOT_SETTINGS}, sort_keys=True)
        groups.setdefault(key, []).append((name, config["iterations"], load(metrics_path)))
    return {k: sorted(v, key=lambda e: e[1]) for k, v in groups.items() if len({e[1] for e in v}) > 1}


def svg_curves(series, title, width=640, height=300):
    """A line chart of (label, xs, ys) series as SVG text: x = outer iteration, y = outer loss."""
    pad_left, pad_bottom, pad = 60, 40, 15
    x_max = max(max(xs) for _, xs, _ in series)
    ys_all = [y for _, _, ys in series for y in ys]
    y_min, y_max = min(ys_all), max(ys_all)
    y_span = (y_max - y_min) or 1.0
    def px(x):
        return pad_left + (width - pad_left - pad) * x / x_max
    def py(y):
        return pad + (height - pad - pad_bottom) * (1 - (y - y_min) / y_span)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="12" text-anchor="middle">{title}</text>',
           f'<line x1="{pad_left}" y1="{py(y_min)}" x2="{px(x_max)}" y2="{py(y_min)}" stroke="black"/>',
           f'<line x1="{pad_left}" y1="{py(y_min)}" x2="{pad_left}" y2="{py(y_max)}" stroke="black"/>']
    for i in range(5):
        x, y = x_max * i / 4, y_min + y_span * i / 4
        out.append(f'<text x="{px(x):.1f}" y="{height - pad_bottom + 15}" text-anchor="middle">{x:,.0f}</text>')
        out.append(f'<text x="{pad_left - 5}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.3g}</text>')
    out.append(f'<text x="{(pad_left + width) / 2}" y="{height - 5}" text-anchor="middle">outer iteration</text>')
    for i, (label, xs, ys) in enumerate(series):
        colour = colours[i % len(colours)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}"/>')
        out.append(f'<text x="{width - pad - 120}" y="{pad + 20 + 14 * i}" fill="{colour}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def alignment_of(results, row):
    for s in results["summary"]:
        if s["row"] == row and s["target"] == results["source"] and s.get("alignment"):
            return s["alignment"]
    return None


def figure_path(out_path, name, kind):
    """docs/science.md + "cifar10 + b", "gain" -> docs/science-cifar10-b-gain.svg"""
    slug = "-".join(part for part in "".join(c if c.isalnum() else " " for c in name).split())
    return f"{os.path.splitext(out_path)[0]}-{slug}-{kind}.svg"


def convergence_section(run, out_path):
    """Per group of sets that differ only in iterations: a table of each length's distilling
    time, final outer loss, probes and alignment (first grid), and an SVG of the loss curves."""
    groups = convergence_groups(run)
    if not groups:
        return []
    evaluate = os.path.join(run, "evaluate")
    grids = sorted(g for g in os.listdir(evaluate) if os.path.exists(os.path.join(evaluate, g, "results.json")))
    if not grids:
        return []
    grid = "main" if "main" in grids else grids[0]
    results = load(os.path.join(evaluate, grid, "results.json"))
    probes = results.get("probes", ["standardized"])
    run_name = os.path.basename(os.path.normpath(run))
    out = [f"### {run_name}: distillation length (grid `{grid}`)\n"]
    for sets in groups.values():
        method = load(os.path.join(run, "distill", sets[0][0], "config.json"))["method"]
        header = " | ".join(f"{'KRR-ST probe' if p == 'krrst' else 'standardised probe'} %" for p in probes)
        out.append(f"| row | outer iterations | distilling min | final outer loss | {header} | R^2 | CKA |")
        out.append("|---|---|---|---|" + "---|" * len(probes) + "---|---|")
        series = []
        for name, iterations, metrics in sets:
            cells = []
            for p in probes:
                s = summary_of(results, name, p)
                cells.append(f"{100 * s[0]:.2f} ± {100 * s[1]:.2f}" if s else "")
            a = alignment_of(results, name)
            r2 = f"{a['r2_mean']:.3f}" if a else ""
            cka = f"{a['cka_mean']:.3f}" if a else ""
            out.append(f"| {name} | {iterations:,} | {metrics.get('seconds', 0) / 60:.1f} | "
                       f"{metrics.get('final_loss', float('nan')):.4f} | {' | '.join(cells)} | {r2} | {cka} |")
            curve = loss_curve(metrics)
            if curve:
                window, means = curve
                series.append((f"{name} ({iterations:,})", [window * (i + 1) for i in range(len(means))], means))
        out.append("")
        if series:
            figure = figure_path(out_path, f"{run_name}-{method}", "loss")
            with open(figure, "w") as f:
                f.write(svg_curves(series, f"{run_name}: {method}'s outer loss (means over windows)"))
            out.append(f"![{method}'s outer loss against iterations]({os.path.basename(figure)})\n")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders of `ssdd run`, or grid folders of `ssdd evaluate`")
    parser.add_argument("--out", default="docs/science.md")
    args = parser.parse_args()
    out = ["# Is `ours`' lead real? (issue 23)", "",
           "Generated by `scripts/science_report.py` from the run folders below; every number is a grid's "
           "results.json. Rows ending in `-eq` count their targets against the budget (storage-equal with "
           "`ours`); `random-rot` stores random's images with every rotation's teacher target; `sets` is the "
           "number of distillation seeds pooled into a row's mean ± std. A verdict compares a gap with the larger "
           "sample std of the two rows: with n = 2 or 3 values a row, \"holds\" is a consistency check, "
           "not a significance test. A section named `A + B` pools grids evaluated at different times under one "
           "protocol: their cells, not their means. \"Over random at equal storage\" is a row's mean minus "
           "random-eq's, for rows that store at most the budget; its figure per grid is an SVG beside this file.", "",
           "Command: `scripts/science_report.py " + " ".join(sys.argv[1:]) + "`", ""]
    found = 0
    for run in args.runs:
        parts = run.split("+")
        name = " + ".join(os.path.basename(os.path.normpath(p)) for p in parts)
        if all(os.path.exists(os.path.join(p, "results.json")) for p in parts):  # grids, from `ssdd evaluate`
            grids = [load(os.path.join(p, "results.json")) for p in parts]
            out.append(f"## {name}")
            out.append("")
            out.extend(grid_section(name, name, pooled(grids) if len(grids) > 1 else grids[0], None,
                                    figure_path(args.out, name, "gain")))
            found += 1
            continue
        evaluate = os.path.join(run, "evaluate")
        if not os.path.isdir(evaluate):
            print(f"science_report: {run} has neither an evaluate/ folder nor a results.json", file=sys.stderr)
            return 1
        run_json = os.path.join(run, "run.json")
        meta = load(run_json) if os.path.exists(run_json) else {}
        out.append(f"## {os.path.basename(os.path.normpath(run))}")
        out.append("")
        if meta:
            machine = meta.get("machine", {})
            out.append(f"Run updated {meta.get('updated', '?')}, config `{meta.get('config', '?')}`, machine "
                       f"{machine.get('cpu', '?')}; finished: {meta.get('finished', False)}.")
            out.append("")
        for grid in sorted(os.listdir(evaluate)):
            results_path = os.path.join(evaluate, grid, "results.json")
            if os.path.exists(results_path):
                run_name = os.path.basename(os.path.normpath(run))
                out.extend(grid_section(run_name, grid, load(results_path), run_budget(run),
                                        figure_path(args.out, f"{run_name}-{grid}", "gain")))
                found += 1
        out.extend(convergence_section(run, args.out))
    if not found:
        print("science_report: no grid has a results.json yet", file=sys.stderr)
        return 1
    with open(args.out + ".tmp", "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(args.out + ".tmp", args.out)
    print(f"science_report: {found} grid(s) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
