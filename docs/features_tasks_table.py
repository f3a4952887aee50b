"""The paper's three effects on the reprojector and absolute-value tasks (docs/features.md finding 2), in
docs/reproduction.md's design: (a) lr 0.003 -> 0.03 at bias 0, (b) bias -1 with decay 0.5 against bias 0
at each lr, (c) k = 32 -> 64 -> 128 -> 256 at lr 0.03. Per cell the 3-seed mean [min, max] of mono/N, the
dead count and the eval loss, the convergence columns, and "converged": every seed settled by
models.runs.is_converged (docs/science.md section 7).
Verdicts as in docs/fidelity_table.py: "holds" needs disjoint seed ranges upward and the loss bound.

    python docs/features_tasks_table.py runs/features --json docs/features_tasks.json
    python docs/features_tasks_table.py --from-json docs/features_tasks.json     # tables and figure again
"""
from __future__ import annotations

import argparse
from pathlib import Path

from features_tables import stats
from fidelity_table import effect
from summary_json import add_arguments, load_or_write

TASKS = ("reprojector", "abs")
LRS = (0.003, 0.01, 0.03)
WIDTHS = (32, 64, 128, 256)
FIELDS = ("mono_per_N", "dead_count", "final_loss", "loss_rel_change_last_eighth", "mono_change_last_doubling")
FIG = Path(__file__).resolve().parent / "figures"


def cells(sweep_dir: Path) -> list[dict]:
    """Per cell (its swept values), the stats over its finished seeds."""
    from models.runs import is_converged
    from models.sweep import load_sweep

    sw = load_sweep(sweep_dir)
    groups: dict[tuple, list[dict]] = {}
    for r in sw["cells"]:
        if r.get("state") == "finished":
            groups.setdefault(tuple((a, r[a]) for a in sw["axes"]), []).append(r)
    return [{**dict(key), "seeds": sorted(r["seed"] for r in rows), **{f: stats([r[f] for r in rows]) for f in FIELDS},
             "converged": all(is_converged(r, r["mono_count"]) for r in rows)} for key, rows in groups.items()]


def find(cs: list[dict], **want) -> dict | None:
    return next((c for c in cs if all(c.get(k) == v for k, v in want.items())), None)


def verdicts(lr_bias: list[dict], ks: list[dict]) -> dict:
    def at(lr, bias):
        return find(lr_bias, lr=lr, bias_init=bias)
    out = {"a: lr 0.03 vs 0.003 at bias 0 (loss within 5%)": effect(at(0.03, 0.0), at(0.003, 0.0), 0.05)}
    for lr in LRS:
        out[f"b: bias -1 + decay 0.5 vs bias 0 at lr {lr:g} (loss within 5%)"] = effect(at(lr, -1.0), at(lr, 0.0), 0.05)
    ladder = [find(ks, k=w) for w in WIDTHS[:-1]] + [at(0.03, 0.0)]
    for w, a, b in zip(WIDTHS, ladder, ladder[1:]):
        out[f"c: k {w} -> {2 * w} at lr 0.03"] = effect(b, a, None)
    return out


def summarize(root: Path, json_path: Path) -> dict:
    tasks = {}
    for t in TASKS:
        lr_bias, ks = cells(root / f"{t}_lr_bias"), cells(root / f"{t}_k")
        tasks[t] = {"lr_bias": lr_bias, "k": ks, "verdicts": verdicts(lr_bias, ks)}
    return {"command": f"bash docs/features_experiments.sh; python docs/features_tasks_table.py {root} --json "
                       f"{json_path}",
            "shape": "cpu-small task shape (N 128, d 32, eps 1/32; k 256 unless swept), batch 1024, 2^13 steps, "
                     "3 seeds, fp32, LAMB, restarting cosine",
            "converged": "every seed: |loss change over the last eighth| < 1% and |mono change over the last "
                         "doubling| <= max(2% of its final mono count, 1 neuron)",
            "tasks": tasks}


def fmt(s: dict | None, spec: str) -> str:
    return "-" if s is None else f"{s['mean']:{spec}} [{s['min']:{spec}}, {s['max']:{spec}}]"


