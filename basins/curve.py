"""Low-loss curves between two models (Garipov et al. 2018): connected by a simple curve where the
straight line has a barrier?

Control points [A, C_1 .. C_n, B]: a Bezier curve (one bend: the quadratic curve) or a polygonal chain.
The bends start evenly spaced on the line (step 0 IS the line) and train with one t ~ U(0,1) per batch;
the endpoints stay fixed (docs/science.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

KINDS = ("bezier", "polychain")
EVAL_POINTS = 61


def curve_point(points: list[dict[str, torch.Tensor]], t: float, kind: str) -> dict[str, torch.Tensor]:
    """The parameters at t in [0, 1] of the curve through `points` (A, bends..., B)."""
    n = len(points) - 1
    if kind == "bezier":
        w = [math.comb(n, i) * t ** i * (1 - t) ** (n - i) for i in range(n + 1)]
        return {k: sum(wi * p[k] for wi, p in zip(w, points)) for k in points[0]}
    if kind == "polychain":
        s = min(max(t, 0.0), 1.0) * n
        i = min(int(s), n - 1)
        u = s - i
        return {k: (1 - u) * points[i][k] + u * points[i + 1][k] for k in points[0]}
    raise ValueError(f"unknown curve kind {kind!r}")


@dataclass
class CurveResult:
    bends: list[dict[str, torch.Tensor]]
    history: list[dict]  # {"step", "loss"} of the training batches (loss at the sampled t)


def train_curve(pa, pb, cfg, kind: str = "bezier", bends: int = 1, steps: int = 2048, lr: float = 1e-3,
                seed: int = 0, on_progress=None) -> CurveResult:
    """Train the bends with Adam (lr annealed once by a cosine) on the task's own sampler."""
    from models.model import matmul_precision
    from models.optim import Adam

    from models import seeds

    from .steps import adam_step, batch_loss, cosine, log_step, sampler

    task, gen, tgen = sampler(cfg, seed, seeds.CURVE)
    bend_params = [{n: torch.lerp(pa[n], pb[n], i / (bends + 1)).clone().requires_grad_(True) for n in pa}
                   for i in range(1, bends + 1)]
    opt = Adam({f"{i}.{n}": t for i, b in enumerate(bend_params) for n, t in b.items()})
    history = []
    with matmul_precision(cfg.precision):
        for step in range(steps):
            t = float(tgen.uniform())
            loss = batch_loss(curve_point([pa, *bend_params, pb], t, kind), task, gen, cfg)
            adam_step(opt, loss, cosine(lr, step, steps))
            log_step(history, step, steps, on_progress, t=t, loss=loss)
    return CurveResult([{n: t.detach() for n, t in b.items()} for b in bend_params], history)


def _stats(ts, loss, bars: dict) -> dict:
    """Max, mean and trapezoid integral of the loss along a path (t runs over [0, 1], so the integral is also
    the mean loss along it), with the path's barriers."""
    return {"max": float(np.max(loss)), "mean": float(np.mean(loss)), "integral": float(np.trapezoid(loss, ts)),
            **bars}


def evaluate_curve(pa, pb, bends, cfg, kind: str, points: int = EVAL_POINTS, eval_size: int | None = None) -> dict:
    """Eval loss and mono/N at `points` values of t, with the straight line's at the same t for reference."""
    from models.evaluate import eval_loss
    from models.tasks import Task, make_task_tensors

    from .interpolate import barriers, linear_path, mono_along

    ts = np.linspace(0, 1, points)
    single = Task(cfg, "cpu", make_task_tensors(cfg)).single_feature_inputs()

    def along():  # the parameters at each t, made one at a time (a model may be large)
        return (curve_point([pa, *bends, pb], float(t), kind) for t in ts)
    loss = [eval_loss(p, cfg, "cpu", eval_size) for p in along()]
    line = linear_path(pa, pb, cfg, points, eval_size)
    mono = mono_along(along(), single, cfg.nonlinearity, cfg.n_features)
    return {"t": ts.tolist(), "loss_curve": loss, "mono_curve": mono, "loss_line": line.loss, "mono_line": line.mono,
            "curve": _stats(ts, loss, barriers(ts, loss)), "line": _stats(ts, line.loss, line.barriers)}


def curve_record(ra, rb, kind: str = "bezier", bends: int = 1, steps: int = 2048, lr: float = 1e-3, seed: int = 0,
                 points: int = EVAL_POINTS, eval_size: int | None = None, on_progress=None) -> tuple[dict, dict]:
    """curve.json (the trained curve to weight-matched B against the line) and the bends' tensors."""
    from .align import align_runs, permute

    al = align_runs(ra, rb, "weight")
    pb = permute(rb.params, al.perm)
    trained = train_curve(ra.params, pb, ra.config, kind, bends, steps, lr, seed=seed, on_progress=on_progress)
    res = {"a": str(ra.path), "b": str(rb.path), "kind": kind, "bends": bends, "steps": steps, "lr": lr,
           "seed": seed, **evaluate_curve(ra.params, pb, trained.bends, ra.config, kind, points, eval_size),
           "history": trained.history, "permutation": al.perm.tolist()}
    tensors = {f"bend{i}.{n}": t for i, bd in enumerate(trained.bends) for n, t in bd.items()}
    return res, tensors
