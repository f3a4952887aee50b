"""The paper's figures from a sweep directory (`models figure lr|bias|k|eps SWEEP_DIR --out FILE.png`).

FILE.png: mono/N, training loss and mean bias against log2 step per value of the compared variable; final
mono/N, mono/k, dead/k and eval loss against it; the bias-by-neuron plot. FILE_sfa.png: single-feature
activation heatmaps of the lowest, middle and highest value. Other axes are held at one value (the first
cell's, or `at`), as the title says. Everything is read from the run dirs; nothing is retrained.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import runs  # noqa: E402
from .config import ConfigError  # noqa: E402
from .plots import checkpoint_series, describe, loss_series  # noqa: E402

KINDS = {"lr": "lr", "bias": "bias_init", "k": "k", "eps": "eps", "freq": "freq", "task": "task"}
COMPANIONS = {"bias": ("bias_decay",)}  # axes that move with the compared variable and label its lines
LABELS = {"lr": "learning rate", "bias_init": "initial mean bias", "bias_decay": "bias decay", "k": "neurons k",
          "eps": "feature density eps", "freq": "feature frequencies", "task": "task"}
SHORT = {"bias_init": "bias", "bias_decay": "decay"}


def _fmt(v, axis: str = "") -> str:
    if axis == "eps" and isinstance(v, float) and 0 < v < 1 and abs(1 / v - round(1 / v)) < 1e-9:
        return f"1/{round(1 / v)}"
    return f"{v:g}" if isinstance(v, float) else str(v)


def sfa_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + "_sfa" + out.suffix)


def select(sweep_dir: Path, kind: str, at: dict | None = None) -> dict:
    """Which runs a figure compares: refuses (ConfigError / RunError) a kind the sweep does not vary, a
    directory that is not a sweep, and unfinished runs among those compared.

    Returns {var, line_axes, held: {axis: value}, groups: [(values tuple, [rows sorted by seed])], axes}."""
    from .sweep import load_sweep

    if kind not in KINDS:
        raise ConfigError(f"unknown figure kind {kind!r}; choose one of {', '.join(KINDS)}")
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise runs.RunError(f"no sweep directory {sweep_dir}")
    sw = load_sweep(sweep_dir)
    axes = list(sw.get("axes") or [])
    rows = sw["cells"]
    var = KINDS[kind]
    if var not in axes or len({r[var] for r in rows}) < 2:
        raise ConfigError(f"{sweep_dir} does not vary {var} (its axes: {', '.join(axes) or 'seeds only'}); "
                          f"`models figure {kind}` needs a sweep over {var}")
    line_axes = [var] + [a for a in COMPANIONS.get(kind, ()) if a in axes]
    held_axes = [a for a in axes if a not in line_axes]
    at = dict(at or {})
    unknown = sorted(set(at) - set(held_axes))
    if unknown:
        raise ConfigError(f"--at {unknown[0]}: not an axis held fixed in this figure (those are: "
                          f"{', '.join(held_axes) or 'none'})")
    match = [r for r in rows if all(r[a] == v for a, v in at.items())]
    if not match:
        raise ConfigError(f"no cell of {sweep_dir} has " + ", ".join(f"{a}={_fmt(v)}" for a, v in at.items()))
    held = {a: at.get(a, match[0][a]) for a in held_axes}
    chosen = [r for r in rows if all(r[a] == v for a, v in held.items())]
    missing = [r for r in chosen if r.get("state") != "finished"]
    if missing:
        raise runs.RunError(f"{len(missing)} of the {len(chosen)} runs compared are not finished (first: "
                            f"{missing[0]['name']}, {missing[0].get('state')}); rerun the sweep to finish them")
    groups: dict[tuple, list[dict]] = {}
    for r in chosen:
        groups.setdefault(tuple(r[a] for a in line_axes), []).append(r)
    if len(groups) < 2:
        raise ConfigError(f"{sweep_dir} has one value of {var} at " + ", ".join(f"{a}={_fmt(v)}" for a, v in held.items()))
    ordered = sorted(groups.items(), key=lambda kv: tuple((isinstance(v, str), v) for v in kv[0]))
    out = [(key, sorted(rs, key=lambda r: r["seed"])) for key, rs in ordered]
    for _, rs in out:
        for r in rs:
            if r.get("mono_per_N") is None:
                raise ConfigError(f"{r['name']}: monosemanticity is not defined for its nonlinearity (ReLU only)")
    return dict(var=var, line_axes=line_axes, held=held, groups=out, axes=axes, dir=sweep_dir)


def _label(line_axes, key) -> str:
    return ", ".join(f"{SHORT.get(a, a)}={_fmt(v, a)}" for a, v in zip(line_axes, key))


def _colours(n: int):
    cmap = plt.get_cmap("viridis")
    return [cmap(0.05 + 0.8 * i / max(1, n - 1)) for i in range(n)]


def _title(sel: dict, cfg, extra: str) -> str:
    held = ", ".join(f"{SHORT.get(a, a)}={_fmt(v, a)}" for a, v in sel["held"].items())
    seeds = sorted({r["seed"] for _, rs in sel["groups"] for r in rs})
    what = " with ".join(LABELS.get(a, a) for a in sel["line_axes"])
    return (f"{sel['dir'].name}: {what} compared{f' at {held}' if held else ''} "
            f"({len(sel['groups'])} values, seeds {','.join(map(str, seeds))}){extra}\n"
            f"{describe(cfg, swept=sel['line_axes'])}")


def figure(sweep_dir: Path, kind: str, out: Path, at: dict | None = None) -> list[Path]:
    """Write FILE.png (the six panels) and FILE_sfa.png; returns both paths. Validates before writing."""
    out = Path(out)
    if out.suffix.lower().lstrip(".") not in runs.FIGURE_FORMATS:
        raise ConfigError(f"--out must be a .png, .pdf or .svg file, got {out}")
    sel = select(sweep_dir, kind, at)
    data = _load(sel)
    main_fig = _main_figure(sel, data)
    sfa_fig = _sfa_figure(sel, data)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs.save_figure(main_fig, out)
    runs.save_figure(sfa_fig, sfa_path(out))
    return [out, sfa_path(out)]


def _load(sel: dict) -> dict:
    """Per group: config, metrics of every seed, summaries; the lowest seed's b1 and r_j."""
    d = sel["dir"]
    data = []
    for key, rs in sel["groups"]:
        paths = [d / r["name"] for r in rs]
        cfg = runs.read_config(paths[0])
        first = runs.read_summary(paths[0])
        b1 = runs.read_tensors(paths[0] / runs.MODEL)["b1"].float().numpy()
        data.append(dict(key=key, rows=rs, paths=paths, cfg=cfg, summary=first, b1=b1,
                         r=np.array(first["r_per_neuron"], dtype=float),
                         metrics=[runs.read_metrics(p / runs.METRICS) for p in paths]))
    return dict(groups=data)