def row(c: dict) -> str:
    return (f"{fmt(c['mono_per_N'], '.3f')} | {fmt(c['dead_count'], '.0f')} | {fmt(c['final_loss'], '.4f')} | "
            f"{100 * c['loss_rel_change_last_eighth']['mean']:+.1f}% | {c['mono_change_last_doubling']['mean']:+.1f} | "
            f"{'yes' if c['converged'] else 'no'}")


def print_tables(s: dict) -> None:
    head = "mono/N | dead | eval loss | loss change last 1/8 | mono change last doubling | converged"
    for t, d in s["tasks"].items():
        print(f"\n### {t}\n\n| lr | bias_init | bias_decay | {head} |\n|" + "---|" * 9)
        for c in sorted(d["lr_bias"], key=lambda c: (c["lr"], -c["bias_init"])):
            print(f"| {c['lr']:g} | {c['bias_init']:g} | {c['bias_decay']:g} | {row(c)} |")
        print(f"\n| k (lr 0.03, bias 0) | {head} |\n|" + "---|" * 7)
        for w in WIDTHS:
            c = find(d["k"], k=w) or find(d["lr_bias"], lr=0.03, bias_init=0.0)
            print(f"| {w} | {row(c)} |")
        print("\n| effect | verdict |\n|---|---|")
        for name, v in d["verdicts"].items():
            print(f"| {name} | {v} |")


def figure(s: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    from models.runs import save_figure

    fig, axes = plt.subplots(len(TASKS), 3, figsize=(13, 3.4 * len(TASKS)))
    top = 1.1 * max(c["mono_per_N"]["max"] for d in s["tasks"].values() for c in d["lr_bias"] + d["k"])
    for ax_row, (t, d) in zip(axes, s["tasks"].items()):
        for ax, field, label in ((ax_row[0], "mono_per_N", "mono/N"), (ax_row[1], "final_loss", "eval loss")):
            for bias, style, name in ((0.0, "--s", "bias 0, no decay"), (-1.0, "-o", "bias -1, decay 0.5")):
                cs = [find(d["lr_bias"], lr=lr, bias_init=bias) for lr in LRS]
                _err(ax, LRS, [c[field] for c in cs], style, name)
            ax.set_xscale("log")
            ax.minorticks_off()
            ax.set_xticks(LRS, [f"{lr:g}" for lr in LRS])
            ax.set_xlabel("learning rate")
            ax.set_ylabel(f"{label} (mean, range over seeds)")
            if field == "mono_per_N":
                ax.set_ylim(-0.02 * top, top)  # one scale for every mono/N panel: the tasks compare
            ax.set_title(f"{t}: (a) lr and (b) bias" if field == "mono_per_N" else f"{t}: loss")
            ax.legend(fontsize=8)
        cs = [find(d["k"], k=w) or find(d["lr_bias"], lr=0.03, bias_init=0.0) for w in WIDTHS]
        _err(ax_row[2], WIDTHS, [c["mono_per_N"] for c in cs], "-o", "lr 0.03, bias 0")
        ax_row[2].set_xscale("log", base=2)
        ax_row[2].set_xticks(WIDTHS, [str(w) for w in WIDTHS])
        ax_row[2].set_xlabel("neurons k (N = 128 features)")
        ax_row[2].set_ylabel("mono/N (mean, range over seeds)")
        ax_row[2].set_ylim(-0.02 * top, top)
        ax_row[2].set_title(f"{t}: (c) width")
        ax_row[2].legend(fontsize=8)
    fig.suptitle("The paper's effects on the reprojector and absolute-value tasks (cpu-small, 2^13 steps, 3 seeds)")
    fig.tight_layout()
    save_figure(fig, path)
    print(f"wrote {path}")


def _err(ax, xs, ss, style, label):
    mean = [s["mean"] for s in ss]
    ax.errorbar(xs, mean, yerr=[[m - s["min"] for m, s in zip(mean, ss)], [s["max"] - m for m, s in zip(mean, ss)]],
                fmt=style, capsize=3, ms=4, label=label)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap, "root")
    a = ap.parse_args()
    s = load_or_write(a, lambda: summarize(a.root, a.json))
    print_tables(s)
    figure(s, FIG / "features_tasks.png")


if __name__ == "__main__":
    main()
