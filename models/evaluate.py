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


def run_summary(params: dict[str, torch.Tensor], cfg: TrainConfig, task, metrics: list[dict], device, *,
                wall_s: float, steps_per_s: float | None, extra: dict | None = None):
    """A finished run's summary.json (eval loss, the metric and its views, timing) and the metric itself."""
    from .metric import measure

    final_loss = eval_loss(params, cfg, device)
    if final_loss != final_loss or final_loss in (float("inf"), float("-inf")):
        from .runs import RunError

        raise RunError(f"the eval loss of the trained model is {final_loss}; the run stays unfinished")
    mono = measure(params, task.single_feature_inputs(), cfg.nonlinearity)
    train_losses = [m["loss"] for m in metrics if "loss" in m]
    summary = {
        "final_loss": final_loss,
        "train_loss_last": sum(train_losses[-16:]) / max(1, len(train_losses[-16:])),
        "mono_count": None if mono is None else mono.mono_count,
        "mono_per_N": None if mono is None else mono.mono_count / cfg.n_features,
        "mono_per_k": None if mono is None else mono.mono_count / cfg.k,
        "dead_count": None if mono is None else mono.dead_count,
        "feature_histogram": None if mono is None else mono.feature_histogram(),
        "mono_per_feature": None if mono is None else mono.per_feature.tolist(),
        "mono_per_neuron": None if mono is None else mono.mono_per_neuron(),
        "r_per_neuron": None if mono is None else [round(v, 6) for v in mono.r.tolist()],
        "mean_bias": float(params["b1"].mean()),
        "metric_note": None if mono is not None else
        f"monosemanticity is not defined for {cfg.nonlinearity}: its activations can be negative",
        "steps": cfg.steps,
        "wall_s": wall_s,
        "steps_per_s": steps_per_s,
        "threads": torch.get_num_threads(),
        "device": str(device),
        **(extra or {}),
    }
    return summary, mono
