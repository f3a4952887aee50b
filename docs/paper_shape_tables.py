"""The paper-shape starts behind docs/basins.md and docs/pruning.md ("paper shape" sections): per recipe the
3-seed mean and range of mono/N, the dead count, the eval loss and the training loss of the last eighth
(the eval is of the last weights, at the rate's peak: docs/science.md section 7), and the convergence columns of
docs/science.md section 7 (loss change over the last eighth, mono change over the last doubling, each
seed's `is_converged`), plus one figure of every seed's loss and monosemantic count against the step.

    python docs/paper_shape_tables.py runs/paper/starts runs/paper/batch4096 runs/paper/batch256 \
        --json docs/paper_starts.json
    python docs/paper_shape_tables.py --from-json docs/paper_starts.json      # table and figure again
    python docs/paper_shape_tables.py runs/paper/screen_bias1 runs/paper/screen_adam \
        runs/paper/screen_bias1_2p16/lr=0.01__seed=0 --script docs/paper_poly_screen.sh \
        --json docs/paper_poly_screen.json --figure paper_poly_screen.png --title "Polysemantic-start screen"
"""
from __future__ import annotations

import argparse
from pathlib import Path

from engineering_tables import stats
from summary_json import add_arguments, load_or_write

RECIPE = ("lr", "bias_init", "bias_decay", "bias_decay_mode", "batch", "steps", "precision", "optimizer")
OLD = {"optimizer": "lamb"}  # summaries written before the optimizer column: every one of their runs used LAMB
CONV = ("loss_rel_change_last_eighth", "mono_change_last_doubling", "dead_change_last_doubling")
FIG = Path(__file__).resolve().parent / "figures"
TITLE = "Paper-shape starts and batch-size sweep"


def finished_cells(d: Path) -> list[tuple[Path, dict]]:
    """(run dir, its results and convergence) for every finished cell of a sweep, or for one run dir (such as
    a `models extend` result)."""
    from models.runs import convergence, is_finished, read_metrics, read_summary
    from models.sweep import load_sweep

    if (d / "config.json").is_file():
        return [(d, {**read_summary(d), **convergence(read_metrics(d / "metrics.jsonl"))})] if is_finished(d) else []
    return [(d / r["name"], r) for r in load_sweep(d)["cells"] if r.get("state") == "finished"]


