"""Figures for pruning: neurons across levels (neurons.png) and methods against sparsity (compare)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullLocator  # noqa: E402

from models.config import TrainConfig  # noqa: E402
from models.plots import describe  # noqa: E402
from models.runs import save_figure  # noqa: E402

from .neurons import FEATURE_TRANSITIONS, NEURON_TRANSITIONS  # noqa: E402

METHOD_STYLE = {"imp": ("C0", "o", "IMP (rewound ticket)"), "reinit": ("C1", "s", "IMP mask, reinitialised"),
                "random-mask": ("C2", "^", "random mask, IMP's layer sparsity"), "rigl": ("C3", "D", "RigL"),
                "set": ("C4", "v", "SET"), "static": ("C5", "P", "static random mask")}
STATE_COLOURS = ["#1b9e77", "#7570b3", "#e6ab02", "#333333"]
STATE_NAMES = ["mono, on its level-0 feature", "mono, not on its level-0 feature", "polysemantic", "dead"]
TRANSITION_COLOURS = {"stays mono, same feature": "#1b9e77", "switches feature": "#7570b3",
                      "mono -> poly": "#d95f02", "poly -> mono": "#66a61e", "stays poly": "#e6ab02",
                      "dies": "#333333", "stays dead": "#999999", "revives": "#e7298a"}
FEATURE_COLOURS = {"kept by a same neuron": "#1b9e77", "moved to other neurons": "#7570b3", "lost": "#d95f02",
                   "gained": "#66a61e", "unserved": "#cccccc"}


def _level_ticks(ax, levels, fractions):
    ax.set_xticks(range(len(levels)), [f"{lv}\n{100 * f:.3g}%" for lv, f in zip(levels, fractions)], fontsize=7)


def neurons_plot(data: dict, path: Path) -> None:
    """Neuron states by level, neuron and feature transitions between levels, and what survives of level 0."""
    levels, fr = data["levels"], data["remaining_fraction"]
    states, prefs = data["neurons"]["state"], data["neurons"]["preferred"]
    k, n_levels = data["k"], len(levels)
    code = np.zeros((k, n_levels), dtype=int)
    for li in range(n_levels):
        for j in range(k):
            s = states[li][j]
            code[j, li] = (3 if s == "dead" else 2 if s == "poly" else
                           0 if states[0][j] == "mono" and prefs[li][j] == prefs[0][j] else 1)
    rank = {"mono": 0, "poly": 1, "dead": 2}
    order = sorted(range(k), key=lambda j: (rank[states[0][j]], prefs[0][j], j))
    fig, axs = plt.subplots(2, 2, figsize=(14, 9.5))
    ax = axs[0, 0]
    ax.imshow(code[order], aspect="auto", interpolation="nearest", cmap=ListedColormap(STATE_COLOURS), vmin=0,
              vmax=3)
    _level_ticks(ax, levels, fr)
    ax.set(xlabel="level (weights remaining)", ylabel="neuron (sorted by level-0 state, then feature)",
           title="state of every neuron at every level")
    ax.legend(handles=[Patch(color=c, label=n) for c, n in zip(STATE_COLOURS, STATE_NAMES)], fontsize=7,
              loc="lower left", framealpha=0.9)

    steps = [f"{t['from']}->{t['to']}" for t in data["transitions"]]
    # the unchanged majority (neurons that stay poly or dead, features never served) would flatten the
    # bars: they are left out, and their counts are in neurons.json
    for ax, trans, names, colours, unit, title in (
            (axs[0, 1], data["transitions"], [t for t in NEURON_TRANSITIONS if t not in ("stays poly", "stays dead")],
             TRANSITION_COLOURS, "neurons",
             "neuron transitions between consecutive levels (same position;\nneurons that stay poly or dead not shown)"),
            (axs[1, 0], data["feature_transitions"], [t for t in FEATURE_TRANSITIONS if t != "unserved"],
             FEATURE_COLOURS, "features",
             "feature transitions: the monosemantic neurons serving each feature\n(features unserved at both levels not shown)")):
        bottom = np.zeros(len(trans))
        for name in names:
            v = np.array([t["counts"][name] for t in trans], dtype=float)
            ax.bar(range(len(trans)), v, bottom=bottom, color=colours[name], label=name, width=0.8)
            bottom += v
        ax.set_xticks(range(len(trans)), steps, fontsize=7)
        ax.set(xlabel="levels", ylabel=unit, title=title)
        ax.legend(fontsize=7, loc="upper right", framealpha=0.9)
        if not trans:
            ax.text(0.5, 0.5, "one level only: no transitions", ha="center", transform=ax.transAxes)
        elif not bottom.any():
            ax.text(0.5, 0.5, "every neuron stays poly or dead" if unit == "neurons" else
                    "no feature is served by a monosemantic neuron", ha="center", transform=ax.transAxes)
            ax.set_ylim(0, 1)

    ax = axs[1, 1]
    sv = data["survival"]
    x = np.arange(len(sv))
    m0, f0 = max(1, data["level0_mono"]), max(1, data["level0_served_features"])
    ax.plot(x, [s["level0_mono_still_same_feature"] / m0 for s in sv], "o-", color="#1b9e77",
            label=f"level-0 mono neurons still mono on the same feature (of {data['level0_mono']})")
    ax.plot(x, [s["level0_served_features_still_served"] / f0 for s in sv], "s-", color="#7570b3",
            label=f"level-0 served features still served by some mono neuron (of {data['level0_served_features']})")
    ax.plot(x, [s["mono"] / k for s in sv], "^--", color="C0", label="monosemantic neurons / k")
    ax.plot(x, [s["dead"] / k for s in sv], "v--", color="#333333", label="dead neurons / k")
    _level_ticks(ax, levels, fr)
    ax.set(xlabel="level (weights remaining)", ylabel="fraction", ylim=(-0.03, 1.03),
           title="what survives from the dense model")
    ax.legend(fontsize=7)
    fig.suptitle(f"per-neuron tracking across {data['method']} levels: {data['dir']} "
                 f"(N={data['n_features']}, k={k})", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _pct(v, _pos=None) -> str:
    return f"{100 * v:.3g}%"


def _thin(ticks: list[float], most: int = 12) -> list[float]:
    """At most `most` ticks, dropping those too close (in log) to a kept one."""
    out: list[float] = []
    span = np.log(max(ticks) / min(ticks)) if len(ticks) > 1 else 1.0
    for t in ticks:
        if not out or np.log(out[-1] / t) > span / (most * 1.5):
            out.append(t)
    return out


PANELS = (("mono_per_N", "monosemantic neurons / N", "monosemanticity"), ("final_loss", "eval loss", "loss"),
          ("dead_per_k", "dead neurons / k", "dead neurons"))


def _mean_band(ax, xs, stats: list[dict], colour, **line):
    """The mean over seeds as a line, their min-max range as a band (and error bars on a lone point)."""
    m, lo, hi = (np.array([s[key] for s in stats]) for key in ("mean", "min", "max"))
    h, = ax.plot(xs, m, color=colour, ms=4, lw=1.3, **line)
    ax.fill_between(xs, lo, hi, color=colour, alpha=0.18, lw=0)
    if len(xs) == 1:
        ax.errorbar(xs, m, yerr=[m - lo, hi - m], color=colour, capsize=3, lw=1)
    return h


def _seeds(pts: list[dict]) -> int:
    return max(r[field]["n"] for r in pts for field, _, _ in PANELS if r[field])


def compare_plot(rows: list[dict], cfg: dict, path: Path, x: str = "fraction", title: str | None = None) -> None:
    """mono/N, eval loss and dead/k against remaining weights (log scale, sparser to the right); one line
    per method with its min-max band over seeds; the dense model of the same width as a reference line."""
    xkey = "remaining_fraction" if x == "fraction" else "remaining"
    sparse = [r for r in rows if r["method"] != "dense"]
    widths = [r["k"] for r in sparse] or [r["k"] for r in rows]
    main_k, several_k = max(set(widths), key=widths.count), len({r["k"] for r in rows}) > 1
    fig, axs = plt.subplots(1, 3, figsize=(15, 4.6))
    rank = list(METHOD_STYLE)
    labels = sorted({r["label"] for r in sparse}, key=lambda lb: (
        rank.index(lb.split(" ")[0]) if lb.split(" ")[0] in rank else 99, lb))
    handles = []
    for li, label in enumerate(labels):
        pts = sorted((r for r in sparse if r["label"] == label), key=lambda r: -r[xkey])
        colour, marker, name = METHOD_STYLE.get(pts[0]["method"], (f"C{li}", "o", pts[0]["method"]))
        if several_k:
            name += f" (k={pts[0]['k']})"
        for ax, (field, _, _) in zip(axs, PANELS):
            have = [r for r in pts if r[field]]
            if have:
                h = _mean_band(ax, np.array([r[xkey] for r in have], dtype=float), [r[field] for r in have], colour,
                               marker=marker, ls="-" if pts[0]["k"] == main_k else ":")
        handles.append((h, f"{name}, n={_seeds(pts)}"))
    for r in (r for r in rows if r["method"] == "dense" and (r["k"] == main_k or x == "count")):
        for ax, (field, _, _) in zip(axs, PANELS):
            s = r[field]
            if not s:
                continue
            if r["k"] == main_k:  # the reference: a line across, its range a band
                h = ax.axhline(s["mean"], color="black", ls="--", lw=1)
                ax.axhspan(s["min"], s["max"], color="black", alpha=0.08, lw=0)
            else:  # another width: a point at its own count of weights
                h = ax.errorbar([r[xkey]], [s["mean"]], yerr=[[s["mean"] - s["min"]], [s["max"] - s["mean"]]],
                                fmt="*", ms=11, color="black", capsize=3)
        handles.append((h, f"dense k={r['k']}{' (reference)' if r['k'] == main_k else ''}, n={_seeds([r])}"))
    ticks = sorted({r[xkey] for r in rows if r["method"] != "dense" or r["k"] == main_k or x == "count"},
                   reverse=True)
    _sparsity_axes(axs, _thin(ticks), x)
    if handles:
        fig.legend([h for h, _ in handles], [lab for _, lab in handles], loc="lower center",
                   ncol=min(4, len(handles)), fontsize=8, frameon=False)
    head = title or "monosemanticity and loss against sparsity"
    fig.suptitle(f"{head}: {describe(TrainConfig.from_dict(cfg), swept=('k', 'seed') if several_k else ())}\n"
                 f"lines: mean over seeds; bands: min-max range", fontsize=9)
    fig.tight_layout(rect=(0, 0.1 if len(handles) > 4 else 0.06, 1, 1))
    save_figure(fig, path)
    plt.close(fig)


def _sparsity_axes(axs, ticks: list[float], x: str) -> None:
    """Log x, inverted (sparser to the right), ticks at the remaining counts or fractions; panel labels."""
    for ax, (_, ylab, name) in zip(axs, PANELS):
        ax.set_xscale("log")
        ax.set_xticks(ticks)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(_pct if x == "fraction" else lambda v, p: f"{v:.0f}"))
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        lo, hi = min(ticks), max(ticks)
        ax.set_xlim(hi * 1.15, lo / 1.15)  # inverted: sparser to the right
        ax.set_ylabel(ylab)
        ax.set_xlabel("W1 and W2 weights remaining (log scale; sparser to the right)" if x == "fraction" else
                      "non-zero W1 and W2 weights (log scale; fewer to the right)")
        ax.grid(alpha=0.3)
        ax.set_title(name)