def _xaxis(sel: dict):
    """x positions of the groups in the summary panels: the variable's value where it alone labels the
    lines (log scale for lr, eps, k), else evenly spaced categories labelled by every line axis (e.g. bias
    and decay moving together)."""
    var = sel["var"]
    keys = [k for k, _ in sel["groups"]]
    vals = [k[0] for k in keys]
    if len(sel["line_axes"]) == 1 and all(isinstance(v, (int, float)) for v in vals):
        log = var in ("lr", "eps", "k") and min(vals) > 0
        return np.array(vals, dtype=float), log, None
    return np.arange(len(keys), dtype=float), False, [_label(sel["line_axes"], k).replace(", ", "\n") for k in keys]


def _main_figure(sel: dict, data: dict):
    groups = data["groups"]
    colours = _colours(len(groups))
    fig, axs = plt.subplots(2, 3, figsize=(17, 9.5))
    (a_mono, a_loss, a_bias), (a_final, a_eval, a_neuron) = axs
    for g, c in zip(groups, colours):
        label = _label(sel["line_axes"], g["key"])
        n_feat = g["cfg"].n_features
        x, mono = checkpoint_series(g["metrics"], "mono", n_feat)
        x2, bias = checkpoint_series(g["metrics"], "mean_bias", 1)
        for ax, xs, v in ((a_mono, x, mono), (a_bias, x2, bias)):
            if len(v) > 1:
                for row in v:
                    ax.plot(xs, row, color=c, lw=0.6, alpha=0.35)
            ax.plot(xs, v.mean(0), "o-", ms=2.5, lw=1.8, color=c, label=label)
        xl, loss = loss_series(g["metrics"])
        if xl is not None:
            a_loss.plot(xl, loss.mean(0), color=c, lw=1.3, label=label)
            if len(loss) > 1:
                a_loss.fill_between(xl, loss.min(0), loss.max(0), color=c, alpha=0.2, lw=0)
    a_mono.axhline(1, ls=":", color="k", lw=0.8)
    a_mono.set(xlabel="log2 training step", ylabel="monosemantic neurons / N", title="monosemanticity during training")
    a_mono.legend(fontsize=8, title=" / ".join(LABELS.get(a, a) for a in sel["line_axes"]), title_fontsize=8)
    a_loss.set(xlabel="log2 training step", ylabel="training loss (smoothed over ~1/8 of the step)",
               title="loss during training (band: seed range)")
    a_bias.axhline(0, ls=":", color="k", lw=0.8)
    a_bias.set(xlabel="log2 training step", ylabel="mean b1", title="mean bias during training")

    xs, logx, ticks = _xaxis(sel)

    def summary(ax, field, scale_by=None, **style):
        m, lo, hi = [], [], []
        for g in groups:
            vals = []
            for r in g["rows"]:
                v = r.get(field)
                if v is not None:
                    vals.append(v / (g["cfg"].k if scale_by == "k" else 1))
            m.append(np.mean(vals)), lo.append(min(vals)), hi.append(max(vals))
        m, lo, hi = map(np.array, (m, lo, hi))
        return ax.errorbar(xs, m, yerr=[m - lo, hi - m], capsize=3, **style)

    summary(a_final, "mono_per_N", fmt="o-", color="C0", label="mono / N (per feature)")
    summary(a_final, "mono_per_k", fmt="s--", color="C1", mfc="none", label="mono / k (per neuron)")
    summary(a_final, "dead_count", scale_by="k", fmt="^:", color="grey", label="dead / k")
    a_final.axhline(1, ls=":", color="k", lw=0.8)
    a_final.set(ylabel="final fraction", title="final monosemantic and dead neurons (mean, seed range)")
    a_final.legend(fontsize=8)
    summary(a_eval, "final_loss", fmt="o-", color="C3")
    a_eval.set(ylabel="final eval loss (fixed 2^16-sample set)", title="final eval loss (mean, seed range)")
    xlabel = LABELS.get(sel["var"], sel["var"]) if ticks is None else " / ".join(SHORT.get(a, a) for a in sel["line_axes"])
    for ax in (a_final, a_eval):
        ax.set_xlabel(xlabel)
        if logx:
            ax.set_xscale("log", base=2 if sel["var"] == "k" else 10)
            ax.set_xticks(xs, [_fmt(int(v) if sel["var"] == "k" else float(v), sel["var"]) for v in xs])
            ax.minorticks_off()
        if ticks is not None:
            ax.set_xticks(xs, ticks, fontsize=8)

    _bias_by_neuron(a_neuron, sel, groups, colours)
    fig.suptitle(_title(sel, groups[0]["cfg"], "; thick lines: mean over seeds, thin: each seed"), fontsize=10)
    fig.tight_layout()
    return fig


