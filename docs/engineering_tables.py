"""The numbers and figures behind docs/engineering.md, from the sweeps of docs/engineering_experiments.sh.

Per cell (lr, bias init, decay constant, decay mode, L1) the 3-seed mean and range of the monosemantic
count, the dead count and the eval loss, the convergence columns, and the steps to 90% of the run's final
monosemantic count (at the checkpoints, which are log2-spaced). Per (mode, decay, lr) the verdict of
effect (b), bias -1 against bias 0 at the same lr:
- "goal met": seed ranges of the mono count disjoint upward, mean ratio >= 2, mean loss <= 1% above;
- "holds": disjoint upward with the loss bound of docs/reproduction.md (mean loss <= 5% above), short of
  the goal (the reason is given);
- "no clear effect": the ranges overlap or touch; "reverses": disjoint downward.

    python docs/engineering_tables.py runs/engineering --shape small --json docs/engineering_small.json
    python docs/engineering_tables.py --from-json docs/engineering_small.json   # tables and figures again
"""
from __future__ import annotations

import argparse
from pathlib import Path

from summary_json import add_arguments, load_or_write

FIELDS = ("mono_count", "dead_count", "final_loss", "steps_to_90")
CONV = ("loss_rel_change_last_eighth", "mono_change_last_doubling", "dead_change_last_doubling")
MODES = ("fixed", "per-neuron", "adaptive")
LRS = (0.003, 0.01, 0.03)
DECAYS = (0.03, 0.1, 0.5)
FIG = Path(__file__).resolve().parent / "figures"


def steps_to_90(metrics: list[dict]) -> int | None:
    """First checkpoint step whose monosemantic count is >= 90% of the last one (None when that is 0)."""
    ck = [m for m in metrics if m.get("mono") is not None]
    if not ck or ck[-1]["mono"] == 0:
        return None
    return next(m["step"] for m in ck if m["mono"] >= 0.9 * ck[-1]["mono"])


def stats(vals: list) -> dict | None:
    vals = [v for v in vals if v is not None]
    return {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals), "n": len(vals)} if vals else None


def read_sweep(d: Path) -> list[dict]:
    """Finished cells of one sweep as flat rows with their full recipe values."""
    from models.runs import is_converged, read_config, read_metrics
    from models.sweep import load_sweep

    rows = []
    for r in load_sweep(d)["cells"]:
        if r.get("state") != "finished":
            continue
        cfg = read_config(d / r["name"])  # fields a run dir predates read as their defaults
        rows.append({**{k: getattr(cfg, k) for k in ("lr", "bias_init", "bias_decay", "bias_decay_mode", "l1", "seed")},
                     **{k: r[k] for k in ("mono_count", "dead_count", "final_loss", *CONV)},
                     "steps_to_90": steps_to_90(read_metrics(d / r["name"] / "metrics.jsonl")),
                     "converged": is_converged(r, r["mono_count"])})
    return rows


def group(rows: list[dict]) -> list[dict]:
    """Per recipe (every value but the seed), the stats over seeds."""
    keys = ("lr", "bias_init", "bias_decay", "bias_decay_mode", "l1")
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return [{**dict(zip(keys, key)), "seeds": sorted(r["seed"] for r in rs),
             "converged": all(r["converged"] for r in rs),
             **{f: stats([r[f] for r in rs]) for f in (*FIELDS, *CONV)}} for key, rs in sorted(out.items(),
                                                                                                key=str)]


def find(cells: list[dict], **want) -> dict | None:
    return next((c for c in cells if all(c[k] == v for k, v in want.items())), None)


def verdict(a: dict, base: dict) -> dict:
    """Effect (b) for bias -1 cell a against bias 0 cell base (same lr)."""
    ma, mb, la, lb = a["mono_count"], base["mono_count"], a["final_loss"]["mean"], base["final_loss"]["mean"]
    ratio = ma["mean"] / mb["mean"] if mb["mean"] else float("inf") if ma["mean"] else 1.0
    loss_rel = la / lb - 1
    up, down = ma["min"] > mb["max"], ma["max"] < mb["min"]
    if down:
        v = "reverses"
    elif not up:
        v = "no clear effect"
    elif ratio >= 2 and loss_rel <= 0.01:
        v = "goal met"
    elif loss_rel <= 0.05:
        v = "holds" + ("" if ratio >= 2 else f" (x{ratio:.2f} < 2)") + ("" if loss_rel <= 0.01 else
                                                                        f" (loss {100 * loss_rel:+.1f}% > 1%)")
    else:
        v = f"more monosemantic, loss {100 * loss_rel:+.1f}% above the 5% bound"
    return {"ratio": ratio, "loss_rel": loss_rel, "disjoint_up": up, "verdict": v}


