"""The tables' side of --rounds K (bench/rounds.sh): a measurement's JSON of each round, the
median over rounds, and a per-round ratio summarised as median (range)."""
import json
import statistics


def runs(work, name, kind, rounds):
    """The JSON of `name`'s `kind` measurement in rounds 1..rounds, written as work/name.rR.kind.json."""
    return [json.load(open(f"{work}/{name}.r{r}.{kind}.json")) for r in range(1, rounds + 1)]


def med(values):
    return statistics.median(values)


def ranged(ratios):
    """A per-round ratio as its median, with the range where there was more than one round."""
    return f"{med(ratios):.2f}" + (f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else "")
