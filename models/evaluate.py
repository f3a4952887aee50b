"""Loss on a task's fixed evaluation set: the number every report uses."""
from __future__ import annotations

import torch

from .config import TrainConfig
from .model import forward
from .tasks import eval_set, task_loss

CHUNK = 8192


def eval_loss(params: dict[str, torch.Tensor], cfg: TrainConfig, device: torch.device | str = "cpu",
              size: int | None = None) -> float:
    """Mean over the eval set of the squared error summed over outputs (the training loss, no L1)."""
    x, y = eval_set(cfg, device) if size is None else eval_set(cfg, device, size)
    params = {n: t.to(device) for n, t in params.items()}
    total = 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], CHUNK):
            out = forward(params, x[i:i + CHUNK], cfg.nonlinearity)
            total += float(task_loss(out, y[i:i + CHUNK])) * out.shape[0]
    return total / x.shape[0]