def read_runs(sweeps: list[Path]) -> list[dict]:
    """Every finished cell of the sweeps (or run dirs): recipe, results, convergence, and its curves (thinned
    losses)."""
    from models.runs import is_converged, read_config, read_metrics, read_summary

    rows = []
    for d in sweeps:
        for run, r in finished_cells(d):
            cfg, summary = read_config(run), read_summary(run)
            m = read_metrics(run / "metrics.jsonl")
            losses = [(x["step"], x["loss"]) for x in m if "loss" in x]
            every, eighth = max(1, len(losses) // 128), len(losses) // 8
            rows.append({"sweep": d.name if run.parent == d else run.parent.name, "name": run.name,
                         **{k: getattr(cfg, k) for k in RECIPE}, "seed": cfg.seed,
                         "N": cfg.n_features, "k": cfg.k,
                         **{k: r[k] for k in ("mono_count", "mono_per_N", "dead_count", "final_loss", *CONV)},
                         "converged": is_converged(r, r["mono_count"]),
                         # the eval loss is of the last weights, which the restarting cosine leaves at its
                         # peak rate (every 1024 steps); the training loss averages every phase
                         "train_loss_last_eighth": sum(x for _, x in losses[-eighth:]) / eighth if eighth else None,
                         **{k: summary.get(k) for k in ("wall_s", "steps_per_s")},
                         "loss_curve": losses[::every],
                         "mono_curve": [(x["step"], x["mono"]) for x in m if x.get("mono") is not None]})
    return rows


def recipe(r: dict) -> tuple:
    return tuple(r.get(k, OLD.get(k)) for k in RECIPE)


def summarize(sweeps: list[Path], script: str, json_path: Path, title: str) -> dict:
    runs = read_runs(sweeps)
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault(recipe(r), []).append(r)
    cells = [{**dict(zip(RECIPE, key)), "seeds": [r["seed"] for r in rs],
              **{f: stats([r[f] for r in rs]) for f in ("mono_per_N", "mono_count", "dead_count", "final_loss")},
              "train_loss_last_eighth": stats([r.get("train_loss_last_eighth") for r in rs])
              if all(r.get("train_loss_last_eighth") is not None for r in rs) else None,
              "max_abs_loss_change_last_eighth": max(abs(r["loss_rel_change_last_eighth"]) for r in rs),
              "max_abs_mono_change_last_doubling": max(abs(r["mono_change_last_doubling"]) for r in rs),
              "converged_seeds": sum(r["converged"] for r in rs)} for key, rs in groups.items()]
    return {"command": f"bash {script}; python docs/paper_shape_tables.py "
                       + " ".join(str(s) for s in sweeps) + f" --script {script} --json {json_path}",
            "title": title, "cells": cells, "runs": runs}


def table(s: dict) -> str:
    lines = ["| optimizer | lr | bias init | decay (mode) | batch | steps | mono/N mean [range] | dead "
             "| eval loss mean [range] | training loss, last eighth, mean [range] "
             "| max loss change, last eighth | max mono change, last doubling | converged seeds |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in s["cells"]:
        m, loss, dead = c["mono_per_N"], c["final_loss"], c["dead_count"]
        decay = f"{c['bias_decay']:g} ({c['bias_decay_mode']})" if c["bias_decay"] else "0"
        tr = c.get("train_loss_last_eighth")
        train = f"{tr['mean']:.4f} [{tr['min']:.4f}, {tr['max']:.4f}]" if tr else "n/a"
        lines.append(f"| {c.get('optimizer', 'lamb')} | {c['lr']:g} | {c['bias_init']:g} | {decay} | {c['batch']} "
                     f"| 2^{c['steps'].bit_length() - 1} "
                     f"| {m['mean']:.3f} [{m['min']:.3f}, {m['max']:.3f}] | {dead['mean']:.1f} "
                     f"| {loss['mean']:.4f} [{loss['min']:.4f}, {loss['max']:.4f}] | {train} "
                     f"| {100 * c['max_abs_loss_change_last_eighth']:.2f}% | {c['max_abs_mono_change_last_doubling']} "
                     f"| {c['converged_seeds']} of {len(c['seeds'])} |")
    return "\n".join(lines)


def figure(s: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    keys = sorted({recipe(r) for r in s["runs"]})
    for i, key in enumerate(keys):
        label = (f"{key[7]}, lr {key[0]:g}, bias {key[1]:g}" + (f", decay {key[2]:g} {key[3]}" if key[2] else "")
                 + f", batch {key[4]}, 2^{key[5].bit_length() - 1} steps")
        for j, r in enumerate(x for x in s["runs"] if recipe(x) == key):
            ax[0].plot(*zip(*r["loss_curve"]), color=f"C{i}", lw=0.7, alpha=0.8, label=label if j == 0 else None)
            steps, mono = zip(*r["mono_curve"])
            ax[1].plot(steps, [v / r["N"] for v in mono], "o-", color=f"C{i}", ms=3, lw=1,
                       label=label if j == 0 else None)
    ax[0].set(xlabel="step", ylabel="training loss (every 16 steps, thinned)", yscale="log",
              title="loss: each seed of each start")
    ax[1].set(xlabel="step (checkpoints, log2-spaced)", ylabel="monosemantic neurons / N", xscale="log",
              title="monosemanticity: each seed of each start")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    top = max(loss for r in s["runs"] for _, loss in r["loss_curve"])
    ax[0].set_ylim(0.8, min(5.0, 1.05 * top))  # a positive-bias start begins far higher: keep the tail readable
    ax[0].set_yticks([0.9, 1, 1.5, 2, 3, 4])
    ax[0].yaxis.set_major_formatter(ScalarFormatter())
    ax[0].yaxis.set_minor_formatter(NullFormatter())
    for a in ax:
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    r0 = s["runs"][0]
    precisions = "/".join(sorted({r["precision"] for r in s["runs"]}))
    fig.suptitle(f"{s.get('title', TITLE)} (N {r0['N']}, k {r0['k']}, {precisions}): convergence of loss and mono/N",
                 fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap, "sweep")
    ap.add_argument("more", type=Path, nargs="*", help="further sweep directories (the batch-size sweep)")
    ap.add_argument("--script", default="docs/paper_shape_experiments.sh", help="the script that made the runs")
    ap.add_argument("--title", default=TITLE, help="what the figure compares")
    ap.add_argument("--figure", default="paper_starts.png", help="file name under docs/figures/")
    ap.add_argument("--no-figures", action="store_true")
    a = ap.parse_args()
    s = load_or_write(a, lambda: summarize([a.sweep, *a.more], a.script, a.json, a.title))
    print(table(s))
    if not a.no_figures:
        figure(s, FIG / a.figure)


if __name__ == "__main__":
    main()
