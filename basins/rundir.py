"""Writing basins' outputs as run directories (aligned copies, hop and CBFT results), so every tool
that reads runs (models show, basins interpolate/map, prune) works on them too; and guarding --out."""
from __future__ import annotations

import shutil
from pathlib import Path

import torch

from models import runs
from models.config import TrainConfig


def prepare_out(out: Path, force: bool, marker: str, resumable: bool = False) -> None:
    """Refuse to overwrite a finished result without --force. Call after every input is validated.
    A resumable command (hop) may continue into an unfinished --out."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise runs.RunError(f"--out {out} exists and is not a directory")
    if resumable and not force and not (out / marker).exists():
        return
    if out.is_dir() and any(out.iterdir()):
        if not force:
            what = "a finished result" if (out / marker).exists() or runs.is_finished(out) else "files"
            raise runs.RunError(f"--out {out} already holds {what}; pass --force to overwrite it")
        shutil.rmtree(out)


def write_run(out: Path, cfg: TrainConfig, params: dict[str, torch.Tensor], init: dict[str, torch.Tensor],
              metrics: list[dict], *, wall_s: float | None = None, steps_per_s: float | None = None) -> dict:
    """A complete run dir for params that basins made (not trained by models.train): config, task,
    init, model, metrics, summary (its final loss and metric recomputed here) and the usual plots."""
    from models.tasks import Task, make_task_tensors
    from models.train import config_record, finish_run

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device("cpu")
    tensors = make_task_tensors(cfg)
    runs.write_json(out / runs.CONFIG, config_record(cfg, device))
    runs.write_tensors(out / runs.TASK, tensors)
    runs.write_tensors(out / runs.INIT, init)
    params = {n: t.detach().to(device) for n, t in params.items()}
    return finish_run(out, cfg, params, metrics, device, Task(cfg, device, tensors), {},
                      wall_s=wall_s or 0.0, steps_per_s=steps_per_s)
