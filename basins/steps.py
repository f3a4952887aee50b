"""The pieces of the Adam loops that train a curve's bends and a CBFT result: batches from the task's own
sampler, one Adam update, a cosine-annealed lr and the run-store style history."""
from __future__ import annotations

import math

import numpy as np
import torch

from models import seeds
from models.model import forward
from models.tasks import Task, make_task_tensors, task_loss
from models.train import LOG_EVERY, PROGRESS_EVERY


def sampler(cfg, seed: int, stream: int):
    """(task on the CPU, the torch generator of its batches for `stream`, a numpy generator for the t's)."""
    return Task(cfg, "cpu", make_task_tensors(cfg)), seeds.generator(seed, stream), np.random.default_rng(seed)


def batch_loss(params: dict[str, torch.Tensor], task, gen: torch.Generator, cfg) -> torch.Tensor:
    """The task loss of params on a fresh batch."""
    x, y = task.sample(cfg.batch, gen)
    return task_loss(forward(params, x, cfg.nonlinearity), y)


def adam_step(opt, loss: torch.Tensor, lr: float) -> None:
    """Fresh gradients of loss for the optimizer's parameters, then one update."""
    for p in opt.params.values():
        p.grad = None
    loss.backward()
    opt.step(lr)


def cosine(lr: float, step: int, steps: int) -> float:
    """lr annealed once by a cosine: lr at step 0, 0 at `steps`."""
    return lr * (1 + math.cos(math.pi * step / steps)) / 2


def log_step(history: list, step: int, total: int, on_progress, **entry) -> None:
    """{"step", **entry} (tensors as floats) every LOG_EVERY-th step; on_progress(steps done, batch loss)
    every PROGRESS_EVERY steps and after the last of `total`."""
    if step % LOG_EVERY == 0:
        history.append({"step": step, **{k: float(v.detach()) if torch.is_tensor(v) else v for k, v in entry.items()}})
    if on_progress is not None and ((step + 1) % PROGRESS_EVERY == 0 or step + 1 == total):
        on_progress(step + 1, float(entry["loss"].detach()))
