"""Figures for basins: paths, curves, hops, CBFT and the basin map (Agg backend, written atomically)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from models.plots import describe  # noqa: E402
from models.runs import save_figure  # noqa: E402


def _label(run) -> str:
    mono = run.summary.get("mono_per_N")
    return f"{run.name} (mono/N {mono:.2f}, loss {run.summary['final_loss']:.4f})" if mono is not None else run.name


def _pair_title(what: str, a, b) -> str:
    return f"{what}\nA = {_label(a)}: {describe(a.config)}\nB = {_label(b)}: {describe(b.config)}"


def _save(fig, path: Path, axes=(), legend_size: int = 7) -> None:
    """Legends and grids on `axes`, then the figure written (atomically) and closed."""
    for ax in axes:
        ax.legend(fontsize=legend_size)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _along_path(ax_loss, ax_mono, x, series, xlabel: str, loss_title: str = "loss along the path",
                mono_title: str = "monosemanticity along the path", **style) -> None:
    """Eval loss (ax_loss) and mono/N (ax_mono) against the path's parameter, one line per
    (line style, loss label, loss, mono label, mono) in series; mono None where the metric does not apply."""
    for ls, loss_label, loss, mono_label, mono in series:
        ax_loss.plot(x, loss, ls, label=loss_label, **style)
        if mono is not None:
            ax_mono.plot(x, mono, ls, label=mono_label, **style)
    ax_loss.set(xlabel=xlabel, ylabel="eval loss", title=loss_title)
    ax_mono.set(xlabel=xlabel, ylabel="monosemantic neurons / N", title=mono_title)


def _naive_and_aligned(res: dict, loss_label) -> list[tuple]:
    """_along_path's series for a record with a naive and an aligned straight path (and a repaired one)."""
    return [(ls, loss_label(kind), res[f"loss_{kind}"], kind, res[f"mono_{kind}"])
            for kind, ls in (("naive", "--"), ("aligned", "-"), ("repaired", "-.")) if f"loss_{kind}" in res]


