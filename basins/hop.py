"""How much pull toward another model makes a run hop basins?

Continue A (its recipe, no bias decay, optionally another lr) on loss + lambda ||theta - pi(theta_B)||^2 for
`steps` steps, then `release` steps without the pull, one run dir per lambda. A run "landed in B's basin"
when its relative aligned barrier to B is below `tol` and its mono/N lies in B's seed range; whether its
loss is within (1 + tol) x B's is reported beside it (docs/science.md).
"""
from __future__ import annotations

from pathlib import Path

import torch

from models.model import PARAM_NAMES
from models.runs import Run, RunError, is_finished, load_run, read_config

from .align import align, align_runs, permute
from .interpolate import linear_path


def distance(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor]) -> float:
    return float(sum(((pa[n].double() - pb[n].double()) ** 2).sum() for n in PARAM_NAMES) ** 0.5)


def pull(target: dict[str, torch.Tensor], lam: float, until: int | None = None):
    """grad_hook for models.train: adds the gradient 2 lambda (theta - target) of the pull term
    at steps before `until` (all steps if None)."""
    def hook(step, params):
        if lam and (until is None or step < until):
            for n in PARAM_NAMES:
                params[n].grad.add_(params[n].detach() - target[n], alpha=2 * lam)
    return hook


def aligned_barrier(pa, pb, cfg, points: int, eval_size: int | None) -> dict:
    """Weight-match pb to pa, then the barriers of the straight path."""
    pb = permute(pb, align(pa, pb, "weight").perm)
    return linear_path(pa, pb, cfg, points, eval_size, with_mono=False).barriers


def hop(a: Run, b: Run, lambdas: list[float], steps: int, out: Path, *, release: int = 0,
        lr: float | None = None, points: int = 17, eval_size: int | None = 16384, tol: float = 0.05,
        mono_range: tuple[float, float] | None = None, on_lambda=None, on_progress=None, plots: bool = True,
        precision: str | None = None) -> dict:
    """Train A toward aligned B for every lambda (finished lambdas are reused) and report each."""
    from models.train import train_run

    target = permute(b.params, align_runs(a, b, "weight").perm)
    cfg = a.config.replace(steps=steps + release, bias_decay=0.0, lr=lr or a.config.lr,
                           precision=precision or a.config.precision)
    lo, hi = mono_range if mono_range is not None else mono_seed_range([b])
    start = distance(a.params, target)
    rows = []
    for lam in lambdas:
        d = Path(out) / f"lambda_{lam:g}"
        if is_finished(d) and read_config(d) != cfg:
            raise RunError(f"{d} was trained with other settings than these (steps, lr or start); "
                           "pass --force to start the hop afresh")
        if not is_finished(d):
            train_run(cfg, d, resume=True, start_params=a.params, grad_hook=pull(target, lam, steps), kind="hop-lambda",
                      on_progress=on_progress, plots=plots)
        r = load_run(d)
        to_b = aligned_barrier(r.params, b.params, cfg, points, eval_size)
        to_a = aligned_barrier(r.params, a.params, cfg, points, eval_size)
        mono = r.summary["mono_per_N"]
        row = {"lambda": lam, "run": str(d), "final_loss": r.summary["final_loss"], "mono_per_N": mono,
               "dead_count": r.summary["dead_count"],
               "distance_to_b": distance(r.params, target), "distance_to_b_start": start,
               "barrier_to_b": to_b["barrier"], "barrier_to_b_rel": to_b["barrier_rel"],
               "barrier_to_a": to_a["barrier"], "barrier_to_a_rel": to_a["barrier_rel"]}
        row["landed"] = bool(to_b["barrier_rel"] < tol and mono is not None and lo <= mono <= hi)
        row["loss_within_tol"] = bool(r.summary["final_loss"] <= (1 + tol) * b.summary["final_loss"])
        rows.append(row)
        if on_lambda is not None:
            on_lambda(row)
    return {"a": str(a.path), "b": str(b.path), "steps": steps, "release": release, "lr": cfg.lr,
            "tol": tol, "b_mono_range": [lo, hi],
            "a_mono_per_N": a.summary["mono_per_N"], "b_mono_per_N": b.summary["mono_per_N"],
            "a_loss": a.summary["final_loss"], "b_loss": b.summary["final_loss"],
            "smallest_lambda_landed": min((r["lambda"] for r in rows if r["landed"]), default=None),
            "smallest_lambda_landed_at_target_loss": min((r["lambda"] for r in rows if r["landed"]
                                                          and r["loss_within_tol"]), default=None),
            "rows": rows,
            "definition": "loss + lambda * sum over W1, b1, W2 of ||theta - pi(theta_B)||^2; "
                          "pull for `steps` steps, then `release` steps without it; landed: aligned barrier_rel to B "
                          "< tol and mono/N in B's seed range; loss_within_tol: loss <= (1 + tol) x B's"}


def mono_seed_range(peers: list[Run], margin: float = 0.02) -> tuple[float, float]:
    """B's mono/N range over B and its seed siblings, widened by `margin` on each side."""
    vals = [p.summary["mono_per_N"] for p in peers if p.summary.get("mono_per_N") is not None]
    if not vals:
        return (float("nan"), float("nan"))
    return (min(vals) - margin, max(vals) + margin)



DIRECTIONS = ("a_to_b", "b_to_a")


def hop_directions(a: Run, b: Run, lambdas: list[float], steps: int, out: Path, *, both: bool = False,
                   peers: list[Run] = (), mono_margin: float = 0.02, on_direction=None, **kw) -> list[dict]:
    """hop() from A toward B (OUT/a_to_b) and, with both, from B toward A (OUT/b_to_a); each target's mono/N
    seed range is taken over it and those of `peers` that differ from it only in seed.
    on_direction(start, target) is called before each direction (e.g. to start a progress bar)."""
    results = []
    for (start, target), sub in zip([(a, b), (b, a)][:2 if both else 1], DIRECTIONS):
        siblings = [p for p in peers if p.config.replace(seed=0) == target.config.replace(seed=0)]
        if on_direction is not None:
            on_direction(start, target)
        results.append(hop(start, target, sorted(set(lambdas)), steps, Path(out) / sub,
                           mono_range=mono_seed_range([target, *siblings], mono_margin), **kw))
    return results
