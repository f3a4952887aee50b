"""Figures for runs and sweeps (matplotlib, Agg backend, written atomically)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .config import TrainConfig, fmt_value  # noqa: E402
from .runs import save_figure  # noqa: E402


def describe(cfg: TrainConfig, swept: tuple[str, ...] | list[str] = ()) -> str:
    """The essentials of a config in one short line, for titles and legends; swept fields show as *."""
    def v(name, label, fmt="g"):
        x = getattr(cfg, name)
        return f"{label}=*" if name in swept else f"{label}={x if isinstance(x, str) else format(x, fmt)}"
    shown_mode = cfg.bias_decay_mode != "fixed" or "bias_decay_mode" in swept
    return (f"{cfg.task} {v('n_features', 'N')} {v('d_embed', 'd')} {v('k', 'k')} {v('eps', 'eps', '.3g')} | "
            f"{cfg.optimizer} {v('lr', 'lr')} {v('bias_init', 'bias')} {v('bias_decay', 'decay')} "
            f"{v('bias_decay_mode', 'mode') + ' ' if shown_mode else ''}"
            f"{v('batch', 'B')} {v('steps', 'steps')} {v('precision', 'prec')}")


def run_plots(run_dir: Path, params: dict, cfg: TrainConfig, task, metrics: list[dict], mono,
              fmt: str = "png") -> None:
    """A finished run's training.FMT and sfa.FMT."""
    from .metric import single_feature_activations

    A = single_feature_activations(params, task.single_feature_inputs(), cfg.nonlinearity).cpu()
    training_plot(metrics, cfg, Path(run_dir) / f"training.{fmt}", title=Path(run_dir).name)
    sfa_plot(A, cfg, Path(run_dir) / f"sfa.{fmt}", title=Path(run_dir).name, mono=mono)


