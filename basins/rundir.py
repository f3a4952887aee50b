"""basins' outputs: result directories claimed through models.rundir, and the results that are models
(aligned copies, hop and CBFT results) written as run directories, so every tool that reads runs works
on them too."""
from __future__ import annotations

from pathlib import Path

import torch

from models.config import TrainConfig
from models.runs import RunError
from models.rundir import ResultDir, RunDir

DONE = {"align": "alignment.json", "interpolate": "interpolation.json", "curve": "curve.json",
        "hop": "hop.json", "cbft": "cbft.json", "map": "map.json", "plane": "plane.json"}


def claim_out(out: Path, kind: str, *, force: bool, inputs=(), resumable: bool = False) -> ResultDir:
    """Claim --out for a basins command of `kind` (call after every input is checked). A resumable command
    (hop) continues an unfinished result of its kind. Returns the held claim (a context manager)."""
    rd = ResultDir(out, kind, DONE[kind])
    if rd.claim(force=force, resume=resumable and not force, inputs=inputs) == "finished":
        rd.release()
        raise RunError(f"{out} holds a finished {kind} result; pass --force to overwrite it")
    return rd


def write_run(out: Path, cfg: TrainConfig, params: dict[str, torch.Tensor], init: dict[str, torch.Tensor],
              metrics: list[dict], *, wall_s: float | None = None, steps_per_s: float | None = None) -> dict:
    """A complete run dir in the claimed `out` for params that basins made (not trained by models.train):
    config, task, init, model, metrics, summary (its final loss and metric recomputed) and the plots."""
    from models.tasks import Task, make_task_tensors
    from models.train import finish_run

    device = torch.device("cpu")
    tensors = make_task_tensors(cfg)
    rd = RunDir(out)
    rd.begin(cfg, device, tensors, init)
    params = {n: t.detach().to(device) for n, t in params.items()}
    return finish_run(rd, cfg, params, metrics, device, Task(cfg, device, tensors), {},
                      wall_s=wall_s or 0.0, steps_per_s=steps_per_s)
