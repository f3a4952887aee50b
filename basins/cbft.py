"""Connectivity-based fine-tuning (Lubana et al. 2023): does a polysemantic run become monosemantic when
moved to low loss yet linearly disconnected from itself?

Alternate an Adam barrier step (push the batch loss at t A + (1 - t) theta, t in [0.25, 0.75], toward
L(A) + margin) and an Adam task step, then `finetune` task-only steps with the lr annealed to zero.
`control=True` skips the barrier steps, to separate what the barrier does from what Adam does.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from models.model import PARAM_NAMES


@dataclass
class CbftResult:
    params: dict[str, torch.Tensor]
    metrics: list[dict]  # run-store style: {"step", "loss"} (task batch) plus "barrier_loss", "t"
    target: float
    wall_s: float


def cbft(anchor: dict[str, torch.Tensor], cfg, steps: int, margin: float, lr: float, seed: int = 0,
         finetune: int = 0, control: bool = False, on_progress=None) -> CbftResult:
    from models.evaluate import eval_loss
    from models.model import matmul_precision
    from models.optim import Adam

    from models import seeds

    from .steps import adam_step, batch_loss, cosine, log_step, sampler

    task, gen, rng = sampler(cfg, seed, seeds.CBFT)
    anchor = {n: anchor[n].detach().float() for n in PARAM_NAMES}
    target = eval_loss(anchor, cfg) + margin
    theta = {n: anchor[n].clone().requires_grad_(True) for n in PARAM_NAMES}
    opt_barrier, opt_task = Adam(theta), Adam(theta)
    metrics: list[dict] = []
    t0 = time.perf_counter()
    with matmul_precision(cfg.precision):
        for step in range(steps + finetune):
            b_loss, t = None, None
            if step < steps and not control:
                t = 0.5 + 0.5 * float(np.clip(rng.standard_normal(), -0.5, 0.5))
                mid = {n: t * anchor[n] + (1 - t) * theta[n] for n in PARAM_NAMES}
                b_loss = (target - batch_loss(mid, task, gen, cfg)).abs()
                adam_step(opt_barrier, b_loss, lr)
            loss = batch_loss(theta, task, gen, cfg)
            adam_step(opt_task, loss, lr if step < steps else cosine(lr, step - steps, finetune))
            log_step(metrics, step, steps + finetune, on_progress, loss=loss, t=t, barrier_loss=b_loss)
    return CbftResult({n: p.detach() for n, p in theta.items()}, metrics, target, time.perf_counter() - t0)


def result_config(cfg, steps: int, finetune: int, lr: float):
    """The TrainConfig a CBFT result's run dir records: Adam at a constant lr, no bias decay."""
    return cfg.replace(steps=steps + finetune, optimizer="adam", lr=lr, schedule="constant", bias_decay=0.0)


def cbft_record(a, c, r: CbftResult, *, steps: int, finetune: int, control: bool, margin: float, lr: float,
                seed: int, points: int = 33) -> dict:
    """cbft.json: the path from start A to the result C (naive and aligned), what changed, the history."""
    from .align import role_changes
    from .interpolate import interpolation_record

    return {**interpolation_record(a, c, points, "weight", None), "steps": steps, "finetune": finetune,
            "control": control, "margin": margin, "lr": lr, "seed": seed, "target": r.target, "history": r.metrics,
            "mono_before": a.summary["mono_per_N"], "mono_after": c.summary["mono_per_N"],
            "loss_before": a.summary["final_loss"], "loss_after": c.summary["final_loss"],
            "dead_before": a.summary["dead_count"], "dead_after": c.summary["dead_count"], **role_changes(a, c)}
