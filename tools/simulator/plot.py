#!/usr/bin/python3
"""Plots dialgrid-sim --json output: talk occupancy per policy and case, and
every simulated day's true abandon rate per policy and case, one panel per
pool size.

  /usr/bin/python3 tools/simulator/plot.py results.json tools/simulator/results/public-suite
(writes PREFIX-occupancy.svg/.png and PREFIX-abandon.svg/.png)
Needs Debian's python3-matplotlib (/usr/bin/python3, not a pyenv python)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["progressive", "vicidial-adapt", "power", "engine", "B1", "B0"]
LABELS = {"power": "fixed ratio (hindsight best)", "vicidial-adapt": "VICIdial adaptive",
          "B1": "B1 ceiling", "B0": "B0 ceiling"}
COLORS = {"progressive": "#999999", "vicidial-adapt": "#d62728", "power": "#ff7f0e",
          "engine": "#1f77b4", "B1": "#2ca02c", "B0": "#98df8a"}


def family(name):
    for f in ORDER:
        if name.startswith(f):
            return f
    return name


def label(case):
    return "%d%%\nAMD %s" % (round(100 * case["live_answer_probability"]),
                             "on" if case["amd"] else "off")


def panels(cases):
    sizes = sorted({c["agents"] for c in cases})
    by_size = {n: sorted([c for c in cases if c["agents"] == n],
                         key=lambda c: (c["live_answer_probability"], c["amd"])) for n in sizes}
    return sizes, by_size


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1]) as f:
        data = json.load(f)
    prefix = sys.argv[2]
    cases = data["cases"]
    sizes, by_size = panels(cases)
    fams = [f for f in ORDER if any(family(p["policy"]) == f for c in cases for p in c["policies"])]

    fig, axes = plt.subplots(1, len(sizes), figsize=(3.6 * len(sizes), 4.6), sharey=True,
                             squeeze=False)
    width = 0.8 / len(fams)
    for ax, n in zip(axes[0], sizes):
        group = by_size[n]
        for i, fam in enumerate(fams):
            xs, ys = [], []
            for j, c in enumerate(group):
                for p in c["policies"]:
                    if family(p["policy"]) == fam and not p["policy"].startswith("power (no"):
                        xs.append(j + (i - (len(fams) - 1) / 2) * width)
                        ys.append(100 * p["occupancy"])
            ax.bar(xs, ys, width, label=LABELS.get(fam, fam), color=COLORS.get(fam))
        if n in (50, 100):
            ax.axhline(73.3, color="black", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(group)))
        ax.set_xticklabels([label(c) for c in group], fontsize=7)
        ax.set_title("%d agents" % n, fontsize=10)
        ax.set_ylim(0, 100)
        ax.grid(axis="y", linewidth=0.3)
    axes[0][0].set_ylabel("talk occupancy (%)")
    axes[0][0].legend(fontsize=6, loc="upper left", ncol=2)
    fig.suptitle("Talk occupancy per policy (live answers %, AMD; reporting seeds, all days; "
                 "dotted: 73.3 % target at 50/100 agents, 20 %, AMD off)", fontsize=10)
    fig.tight_layout()
    fig.savefig(prefix + "-occupancy.svg")
    fig.savefig(prefix + "-occupancy.png", dpi=90)

    shown = [f for f in fams if f not in ("B0", "B1")]
    fig, axes = plt.subplots(1, len(sizes), figsize=(3.6 * len(sizes), 4.6), sharey=True,
                             squeeze=False)
    for ax, n in zip(axes[0], sizes):
        group = by_size[n]
        for i, fam in enumerate(shown):
            for j, c in enumerate(group):
                for p in c["policies"]:
                    if family(p["policy"]) == fam and not p["policy"].startswith("power (no"):
                        days = [100 * d for d in p["day_abandon"]]
                        x = [j + (i - (len(shown) - 1) / 2) * 0.2] * len(days)
                        ax.scatter(x, days, s=5, color=COLORS.get(fam), alpha=0.6,
                                   label=LABELS.get(fam, fam) if j == 0 else None)
        ax.axhline(3.0, color="black", linewidth=1)
        ax.set_xticks(range(len(group)))
        ax.set_xticklabels([label(c) for c in group], fontsize=7)
        ax.set_title("%d agents" % n, fontsize=10)
        ax.set_ylim(0, 7)
        ax.grid(axis="y", linewidth=0.3)
    axes[0][0].set_ylabel("true abandon rate of each simulated day (%)")
    axes[0][0].legend(fontsize=7, loc="upper left", markerscale=2)
    fig.suptitle("Abandoned live answers / live answers per day (AMD hang-ups on live persons "
                 "included); line: the 3 % cap", fontsize=10)
    fig.tight_layout()
    fig.savefig(prefix + "-abandon.svg")
    fig.savefig(prefix + "-abandon.png", dpi=90)
    return 0


if __name__ == "__main__":
    sys.exit(main())
