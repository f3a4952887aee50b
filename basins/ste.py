"""Straight-through-estimator matching (Ainsworth et al. 2023, "git re-basin", Algorithm 3): learn the
permutation of B that makes the midpoint of A and permuted B a good model, not only a close one.

Free weights theta~ start at A. Each step projects them onto B's permutations by weight matching,
pi = argmax_pi <theta~, pi(B)>, evaluates the task loss of the midpoint (A + pi(B)) / 2 on a training
batch, and passes its gradient straight through the projection to theta~ (Adam). The result is the
permutation of the lowest midpoint loss seen on a fixed probe batch, ties to the earlier. docs/science.md.
"""
from __future__ import annotations

import numpy as np
import torch

from models import seeds
from models.model import PARAM_NAMES, forward
from models.tasks import Task, task_loss

STE_STEPS, STE_LR, PROBE = 256, 1e-3, 8192


def _project(free: dict[str, torch.Tensor], pb: dict[str, torch.Tensor]) -> np.ndarray:
    from .align import _assign, weight_score

    return _assign(weight_score({n: t.detach() for n, t in free.items()}, pb))


def ste_permutation(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor], cfg, steps: int = STE_STEPS,
                    lr: float = STE_LR, seed: int = 0) -> tuple[np.ndarray, float, float]:
    """(perm, midpoint loss at the identity, midpoint loss at perm), the losses on the probe batch."""
    from .align import permute

    task = Task(cfg)
    gen = seeds.generator(seed, seeds.STE)
    xp, yp = task.sample(PROBE, gen)

    def mid_loss(perm) -> float:
        pbp = permute(pb, perm)
        with torch.no_grad():
            return float(task_loss(forward({n: (pa[n] + pbp[n]) / 2 for n in PARAM_NAMES}, xp, cfg.nonlinearity), yp))

    identity = np.arange(pa["b1"].shape[0])
    free = {n: pa[n].detach().clone().requires_grad_(True) for n in PARAM_NAMES}
    opt = torch.optim.Adam(free.values(), lr=lr)
    best = _project(free, pb)
    best_loss = mid_loss(best)
    for _ in range(steps):
        perm = _project(free, pb)
        pbp = permute(pb, perm)
        x, y = task.sample(cfg.batch, gen)
        mid = {n: (pa[n] + pbp[n] + free[n] - free[n].detach()) / 2 for n in PARAM_NAMES}
        loss = task_loss(forward(mid, x, cfg.nonlinearity), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        now = mid_loss(perm)
        if now < best_loss:
            best, best_loss = perm, now
    return best, mid_loss(identity), best_loss