def interpolation_plot(res: dict, a, b, path: Path) -> None:
    """Loss and mono/N along the straight path from A to B, naive and after alignment."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    series = _naive_and_aligned(res, lambda kind: f"{kind} (barrier {res[f'barrier_{kind}']:+.4f}, "
                                                  f"{100 * res[f'barrier_{kind}_rel']:+.1f}%)")
    _along_path(*axes, res["alphas"], series, "alpha  (0 = A, 1 = B)", marker="o", ms=3)
    ends = [res["loss_aligned"][0], res["loss_aligned"][-1]]
    axes[0].plot([0, 1], ends, ":", color="grey", label="linear blend of endpoint losses")
    if res["mono_aligned"] is None:
        axes[1].text(0.5, 0.5, "metric undefined for this nonlinearity", ha="center", transform=axes[1].transAxes)
    repair = " (and after REPAIR)" if "loss_repaired" in res else ""
    fig.suptitle(_pair_title(f"Linear interpolation, naive vs {res['method']}-matched{repair}", a, b), fontsize=8)
    _save(fig, path, axes, 8)


def curve_plot(res: dict, a, b, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    _along_path(*axes, res["t"], [
        ("--", f"straight line (barrier {res['line']['barrier']:+.4f})", res["loss_line"], "straight line",
         res["mono_line"]),
        ("-", f"trained {res['kind']}, {res['bends']} bend(s) (barrier {res['curve']['barrier']:+.4f})",
         res["loss_curve"], f"trained {res['kind']}", res["mono_curve"])], "t  (0 = A, 1 = aligned B)")
    fig.suptitle(_pair_title(f"Curve vs line between A and weight-matched B ({res['steps']} training steps)", a, b),
                 fontsize=8)
    _save(fig, path, axes, 8)


def _short(run_path: str, mono) -> str:
    return f"{Path(run_path).name} (mono/N {mono:.2f})" if mono is not None else Path(run_path).name


def hop_plot(results: list[dict], path: Path) -> None:
    """Per direction: aligned barrier to the target and to the start, mono/N and distance against lambda."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    for i, (res, name) in enumerate(zip(results, ("A -> B", "B -> A"))):
        rows, c = res["rows"], f"C{i}"
        lam = [max(r["lambda"], 1e-6) for r in rows]
        axes[0].plot(lam, [100 * r["barrier_to_b_rel"] for r in rows], "o-", color=c, label=f"{name}: to target")
        axes[0].plot(lam, [100 * r["barrier_to_a_rel"] for r in rows], "s--", color=c, label=f"{name}: to start")
        axes[1].plot(lam, [r["mono_per_N"] for r in rows], "o-", color=c, label=f"{name}: result")
        axes[1].axhline(res["b_mono_per_N"], color=c, ls=":", lw=1, label=f"{name}: target's mono/N")
        landed = [r for r in rows if r["landed"]]
        axes[1].plot([max(r["lambda"], 1e-6) for r in landed], [r["mono_per_N"] for r in landed], "*", ms=14,
                     color=c, mfc="none", label=f"{name}: landed in target's basin")
        axes[2].plot(lam, [r["distance_to_b"] / r["distance_to_b_start"] for r in rows], "o-", color=c, label=name)
    axes[0].axhline(100 * results[0]["tol"], color="grey", ls=":", label="tolerance")
    axes[0].set(ylabel="aligned barrier (% of endpoint mean loss)", title="barriers of the result")
    axes[1].set(ylabel="monosemantic neurons / N", title="monosemanticity of the result")
    axes[2].set(ylabel="||theta - pi(theta_target)|| / at start", title="distance to the aligned target")
    for ax in axes:
        ax.set(xscale="log", xlabel="lambda (0 plotted at 1e-6)")
    r0 = results[0]
    fig.suptitle(f"Hop: train the start with loss + lambda ||theta - pi(theta_target)||^2 for {r0['steps']} steps "
                 f"at lr {r0['lr']:g}, then {r0['release']} steps without the pull\n"
                 f"A = {_short(r0['a'], r0['a_mono_per_N'])},  B = {_short(r0['b'], r0['b_mono_per_N'])}", fontsize=9)
    _save(fig, path, axes)


