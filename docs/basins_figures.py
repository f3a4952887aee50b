"""Two summary figures for docs/basins.md, drawn from the JSON that `basins map` wrote (no recomputation):

1. seed pairs: the aligned barrier between two seeds of one config against the pair's mean mono/N;
2. width: the aligned seed-pair barrier against k (small_k runs), with Zhan et al.'s k^-1/2 for scale.

Usage: python docs/basins_figures.py [--root runs/basins] [--out docs/figures]
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def seed_pairs(m: dict) -> list[dict]:
    """Pairs of runs that differ only in the seed, with their barriers and mono/N."""
    fields = m["differing_fields"]
    key = lambda r: tuple(r[f] for f in fields)  # noqa: E731
    out = []
    for i, j in itertools.combinations(range(len(m["runs"])), 2):
        a, b = m["runs"][i], m["runs"][j]
        if key(a) == key(b):
            out.append({"config": dict(zip(fields, key(a))), "aligned_rel": m["aligned_rel"][i][j],
                        "naive_rel": m["naive_rel"][i][j], "mono": (a["mono_per_N"] + b["mono_per_N"]) / 2})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="runs/basins")
    ap.add_argument("--out", default="docs/figures")
    args = ap.parse_args()
    root, out = Path(args.root), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, marker in (("map_lr_bias_batch", "o"), ("map_decay_2p14", "s")):
        path = root / name / "map.json"
        if not path.exists():
            continue
        m = json.loads(path.read_text())
        pairs = seed_pairs(m)
        configs = sorted({json.dumps(p["config"], sort_keys=True) for p in pairs})
        for c_i, c in enumerate(configs):
            ps = [p for p in pairs if json.dumps(p["config"], sort_keys=True) == c]
            label = ", ".join(f"{k}={v}" for k, v in json.loads(c).items())
            ax.scatter([p["mono"] for p in ps], [100 * p["aligned_rel"] for p in ps], marker=marker, s=22,
                       color=plt.cm.tab20(c_i % 20), label=f"{'2^13' if marker == 'o' else '2^14'}: {label}")
    ax.axhline(5, color="grey", ls=":", lw=1, label="tolerance of the maps (5%)")
    ax.set(xlabel="mean mono/N of the pair", ylabel="aligned barrier between seeds (% of endpoint mean loss)",
           yscale="log", title="Seed pairs of one config: aligned barrier vs monosemanticity\n"
                               "cpu-small (N128 d32 k256), batch 1024 unless stated")
    ax.legend(fontsize=5.5, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "basins_seed_pairs.png", dpi=130, bbox_inches="tight")
    plt.close(fig)

    ks, rows = [], []
    for path in sorted(root.glob("width_k*/map.json"), key=lambda p: int(p.parent.name[7:])):
        m = json.loads(path.read_text())
        k = int(path.parent.name[7:])
        n = len(m["runs"])
        pairs = [(m["aligned_rel"][i][j], m["naive_rel"][i][j], m["aligned"][i][j])
                 for i, j in itertools.combinations(range(n), 2)]
        ks.append(k)
        rows.append({"k": k, "aligned_rel": [p[0] for p in pairs], "naive_rel": [p[1] for p in pairs],
                     "aligned_abs": [p[2] for p in pairs], "mono": [r["mono_per_N"] for r in m["runs"]]})
    if rows:
        fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
        for r in rows:
            ax[0].scatter([r["k"]] * len(r["aligned_rel"]), [100 * v for v in r["aligned_rel"]], color="C0", s=18)
            ax[0].scatter([r["k"]] * len(r["naive_rel"]), [100 * v for v in r["naive_rel"]], color="C1", marker="x", s=18)
            ax[1].scatter([r["k"]] * len(r["mono"]), r["mono"], color="C2", s=18)
        med = [np.median(r["aligned_rel"]) * 100 for r in rows]
        ax[0].plot(ks, med, "-", color="C0", label="aligned (3 seed pairs per k, median line)")
        ax[0].plot(ks, [np.median(r["naive_rel"]) * 100 for r in rows], "--", color="C1", label="naive")
        ref = med[0] * (np.array(ks) / ks[0]) ** -0.5
        ax[0].plot(ks, ref, ":", color="grey", label="k^-1/2 from the smallest k (Zhan et al. 2025)")
        ax[0].set(xscale="log", yscale="log", xlabel="hidden width k", ylabel="seed-pair barrier (% of endpoint mean loss)",
                  title="barrier between seeds against width")
        from matplotlib.ticker import NullFormatter

        for a in ax:
            a.xaxis.set_minor_formatter(NullFormatter())
        ax[0].set_xticks(ks, [str(k) for k in ks])
        ax[1].set(xscale="log", xlabel="hidden width k", ylabel="mono/N", title="monosemanticity of the runs")
        ax[1].set_xticks(ks, [str(k) for k in ks])
        for a in ax:
            a.grid(alpha=0.3)
        ax[0].legend(fontsize=7)
        fig.suptitle("Width sweep at lr 0.03, bias 0 (cpu-small N128 d32, 2^13 steps, 3 seeds): full eval set, 33 points",
                     fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "basins_width.png", dpi=130, bbox_inches="tight")
        plt.close(fig)
        (out / "basins_width.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
