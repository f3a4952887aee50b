"""The numbers and figures behind docs/features.md (fewer neurons than features), from one sweep dir.

Per run: models.features.feature_view on the final weights (categories per feature) and, at each
log2-spaced checkpoint, how many features of each frequency decile a monosemantic neuron serves. Per
cell (k, freq, lr): category fractions per rank decile and overall (mean and range over seeds), the
convergence columns, and for power-law cells a logistic fit in log10 p of "monosemantic" and of
"represented" (not ignored): the frequency p50 where half the features are, and the width (decades of
p from 27% to 73%) that says how sharp the threshold is.

    python docs/features_tables.py runs/features/decoder_k_freq --json docs/features_decoder.json
    python docs/features_tables.py --from-json docs/features_decoder.json      # tables and figures again
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from summary_json import add_arguments, load_or_write

CATS = ("monosemantic", "polysemantic", "ignored")
FIG = Path(__file__).resolve().parent / "figures"


def logistic_fit(logp: list[float], y: list[int]) -> dict | None:
    """Maximum-likelihood y ~ sigmoid((log10 p - x0) / s), x0 within 2 decades of the data and s in
    [0.005, 10] (at 0.005 the classes are separable: a step); None when y is constant."""
    import numpy as np
    from scipy.optimize import minimize

    x, t = np.asarray(logp), np.asarray(y, dtype=float)
    if t.min() == t.max():
        return None

    def nll(theta):
        z = (x - theta[0]) / math.exp(theta[1])
        return float(np.sum(np.logaddexp(0, z) - t * z))
    lo, hi = float(x.min()), float(x.max())
    best = minimize(nll, [float(np.median(x)), math.log(0.3)], method="L-BFGS-B",
                    bounds=[(lo - 2, hi + 2), (math.log(0.005), math.log(10))])
    x0, s = float(best.x[0]), math.exp(float(best.x[1]))
    return {"p50": 10 ** x0, "log10_p50": x0, "width_decades": 2 * s, "inside_range": bool(lo <= x0 <= hi),
            "separable": bool(s <= 0.0051)}


def run_record(run_dir: Path) -> dict:
    from models.features import feature_view
    from models.metric import monosemanticity, single_feature_activations
    from models.runs import load_run
    from models.tasks import Task

    run = load_run(run_dir)
    cfg = run.config
    view = feature_view(run.params, cfg, run.task_tensors)
    order = sorted(view["features"], key=lambda f: f["rank"])
    n = cfg.n_features
    decile_of = {f["feature"]: q * 10 // n for q, f in enumerate(order)}
    single = Task(cfg, "cpu", run.task_tensors).single_feature_inputs()
    steps = []
    for step in run.checkpoint_steps():
        m = monosemanticity(single_feature_activations(run.checkpoint(step), single))
        served = (m.per_feature > 0).tolist()
        per = [0] * 10
        for i, s in enumerate(served):
            per[decile_of[i]] += int(s)
        steps.append({"step": step, "mono": m.mono_count, "served_per_decile": per})
    return {"k": cfg.k, "freq": cfg.freq, "lr": cfg.lr, "seed": cfg.seed, "mono_count": view["mono_count"],
            "dead_count": view["dead_count"], "steps": cfg.steps, "final_loss": run.summary["final_loss"], "counts": view["counts"],
            "deciles": view["deciles"],
            "features": [{k: f[k] for k in ("feature", "rank", "p", "category", "rel_error", "mono_share",
                                            "poly_share")} for f in order],
            "checkpoints": steps}


def stats(vals):
    vals = [v for v in vals if v is not None]
    return {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals)} if vals else None


def summarize(sweep_dir: Path, json_path: Path) -> dict:
    from models.runs import convergence, is_converged, read_metrics
    from models.sweep import load_sweep

    sw = load_sweep(sweep_dir)
    runs = []
    for r in sw["cells"]:
        if r.get("state") == "finished":
            rec = run_record(sweep_dir / r["name"])
            rec["convergence"] = convergence(read_metrics(sweep_dir / r["name"] / "metrics.jsonl"))
            runs.append(rec)
    cells = {}
    for r in runs:
        cells.setdefault((r["k"], r["freq"], r["lr"]), []).append(r)
    out = []
    for (k, freq, lr), rs in sorted(cells.items()):
        n = len(rs[0]["features"])
        cell = {"k": k, "freq": freq, "lr": lr, "seeds": sorted(r["seed"] for r in rs),
                "mono_count": stats([r["mono_count"] for r in rs]), "dead_count": stats([r["dead_count"] for r in rs]),
                "final_loss": stats([r["final_loss"] for r in rs]),
                "loss_rel_change_last_eighth": stats([r["convergence"]["loss_rel_change_last_eighth"] for r in rs]),
                "mono_change_last_doubling": stats([r["convergence"]["mono_change_last_doubling"] for r in rs]),
                "converged": all(is_converged(r["convergence"], r["mono_count"]) for r in rs),
                **{c: stats([r["counts"][c] / n for r in rs]) for c in CATS},
                "deciles": [{c: stats([r["deciles"][q][c] for r in rs]) for c in CATS} | {
                    "p": rs[0]["deciles"][q]["p"], "mean_rel_error": stats([r["deciles"][q]["mean_rel_error"]
                                                                            for r in rs])} for q in range(10)],
                "served_per_decile_by_step": [{"step": ck["step"], "served_per_decile": [
                    sum(r["checkpoints"][i]["served_per_decile"][q] for r in rs) / len(rs) for q in range(10)]}
                    for i, ck in enumerate(rs[0]["checkpoints"])]}
        if freq == "power_law":
            logp = [math.log10(f["p"]) for r in rs for f in r["features"]]
            cell["fit_monosemantic"] = logistic_fit(logp, [int(f["category"] == "monosemantic") for r in rs
                                                           for f in r["features"]])
            cell["fit_represented"] = logistic_fit(logp, [int(f["category"] != "ignored") for r in rs
                                                          for f in r["features"]])
        out.append(cell)
    return {"command": f"bash docs/features_experiments.sh; python docs/features_tables.py {sweep_dir} "
                       f"--json {json_path}", "n_features": len(runs[0]["features"]) if runs else None,
            "steps": runs[0]["steps"] if runs else None, "seeds": max((len(c["seeds"]) for c in out), default=0),
            "cells": out}


# ------------------------------------------------------------------ printing
def cell_s(s, fmt=".2f") -> str:
    return "-" if s is None else f"{s['mean']:{fmt}} [{s['min']:{fmt}}, {s['max']:{fmt}}]"


def md(header, rows) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                     + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def fit_s(f) -> str:
    if f is None:
        return "none (constant)"
    return (f"p50 {f['p50']:.3g}, width " + ("a step" if f["separable"] else f"{f['width_decades']:.2f} dec")
            + ("" if f["inside_range"] else " (outside the range)"))


def print_tables(s: dict) -> None:
    print("per cell (fractions of the N features; mean [min, max] over seeds):\n")
    print(md(("k", "freq", "lr", "monosemantic", "polysemantic", "ignored", "mono neurons", "dead", "loss",
              "loss change last eighth", "mono change last doubling", "converged"),
             [[c["k"], c["freq"], c["lr"], *(cell_s(c[x]) for x in CATS), cell_s(c["mono_count"], ".1f"),
               cell_s(c["dead_count"], ".1f"), cell_s(c["final_loss"], ".4f"),
               cell_s(c["loss_rel_change_last_eighth"], "+.3f"), cell_s(c["mono_change_last_doubling"], "+.1f"),
               {True: "yes", False: "no"}.get(c.get("converged"), "?")]
              for c in s["cells"]]))
    print("\npower-law cells: per rank decile, monosemantic / polysemantic / ignored fraction (means), and fits:\n")
    rows = []
    for c in s["cells"]:
        if c["freq"] != "power_law":
            continue
        rows.append([c["k"], c["lr"], *(" / ".join(f"{d[x]['mean']:.2f}" for x in CATS) for d in c["deciles"]),
                     fit_s(c.get("fit_monosemantic")), fit_s(c.get("fit_represented"))])
    print(md(("k", "lr", *[f"decile {q + 1}" for q in range(10)], "fit: monosemantic", "fit: represented"), rows))


# ------------------------------------------------------------------ figures
def decile_figure(s: dict, path: Path, freq: str = "power_law") -> None:
    import matplotlib.pyplot as plt

    cells = [c for c in s["cells"] if c["freq"] == freq]
    ks, lrs = sorted({c["k"] for c in cells}), sorted({c["lr"] for c in cells}, reverse=True)
    fig, axes = plt.subplots(len(lrs), len(ks), figsize=(2.6 * len(ks), 2.6 * len(lrs)), sharex=True, sharey=True,
                             squeeze=False)
    colours = {"monosemantic": "C2", "polysemantic": "C0", "ignored": "C3"}
    for i, lr in enumerate(lrs):
        for j, k in enumerate(ks):
            ax = axes[i][j]
            c = next((c for c in cells if c["k"] == k and c["lr"] == lr), None)
            if c is None:
                ax.set_axis_off()
                continue
            bottom = [0.0] * 10
            for cat in CATS:
                vals = [d[cat]["mean"] for d in c["deciles"]]
                ax.bar(range(1, 11), vals, bottom=bottom, color=colours[cat], width=0.85, label=cat)
                bottom = [b + v for b, v in zip(bottom, vals)]
            ax.set_title(f"k={k}, lr {lr:g}", fontsize=9)
            if i == len(lrs) - 1:
                ax.set_xlabel("frequency decile (1 = most frequent)", fontsize=8)
            if j == 0:
                ax.set_ylabel("fraction of features", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Fewer neurons than features: decoder N={s['n_features']}, {freq.replace('_', '-')} frequencies, "
                 "2^13 steps (mean over 3 seeds)", fontsize=10)
    _save(fig, path)


def k_figure(s: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    combos = sorted({(c["freq"], c["lr"]) for c in s["cells"]})
    for ax, cat in zip(axes, CATS):
        for i, (freq, lr) in enumerate(combos):
            cs = sorted((c for c in s["cells"] if c["freq"] == freq and c["lr"] == lr), key=lambda c: c["k"])
            mean = [c[cat]["mean"] for c in cs]
            ax.errorbar([c["k"] for c in cs], mean, yerr=[[m - c[cat]["min"] for m, c in zip(mean, cs)],
                                                          [c[cat]["max"] - m for m, c in zip(mean, cs)]],
                        fmt="-o" if freq == "power_law" else "--s", color=f"C{i}", capsize=3, ms=4,
                        label=f"{freq.replace('_', '-')}, lr {lr:g}")
        ax.axvline(s["n_features"], color="k", lw=0.8, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("neurons k (dotted: k = N)")
        ax.set_title(f"{cat} features")
    axes[0].set_ylabel("fraction of the N features (mean, range over seeds)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Which features get a neuron as k falls below N={s['n_features']} (decoder, {_budget(s)})")
    _save(fig, path)


def steps_figure(s: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    cells = [c for c in s["cells"] if c["freq"] == "power_law" and c["lr"] == max(x["lr"] for x in s["cells"])]
    cells = sorted(cells, key=lambda c: c["k"])[-2:]
    fig, axes = plt.subplots(1, len(cells), figsize=(5.5 * len(cells), 3.8), squeeze=False)
    for ax, c in zip(axes[0], cells):
        steps = [x["step"] for x in c["served_per_decile_by_step"]]
        for q in range(10):
            ax.plot(steps, [x["served_per_decile"][q] for x in c["served_per_decile_by_step"]], "-o", ms=3,
                    color=plt.cm.viridis(q / 9), label=f"decile {q + 1}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("step")
        ax.set_ylabel("served features (mean over seeds)")
        ax.set_title(f"k={c['k']}, lr {c['lr']:g}, power-law", fontsize=9)
    axes[0][-1].legend(fontsize=6, ncol=2)
    fig.suptitle("Features with a monosemantic neuron, per frequency decile (1 = most frequent), against step",
                 fontsize=10)
    _save(fig, path)


def _budget(s: dict) -> str:
    steps = s.get("steps")
    return f"2^{int(math.log2(steps))} steps" if steps and steps & (steps - 1) == 0 else f"{steps} steps"


def _save(fig, path: Path) -> None:
    from models.runs import save_figure

    fig.tight_layout()
    save_figure(fig, path)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap, "sweep")
    ap.add_argument("--no-figures", action="store_true", help="tables only (the figures show the main sweep)")
    a = ap.parse_args()
    s = load_or_write(a, lambda: summarize(a.sweep, a.json))
    print_tables(s)
    if a.no_figures:
        return
    decile_figure(s, FIG / "features_deciles_power_law.png")
    decile_figure(s, FIG / "features_deciles_uniform.png", "uniform")
    k_figure(s, FIG / "features_by_k.png")
    steps_figure(s, FIG / "features_by_step.png")


if __name__ == "__main__":
    main()
