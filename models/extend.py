"""Train a finished run longer: a new run dir that continues a run's final state to a larger step budget.

The convergence rule (docs/science.md section 7) often asks for one more doubling; this gives it without
training the first part again. The extended run equals one trained for the larger budget from the start,
bit for bit at the same thread count, whenever nothing in the recipe depends on the total number of steps,
so a recipe where something does is refused: the one-shot cosine schedule, the paper's fixed bias decay (it
stops at half the run) and the adaptive decay's window outside the restarting cosine. Only plain runs
(models train / sweep) keep the final state it needs; a batched run (--instances) is continued unbatched,
so it matches its batched twin only to the batched trainer's tolerance (benchmarks/README.md).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from . import runs
from .config import ConfigError, TrainConfig
from .rundir import ResultDir, config_record


def step_dependence(cfg: TrainConfig) -> list[str]:
    """What in cfg depends on cfg.steps (empty when an extension equals a longer run)."""
    why = []
    if cfg.schedule == "cosine":
        why.append("the cosine schedule anneals over the whole run (restart-cosine and constant do not)")
    if cfg.bias_decay and cfg.bias_decay_mode == "fixed":
        why.append("fixed bias decay stops at half the run")
    if cfg.bias_decay and cfg.bias_decay_mode == "adaptive" and cfg.schedule != "restart-cosine":
        why.append("the adaptive decay's window is 1/8 of the run without the restarting cosine")
    return why


def check_extension(src: Path, steps: int) -> TrainConfig:
    """The longer run's config, or a one-line RunError/ConfigError saying why src cannot be extended."""
    if not src.is_dir():
        raise runs.RunError(f"no run at {src}")
    if not runs.is_finished(src):
        raise runs.RunError(f"run {src} is unfinished; continue it with models train --resume first")
    cfg = runs.read_config(src)
    if not (src / runs.FINAL_STATE).is_file():
        raise runs.RunError(f"run {src} has no {runs.FINAL_STATE} (only plain runs trained by this version "
                            "keep one; pruned and hop runs do not)")
    if not (isinstance(steps, int) and steps > cfg.steps):
        raise ConfigError(f"--steps must exceed the run's {cfg.steps} steps, got {steps}")
    why = step_dependence(cfg)
    if why:
        raise ConfigError(f"cannot extend {src}: {'; '.join(why)}")
    return cfg.replace(steps=steps)


def _stage(src: Path, dst: Path, cfg: TrainConfig) -> None:
    """dst as an unfinished run of cfg at src's last step: everything but the results, written under a
    temporary name and renamed, so dst is complete or absent."""
    from .train import resolve_device

    tmp = dst.with_name(f".{dst.name}.extend")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name in (runs.TASK, runs.INIT, runs.METRICS):
        shutil.copy2(src / name, tmp / name)
    runs.write_json(tmp / runs.CLAIM, {"kind": "run"})
    shutil.copytree(src / runs.CHECKPOINTS, tmp / runs.CHECKPOINTS)
    shutil.copy2(src / runs.FINAL_STATE, tmp / runs.RESUME)
    runs.write_json(tmp / runs.CONFIG, {**config_record(cfg, resolve_device(cfg.device)), "extended_from": str(src)})
    try:
        os.rename(tmp, dst)
    except OSError:
        shutil.rmtree(tmp)
        raise runs.RunError(f"{dst} appeared while it was being staged; another process is writing it") from None


def extend_run(src: str | Path, dst: str | Path, steps: int, *, force: bool = False,
               on_progress: Callable[[int, float | None, int | None], None] | None = None,
               plots: bool | str = True, stop_after: int | None = None) -> dict:
    """Continue finished run src from its last step to `steps` into the new run dir dst; returns dst's summary.

    A dst left unfinished by an interrupted extension of the same config is resumed; a finished dst is
    refused without force. stop_after ends the work early with the state saved (tests)."""
    from .train import train_run

    src, dst = Path(src), Path(dst)
    cfg = check_extension(src, steps)
    lock = ResultDir(dst, "run", runs.SUMMARY, runs.CONFIG)
    state = lock.check(force=force, resume=not force, inputs=(src,))
    if state == "finished":
        raise runs.RunError(f"run {dst} is finished; pass --force to overwrite it")
    if state == "new":
        if dst.exists():
            with lock:
                lock.claim(force=True)  # refuses a second writer, then clears dst
                (dst / runs.CLAIM).unlink()
                dst.rmdir()
        _stage(src, dst, cfg)
    return train_run(cfg, dst, resume=True, on_progress=on_progress, plots=plots, stop_after=stop_after)