def _bias_by_neuron(a_neuron, sel: dict, groups: list[dict], colours) -> None:
    """The paper's bias-by-neuron panel: final b1 of one run per value, neurons sorted by decreasing r_j."""
    from .metric import R_THRESHOLD

    n_feat = groups[0]["cfg"].n_features
    for g, c in zip(groups, colours):
        order = np.argsort(-g["r"], kind="stable")
        b = g["b1"][order]
        n_mono = int((g["r"] > R_THRESHOLD).sum())
        idx = np.arange(len(b))
        a_neuron.plot(idx[n_mono:], b[n_mono:], color=c, lw=0.7, alpha=0.45)
        a_neuron.plot(idx[:n_mono], b[:n_mono], color=c, lw=1.8, label=f"{_label(sel['line_axes'], g['key'])}: {n_mono} mono")
    a_neuron.axhline(0, ls=":", color="k", lw=0.8)
    if len({g["cfg"].n_features for g in groups}) == 1:
        a_neuron.axvline(n_feat, color="k", lw=0.8, ls="--")
        a_neuron.text(n_feat, a_neuron.get_ylim()[1], " N features", va="top", fontsize=8)
    a_neuron.set(xlabel="neuron, sorted by decreasing r_j", ylabel="final b1",
                 title=f"bias by neuron (seed {groups[0]['rows'][0]['seed']}; thick: monosemantic, thin: poly)")
    a_neuron.legend(fontsize=7, loc="best", framealpha=0.9)


def _sfa_figure(sel: dict, data: dict):
    from .metric import monosemanticity, sfa_order, single_feature_activations

    groups = data["groups"]
    picks = sorted({0, len(groups) // 2, len(groups) - 1})
    mats, heads = [], []
    for i in picks:
        g = groups[i]
        run = runs.load_run(g["paths"][0])
        A = single_feature_activations(run.params, run.task_tensors["P"].t(), run.config.nonlinearity).float().cpu()
        m = monosemanticity(A)
        mats.append((A[sfa_order(A)].numpy(), m.mono_count))
        heads.append(f"{_label(sel['line_axes'], g['key'])} (seed {g['rows'][0]['seed']})\n"
                     f"mono/N {m.mono_count / run.config.n_features:.3f}, dead {m.dead_count}/{run.config.k}, "
                     f"eval loss {run.summary['final_loss']:.4f}")
    pos = np.concatenate([M[M > 0] for M, _ in mats])
    vmax = float(np.quantile(pos, 0.99)) if pos.size else 1.0
    fig, axs = plt.subplots(1, len(mats), figsize=(5.2 * len(mats) + 1, 6.5), squeeze=False,
                            layout="constrained")
    for ax, (M, n_mono), head in zip(axs[0], mats, heads):
        im = ax.imshow(M, aspect="auto", interpolation="nearest", cmap="magma", vmin=0, vmax=vmax)
        if 0 < n_mono < M.shape[0]:
            ax.axhline(n_mono - 0.5, color="cyan", lw=0.8, ls="--")
        ax.set(xlabel="feature", title=head)
        ax.title.set_fontsize(9)
    axs[0][0].set_ylabel("neuron (monosemantic by feature above the cyan line, then polysemantic)")
    fig.colorbar(im, ax=axs[0].tolist(), label="activation for one feature at amplitude 1", shrink=0.8)
    fig.suptitle(_title(sel, groups[0]["cfg"], "; single-feature activations of the lowest, middle and highest value (all-black rows: dead neurons)"),
                 fontsize=10)
    return fig