def training_plot(metrics: list[dict], cfg: TrainConfig, path: Path, title: str = "") -> None:
    """Loss, mono/N and mean bias against log2 step, as the paper's training plots."""
    loss = [(m["step"], m["loss"]) for m in metrics if "loss" in m and m["step"] > 0]
    ck = [m for m in metrics if "mean_bias" in m]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    if loss:
        s, v = zip(*loss)
        axes[0].plot(np.log2(s), v, lw=0.8, color="C0")
    axes[0].set(xlabel="log2 step", ylabel="training loss (batch)", yscale="log", title="loss")
    if ck and ck[0]["mono"] is not None:
        axes[1].plot([np.log2(m["step"]) for m in ck], [m["mono"] / cfg.n_features for m in ck], "o-",
                     ms=3, label="monosemantic / N")
        axes[1].plot([np.log2(m["step"]) for m in ck], [m["dead"] / cfg.n_features for m in ck], "s--",
                     ms=3, color="grey", label="dead / N")
        axes[1].legend(fontsize=8)
    else:
        axes[1].text(0.5, 0.5, f"metric undefined for {cfg.nonlinearity}", ha="center", transform=axes[1].transAxes)
    axes[1].set(xlabel="log2 step", ylabel="neurons / N", title="monosemanticity")
    axes[2].plot([np.log2(m["step"]) for m in ck], [m["mean_bias"] for m in ck], "o-", ms=3, color="C3")
    axes[2].set(xlabel="log2 step", ylabel="mean b1", title="mean bias")
    fig.suptitle(f"{title}: {describe(cfg)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def sfa_plot(A, cfg: TrainConfig, path: Path, title: str = "", mono=None) -> None:
    """Single-feature activations (neurons x features), neurons sorted by preferred feature, mono first."""
    from .metric import monosemanticity, sfa_order

    A = A.float()
    if mono is None and (A >= 0).all():
        mono = monosemanticity(A)
    neurons = sfa_order(A) if (A >= 0).all() else np.arange(A.shape[0])
    M = A[neurons].numpy()
    fig, ax = plt.subplots(figsize=(7, 6))
    vmax = float(np.quantile(M[M > 0], 0.99)) if (M > 0).any() else 1.0
    im = ax.imshow(M, aspect="auto", interpolation="nearest", cmap="magma", vmin=0 if M.min() >= 0 else None,
                   vmax=vmax)
    fig.colorbar(im, ax=ax, label="activation for feature at amplitude 1")
    if mono is not None and 0 < mono.mono_count < A.shape[0]:
        ax.axhline(mono.mono_count - 0.5, color="cyan", lw=0.8, ls="--")
        ax.text(A.shape[1] - 1, mono.mono_count - 1, "monosemantic above, polysemantic below", color="cyan",
                ha="right", va="bottom", fontsize=7)
    ax.set(xlabel="feature", ylabel="neuron (sorted: monosemantic by feature, then polysemantic by r)")
    head = ("" if mono is None else
            f"mono/N={mono.mono_count / cfg.n_features:.3f}  mono={mono.mono_count}/{cfg.k}  dead={mono.dead_count}")
    ax.set_title(f"single-feature activations: {title}\n{head}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def sweep_plot(agg: list[dict], axes: list[str], path: Path, title: str = "") -> None:
    """mono/N, dead/k (the fraction of neurons dead) and eval loss against the first axis; one line per
    combination of the other axes. agg: models.sweep.aggregate's rows (mean, min, max over seeds per cell),
    drawn as points with min-max bars."""
    x_axis, others = axes[0], axes[1:]
    xs_all = sorted({r[x_axis] for r in agg}, key=lambda v: (isinstance(v, str), v))
    numeric = all(isinstance(v, (int, float)) for v in xs_all)
    logx = numeric and len(xs_all) > 2 and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 8
    groups: dict[tuple, list[dict]] = {}
    for r in sorted(agg, key=lambda r: xs_all.index(r[x_axis])):
        groups.setdefault(tuple(r[a] for a in others), []).append(r)
    fig, axs = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = [("mono_per_N", "monosemantic neurons / N"), ("dead_per_k", "dead neurons / k"),
              ("final_loss", "eval loss")]
    for gi, (key, grp) in enumerate(sorted(groups.items(), key=lambda kv: str(kv[0]))):
        label = ", ".join(f"{a}={fmt_value(v)}" for a, v in zip(others, key)) or "all"
        for ax, (field, ylab) in zip(axs, panels):
            pts = [r for r in grp if field in r]
            if not pts:
                continue
            px = [r[x_axis] if numeric else xs_all.index(r[x_axis]) for r in pts]
            m, lo, hi = (np.array([r[field][s] for r in pts]) for s in ("mean", "min", "max"))
            ax.errorbar(px, m, yerr=[m - lo, hi - m], fmt="o-", capsize=3, color=f"C{gi}",
                        label=f"{label} (n={max(r['seeds'] for r in pts)} seeds)")
            ax.set(xlabel=x_axis, ylabel=ylab)
            if logx:
                ax.set_xscale("log", base=2)
            if not numeric:
                ax.set_xticks(range(len(xs_all)), [str(v) for v in xs_all])
    axs[0].legend(fontsize=7)
    fig.suptitle(f"{title}: mean and range over seeds", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def checkpoint_series(metrics: list[list[dict]], key: str, scale: float = 1.0):
    """log2 step and a seeds x checkpoints array of `key` / scale at the checkpoints every seed has (both
    empty where the value is undefined, e.g. mono for gelu)."""
    ck = [[m for m in ms if "mean_bias" in m and m["step"] > 0] for ms in metrics]
    steps = sorted(set.intersection(*[{m["step"] for m in c} for c in ck])) if ck else []
    vals = [[next(m[key] for m in c if m["step"] == s) for s in steps] for c in ck]
    if not steps or any(v is None for row in vals for v in row):
        return np.array([]), np.zeros((len(ck), 0))
    return np.log2(steps), np.array(vals, dtype=float) / scale


def loss_series(metrics: list[list[dict]]):
    """Training loss per seed, smoothed over a window of about 1/8 of the step (constant width in log2
    step), so the early steps keep their detail and the late ones lose the batch noise; (None, None)
    with fewer than two logged losses."""
    losses = [np.array([(m["step"], m["loss"]) for m in ms if "loss" in m and m["step"] > 0]) for ms in metrics]
    n = min(len(v) for v in losses)
    if n < 2:
        return None, None
    idx = np.arange(n)
    lo = idx - idx // 8
    sm = []
    for v in losses:
        c = np.concatenate([[0.0], np.cumsum(v[:n, 1])])
        sm.append((c[idx + 1] - c[lo]) / (idx + 1 - lo))
    return np.log2(losses[0][:n, 0]), np.array(sm)


def sweep_curves_plot(cells: list[tuple[str, list[list[dict]], int]], path: Path, title: str = "") -> None:
    """The paper's training plots for a sweep: mono/N, smoothed training loss and mean bias against
    log2 step, one colour per cell; lines are the mean over seeds, bands the min-max range.

    cells: (label, [metrics of each seed], n_features)."""
    fig, axs = plt.subplots(1, 3, figsize=(14, 4))
    for ci, (label, seed_metrics, n_features) in enumerate(cells):
        colour = f"C{ci % 10}"
        series = [(axs[0], *checkpoint_series(seed_metrics, "mono", n_features)),
                  (axs[1], *loss_series(seed_metrics)), (axs[2], *checkpoint_series(seed_metrics, "mean_bias"))]
        for ax, x, vals in series:
            if x is not None and len(x):
                ax.plot(x, vals.mean(0), "o-" if ax is not axs[1] else "-", ms=2.5, lw=1, color=colour, label=label)
                ax.fill_between(x, vals.min(0), vals.max(0), color=colour, alpha=0.2, lw=0)
    axs[0].set(xlabel="log2 step", ylabel="monosemantic neurons / N", title="monosemanticity")
    axs[1].set(xlabel="log2 step", ylabel="training loss (smoothed over ~1/8 of the step)", yscale="log",
               title="loss")
    axs[2].set(xlabel="log2 step", ylabel="mean b1", title="mean bias")
    axs[0].legend(fontsize=7)
    fig.suptitle(f"{title}: mean and range over seeds", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def features_plot(view: dict, path: Path, title: str = "") -> None:
    """Per feature against its frequency rank (log x): relative reconstruction error coloured by category,
    and the shares of its single-feature activation carried by monosemantic and polysemantic neurons."""
    rows = sorted(view["features"], key=lambda r: r["rank"])
    rank = np.array([r["rank"] for r in rows])
    colours = {"monosemantic": "C2", "polysemantic": "C0", "ignored": "C3"}
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
    if rows and rows[0]["rel_error"] is not None:
        for cat, c in colours.items():
            sel = [i for i, r in enumerate(rows) if r["category"] == cat]
            ax0.scatter(rank[sel], [rows[i]["rel_error"] for i in sel], s=10, color=c,
                        label=f"{cat} ({view['counts'][cat]})")
        ax0.axhline(view["ignored_rel"], color="k", ls="--", lw=0.8, label=f"ignored above {view['ignored_rel']:g}")
        ax0.set(ylabel="error / error of predicting 0")
        ax0.legend(fontsize=7)
    else:
        ax0.text(0.5, 0.5, "no per-feature output (reprojector)", ha="center", va="center", transform=ax0.transAxes)
    ax1.plot(rank, [r["mono_share"] for r in rows], ".", color="C2", ms=4, label="monosemantic neurons' share")
    ax1.plot(rank, [r["poly_share"] for r in rows], ".", color="C0", ms=4, label="polysemantic neurons' share")
    ax1.set(ylabel="share of the feature's activation", ylim=(-0.03, 1.03))
    ax1.legend(fontsize=7)
    for ax in (ax0, ax1):
        ax.set_xscale("log")
        ax.set_xlabel("feature frequency rank (1 = most frequent)")
    fig.suptitle(f"per-feature view: {title}\nN={view['n_features']}, k={view['k']}, {view['freq']} frequencies; "
                 f"mono {view['mono_count']}, dead {view['dead_count']}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