def summarize(root: Path, shape: str) -> dict:
    sweeps = {name: read_sweep(root / f"{shape}_{name}") for name in ("bias0", "modes", "sensitivity", "l1")
              if (root / f"{shape}_{name}" / "sweep.json").exists()}
    cells = {name: group(rows) for name, rows in sweeps.items()}
    effect_b = []
    for mode in MODES:
        for decay in DECAYS:
            for lr in LRS:
                a = find(cells.get("modes", []), bias_decay_mode=mode, bias_decay=decay, lr=lr)
                b = find(cells.get("bias0", []), lr=lr)
                if a and b:
                    effect_b.append({"mode": mode, "bias_decay": decay, "lr": lr, **verdict(a, b)})
    l1 = []
    for c in cells.get("l1", []):
        b = find(cells.get("bias0", []), lr=c["lr"])
        if b:
            l1.append({"l1": c["l1"], "lr": c["lr"], **verdict(c, b)})
    return {"command": f"bash docs/engineering_experiments.sh (SHAPE={shape}); python docs/engineering_tables.py "
                       f"{root} --shape {shape} --json docs/engineering_{shape}.json",
            "shape": shape, "cells": cells, "effect_b": effect_b, "l1_vs_bias0": l1,
            "missing": [n for n in ("bias0", "modes", "sensitivity", "l1") if n not in sweeps]}


# ------------------------------------------------------------------ printing
def cell(s: dict | None, fmt: str = ".1f") -> str:
    return "-" if s is None else f"{s['mean']:{fmt}} [{s['min']:{fmt}}, {s['max']:{fmt}}]"


def conv(c: dict) -> str:
    """Mean loss change over the last eighth / mean mono change over the last doubling, and whether every
    seed settled (models.runs.is_converged; "?" in a JSON written before the flag)."""
    lo, mo = c["loss_rel_change_last_eighth"], c["mono_change_last_doubling"]
    flag = {True: "yes", False: "no"}.get(c.get("converged"), "?")
    return f"{100 * lo['mean']:+.1f}% / {mo['mean']:+.0f} ({flag})" if lo and mo else "-"


def md(header, rows) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                     + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def print_tables(s: dict) -> None:
    cells = s["cells"]
    print(f"## {s['shape']}\n\nbias 0, no decay (the reference):\n")
    print(md(("lr", "mono", "dead", "loss", "loss change last eighth / mono change last doubling (converged)"),
             [[c["lr"], cell(c["mono_count"]), cell(c["dead_count"]), cell(c["final_loss"], ".4f"), conv(c)]
              for c in cells.get("bias0", [])]))
    print("\neffect (b), bias -1 against bias 0 per mode, decay constant and lr:\n")
    rows = []
    for e in s["effect_b"]:
        c = find(cells["modes"], bias_decay_mode=e["mode"], bias_decay=e["bias_decay"], lr=e["lr"])
        rows.append([e["mode"], e["bias_decay"], e["lr"], cell(c["mono_count"]), cell(c["dead_count"]),
                     cell(c["final_loss"], ".4f"), f"x{e['ratio']:.2f}", f"{100 * e['loss_rel']:+.1f}%", conv(c),
                     cell(c["steps_to_90"], ".0f"), e["verdict"]])
    print(md(("mode", "decay", "lr", "mono", "dead", "loss", "mono / bias 0's", "loss vs bias 0's",
              "loss change last eighth / mono change last doubling (converged)", "steps to 90% of final mono", "verdict"),
             rows))
    print("\ncells meeting the goal per mode:", ", ".join(
        f"{m} {sum(e['verdict'] == 'goal met' for e in s['effect_b'] if e['mode'] == m)} of "
        f"{sum(e['mode'] == m for e in s['effect_b'])}" for m in MODES))
    if "sensitivity" in cells:
        print("\nsensitivity at lr 0.01:\n")
        print(md(("mode", "decay", "mono", "dead", "loss", "convergence", "steps to 90%"),
                 [[c["bias_decay_mode"], c["bias_decay"], cell(c["mono_count"]), cell(c["dead_count"]),
                   cell(c["final_loss"], ".4f"), conv(c), cell(c["steps_to_90"], ".0f")]
                  for c in sensitivity(s)]))
    if "l1" in cells:
        print("\nL1 at bias 0 against bias 0 without it:\n")
        print(md(("l1", "lr", "mono", "dead", "loss", "mono / bias 0's", "loss vs bias 0's", "convergence",
                  "verdict"),
                 [[e["l1"], e["lr"], cell(c["mono_count"]), cell(c["dead_count"]), cell(c["final_loss"], ".4f"),
                   f"x{e['ratio']:.2f}", f"{100 * e['loss_rel']:+.1f}%", conv(c), e["verdict"]]
                  for e in s["l1_vs_bias0"] for c in [find(cells["l1"], l1=e["l1"], lr=e["lr"])]]))
    print("\nmissing:", ", ".join(s["missing"]) or "none")