def cbft_plot(res: dict, a, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    h = res["history"]
    axes[0].plot([m["step"] for m in h], [m["loss"] for m in h], lw=0.8, label="task loss of theta (batch)")
    hb = [m for m in h if m.get("barrier_loss") is not None]
    if hb:
        axes[0].plot([m["step"] for m in hb], [m["barrier_loss"] for m in hb], lw=0.8,
                     label="|target - L(t A + (1-t) theta)| (batch)")
    if not res["control"]:
        axes[0].axhline(res["target"], color="grey", ls=":", label="target loss on the path")
    axes[0].set(xlabel="step", ylabel="loss", yscale="log", title="training")
    series = _naive_and_aligned(res, lambda kind: f"{kind} (barrier {res[f'barrier_{kind}']:+.4f})")
    _along_path(*axes[1:], res["alphas"], series, "alpha  (0 = A, 1 = CBFT result)", "loss on the line from A",
                f"mono/N: A {res['mono_before']:.3f} -> {res['mono_after']:.3f}", marker="o", ms=3)
    if res["control"]:
        what, recipe = "Control (task-only Adam, no barrier steps)", f"{res['steps']} steps"
    else:
        what, recipe = "Connectivity-based fine-tuning", f"margin {res['margin']}, {res['steps']} step pairs"
    fig.suptitle(f"{what} from A = {_label(a)}\n{describe(a.config)}; {recipe} + "
                 f"{res['finetune']} task-only steps, Adam lr {res['lr']:g}", fontsize=8)
    _save(fig, path, axes)


def map_plot(res: dict, path: Path, title: str = "") -> None:
    """The relative aligned-barrier matrix, runs ordered by component, labelled with mono/N and the
    hyperparameters that differ; component borders drawn."""
    order = [i for comp in res["components"] for i in comp]
    rel = 100 * np.asarray(res["aligned_rel"])[np.ix_(order, order)]
    n = len(order)
    fields = res["differing_fields"]
    labels = []
    for i in order:
        r = res["runs"][i]
        extra = " ".join(f"{f}={r[f]}" for f in fields)
        mono = "-" if r["mono_per_N"] is None else f"{r['mono_per_N']:.2f}"
        labels.append(f"{extra} s{r['seed']} | mono/N {mono}")
    size = max(6, 0.32 * n + 3)
    fig, ax = plt.subplots(figsize=(size + 2, size))
    from matplotlib.colors import SymLogNorm

    tol = 100 * res["tol"]
    norm = SymLogNorm(linthresh=tol, vmin=min(0.0, float(rel.min())), vmax=max(2 * tol, float(rel.max())))
    im = ax.imshow(rel, cmap="viridis", norm=norm)
    if n <= 16:
        for i in range(n):
            for j in range(n):
                if i != j:
                    ax.text(j, i, f"{rel[i, j]:.0f}" if abs(rel[i, j]) >= 10 else f"{rel[i, j]:.1f}", ha="center",
                            va="center", fontsize=5, color="white" if rel[i, j] < tol else "black")
    edge = 0
    for comp in res["components"]:
        ax.add_patch(plt.Rectangle((edge - 0.5, edge - 0.5), len(comp), len(comp), fill=False, ec="red", lw=1.5))
        edge += len(comp)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=6)
    ax.set_yticks(range(n), labels, fontsize=6)
    fig.colorbar(im, ax=ax, fraction=0.04, label="aligned barrier (% of endpoint mean loss; log scale above the tolerance)")
    ax.set_title(f"{title}\n{len(res['components'])} basins at tol {100 * res['tol']:g}% "
                 f"(red boxes: connected components)", fontsize=9)
    _save(fig, path)


def plane_plot(res: dict, a, b, path: Path) -> None:
    """Eval loss (log colour scale) and mono/N over the plane, the three models marked."""
    from matplotlib.colors import LogNorm

    xs, ys = np.array(res["xs"]), np.array(res["ys"])
    loss = np.array(res["loss"])
    panels = [("eval loss", loss, "viridis", np.geomspace(loss.min(), loss.max() * 1.0001, 25), LogNorm())]
    if res["mono"] is not None:
        panels.append(("monosemantic neurons / N", np.array(res["mono"]), "magma", 24, None))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5.2), squeeze=False)
    middle = (xs[0] + xs[-1]) / 2
    for ax, (label, z, cmap, levels, norm) in zip(axes[0], panels):
        cs = ax.contourf(xs, ys, z, levels=levels, cmap=cmap, norm=norm)
        fig.colorbar(cs, ax=ax, label=label, format="%.3g")
        for name, p in res["points"].items():
            right = p["x"] > middle
            ax.plot(p["x"], p["y"], "o", color="white", mec="black", ms=8)
            ax.annotate(f"{name}  {p['loss']:.4f}", (p["x"], p["y"]), textcoords="offset points",
                        xytext=(-6 if right else 6, 6), ha="right" if right else "left", color="white",
                        fontsize=8, fontweight="bold")
        ax.set(xlabel="along B - A (weight-space distance)", ylabel="along C - A, orthogonal to B - A",
               title=label, aspect="equal")
    c = Path(res["c"]).name if not res["c"].startswith("bend of") else res["c"]
    fig.suptitle(_pair_title(f"Plane through A, weight-matched B and C = {c} ({res['grid']}x{res['grid']} grid, "
                             f"{res['eval_size']} eval samples)", a, b), fontsize=8)
    _save(fig, path)