def sensitivity(s: dict) -> list[dict]:
    """Every bias -1 cell at lr 0.01 (the modes sweep's three constants and the sensitivity sweep's)."""
    out = [c for c in s["cells"].get("modes", []) + s["cells"].get("sensitivity", []) if c["lr"] == 0.01]
    return sorted(out, key=lambda c: (MODES.index(c["bias_decay_mode"]), c["bias_decay"]))


# ------------------------------------------------------------------ figures
def shape_label(shape: str) -> tuple[int, str]:
    """(N, title words) of a shape key: "small", "medium", or either with a budget suffix such as "_2p14"."""
    base, _, budget = shape.partition("_")
    n = {"small": 128, "medium": 256}[base]
    return n, f"{base} shape, 2^{budget[2:] if budget else 13} steps"


def effect_figure(s: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    cells = s["cells"]
    fig, axes = plt.subplots(1, len(DECAYS), figsize=(4.2 * len(DECAYS), 3.6), sharey=True)
    n, words = shape_label(s["shape"])
    for ax, decay in zip(axes, DECAYS):
        for i, mode in enumerate(MODES):
            cs = [find(cells["modes"], bias_decay_mode=mode, bias_decay=decay, lr=lr) for lr in LRS]
            _errline(ax, cs, n, f"bias -1, {mode}", f"C{i}", offset=(i - 1) * 0.04)
        _errline(ax, [find(cells["bias0"], lr=lr) for lr in LRS], n, "bias 0 (no decay)", "k", offset=0.0,
                 style="--")
        ax.set_xscale("log")
        ax.minorticks_off()
        lrs = [lr for lr in LRS if find(cells["bias0"], lr=lr)]
        ax.set_xticks(lrs, [f"{lr:g}" for lr in lrs])
        ax.set_xlabel("learning rate")
        ax.set_title(f"decay constant {decay:g}")
    axes[0].set_ylabel("mono/N (mean, range over seeds)")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Bias -1 with each decay mode vs bias 0, {words}")
    _save(fig, path)


def _errline(ax, cs, n, label, color, offset, style="-o"):
    pts = [(lr * (1 + offset), c) for lr, c in zip(LRS, cs) if c]
    xs = [x for x, _ in pts]
    mean = [c["mono_count"]["mean"] / n for _, c in pts]
    lo = [m - c["mono_count"]["min"] / n for m, (_, c) in zip(mean, pts)]
    hi = [c["mono_count"]["max"] / n - m for m, (_, c) in zip(mean, pts)]
    ax.errorbar(xs, mean, yerr=[lo, hi], fmt=style if style != "--" else "--s", color=color, label=label,
                capsize=3, ms=4)


def sensitivity_figure(s: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    sens = sensitivity(s)
    base = find(s["cells"]["bias0"], lr=0.01)
    for ax, (field, label) in zip(axes, (("mono_count", "monosemantic neurons"), ("dead_count", "dead neurons"),
                                         ("final_loss", "eval loss"))):
        for i, mode in enumerate(MODES):
            cs = [c for c in sens if c["bias_decay_mode"] == mode]
            xs = [c["bias_decay"] for c in cs]
            mean = [c[field]["mean"] for c in cs]
            ax.errorbar(xs, mean, yerr=[[m - c[field]["min"] for m, c in zip(mean, cs)],
                                        [c[field]["max"] - m for m, c in zip(mean, cs)]],
                        fmt="-o", color=f"C{i}", label=f"bias -1, {mode}", capsize=3, ms=4)
        if base:
            ax.axhline(base[field]["mean"], color="k", ls="--", lw=1, label="bias 0 (no decay)")
        ax.set_xscale("log")
        ax.set_xlabel("bias decay constant")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Sensitivity to the decay constant, {shape_label(s['shape'])[1]}, lr 0.01 (mean, range over "
                 "seeds)")
    _save(fig, path)


def cost_figure(s: dict, path: Path) -> None:
    """Steps to 90% of the final monosemantic count per mode, decay constant and lr (checkpoint steps)."""
    import matplotlib.pyplot as plt

    lrs = [lr for lr in LRS if find(s["cells"]["bias0"], lr=lr)]
    # bars rise from below the earliest step any cell reaches 90% at (256 unless one is sooner)
    reached = [c["steps_to_90"][e] for c in s["cells"]["modes"] if c["steps_to_90"] for e in ("min", "max")]
    fig, axes = plt.subplots(1, len(lrs), figsize=(4.2 * len(lrs), 3.6), sharey=True)
    width = 0.8 / len(MODES)
    for ax, lr in zip(axes, lrs):
        for i, mode in enumerate(MODES):
            cs = [find(s["cells"]["modes"], bias_decay_mode=mode, bias_decay=d, lr=lr) for d in DECAYS]
            xs = [j + (i - 1) * width for j in range(len(DECAYS))]
            vals = [c["steps_to_90"]["mean"] if c and c["steps_to_90"] else 0 for c in cs]
            ax.bar(xs, vals, width, color=f"C{i}", label=f"bias -1, {mode}")
        b = find(s["cells"]["bias0"], lr=lr)
        if b and b["steps_to_90"]:
            ax.axhline(b["steps_to_90"]["mean"], color="k", ls="--", lw=1, label="bias 0 (no decay)")
        ax.set_yscale("log", base=2)
        ax.set_ylim(min(2**8, min(reached) / 2), 2 * max(2**13, *reached))
        ax.set_xticks(range(len(DECAYS)), [f"{d:g}" for d in DECAYS])
        ax.set_xlabel("bias decay constant")
        ax.set_title(f"lr {lr:g}")
    axes[0].set_ylabel("steps to 90% of final mono (mean over seeds)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.06))
    fig.suptitle(f"How soon each mode gets its monosemantic neurons, {shape_label(s['shape'])[1]}\n(log2-spaced checkpoints; "
                 "no bar: no monosemantic neuron)")
    _save(fig, path)


def l1_figure(s: dict, path: Path) -> None:
    """mono count and loss against the L1 strength per lr, bias 0 without L1 as the dashed reference."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (field, label) in zip(axes, (("mono_count", "monosemantic neurons"), ("final_loss", "eval loss"))):
        for i, lr in enumerate(LRS):
            cs = sorted((c for c in s["cells"]["l1"] if c["lr"] == lr), key=lambda c: c["l1"])
            mean = [c[field]["mean"] for c in cs]
            ax.errorbar([c["l1"] for c in cs], mean, yerr=[[m - c[field]["min"] for m, c in zip(mean, cs)],
                                                           [c[field]["max"] - m for m, c in zip(mean, cs)]],
                        fmt="-o", color=f"C{i}", label=f"L1, lr {lr:g}", capsize=3, ms=4)
            b = find(s["cells"]["bias0"], lr=lr)
            if b:
                ax.axhline(b[field]["mean"], color=f"C{i}", ls="--", lw=1, label=f"no L1, lr {lr:g}")
        ax.set_xscale("log")
        ax.set_xlabel("L1 strength on hidden activations")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"The L1 route: bias 0, no decay, {shape_label(s['shape'])[1]} (mean, range over seeds)")
    _save(fig, path)


def _save(fig, path: Path) -> None:
    from models.runs import save_figure

    fig.tight_layout()
    save_figure(fig, path)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap, "root")
    ap.add_argument("--shape", default="small")
    a = ap.parse_args()
    s = load_or_write(a, lambda: summarize(a.root, a.shape))
    print_tables(s)
    if "modes" in s["cells"] and "bias0" in s["cells"]:
        effect_figure(s, FIG / f"engineering_effect_b_{s['shape']}.png")
        cost_figure(s, FIG / f"engineering_cost_{s['shape']}.png")
    if "sensitivity" in s["cells"] and "bias0" in s["cells"]:
        sensitivity_figure(s, FIG / f"engineering_sensitivity_{s['shape']}.png")
    if "l1" in s["cells"] and "bias0" in s["cells"]:
        l1_figure(s, FIG / f"engineering_l1_{s['shape']}.png")


if __name__ == "__main__":
    main()
