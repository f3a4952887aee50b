"""The one owner of result directories: who may write one, and the files of a run directory.

`ResultDir.claim` answers, for every command that writes an --out, whether it may: a directory remembers
which kind of command made it (`.result.json`), a second writer is refused while the first holds its lock,
`--force` replaces only a result of the same kind and never a directory that holds an input.
`RunDir` writes a run's files (layout in models.runs): config record, task and init tensors, checkpoints,
metrics, the resume state (one layout, written and read here only) and the finish, summary last.
"""
from __future__ import annotations

import fcntl
import os
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import runs
from .config import ConfigError, TrainConfig
from .runs import CLAIM, made_by

def _nested(a: Path, b: Path) -> bool:
    a, b = a.resolve(), b.resolve()
    return a == b or a in b.parents or b in a.parents


class ResultDir:
    """A directory one command writes. `done` names the file whose presence marks it finished (None: a kind
    that is only ever extended, such as an IMP directory); `marker` a file that identifies a result of this
    kind written before claims existed. Use as a context manager: leaving it drops the lock."""

    def __init__(self, path: str | Path, kind: str, done: str | None, marker: str | None = None,
                 members: set[str] | None = None):
        self.path, self.kind, self.done, self.marker = Path(path), kind, done, marker or done
        self.members = members  # a directory holding only these subdirectories is of this kind too
        self._fd: int | None = None

    def kind_found(self) -> str | None:
        kind = made_by(self.path)
        if kind is None and self.marker is not None and (self.path / self.marker).exists():
            return self.kind
        if kind is None and self.members is not None and all(
                c.name in self.members for c in self.path.iterdir() if not c.name.startswith(".")):
            return self.kind
        if kind is None and (self.path / runs.CONFIG).is_file():
            return "run"
        return kind

    def finished(self) -> bool:
        return self.done is not None and (self.path / self.done).exists()

    def check(self, *, force: bool = False, resume: bool = False, inputs=()) -> str:
        """'new', 'resume' or 'finished' (only with resume=True: the caller skips it), or a one-line
        RunError; writes nothing. resume=True: an unfinished result of this kind is continued."""
        if force and resume:
            raise ConfigError("--force and --resume contradict each other: give one")
        p = self.path
        if "\n" in str(p) or "\r" in str(p):
            raise runs.RunError(f"--out {str(p)!r} holds a line break; choose a plain path")
        for i in inputs:
            if _nested(p, Path(i)):
                raise runs.RunError(f"--out {p} holds or lies inside an input ({i}); choose another --out")
        if p.exists() and not p.is_dir():
            raise runs.RunError(f"--out {p} exists and is not a directory")
        if not p.exists() or not any(p.iterdir()):
            return "new"
        kind = self.kind_found()
        if kind != self.kind:
            what = f"a {kind} result" if kind else "files this command did not write"
            raise runs.RunError(f"--out {p} holds {what}; choose another --out (--force replaces only a "
                                f"{self.kind} result)")
        if force:
            return "new"
        if self.finished():
            if resume:
                return "finished"
            raise runs.RunError(f"{p} holds a finished {self.kind} result; pass --force to overwrite it")
        if not resume:
            raise runs.RunError(f"{p} holds an unfinished {self.kind} result; pass --resume to continue it or "
                                f"--force to restart")
        return "resume"

    def claim(self, *, force: bool = False, resume: bool = False, inputs=()) -> str:
        """check(), then lock the directory (refusing a second writer) and clear it when starting anew."""
        state = self.check(force=force, resume=resume, inputs=inputs)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise runs.RunError(f"cannot create {self.path}: {e.strerror}") from None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise runs.RunError(f"another process is writing {self.path}; wait for it or choose another --out") \
                from None
        self._fd = fd
        if state == "new":
            for child in self.path.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
            runs.write_json(self.path / CLAIM, {"kind": self.kind})
        return state

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


# ---------------------------------------------------------------- run directories
def config_record(cfg: TrainConfig, device: torch.device | str) -> dict:
    import numpy

    return {"config": cfg.to_dict(), "versions": {"torch": torch.__version__, "numpy": numpy.__version__,
                                                  "python": platform.python_version()},
            "device": str(device), "threads": torch.get_num_threads()}


@dataclass
class ResumeState:
    """Everything a run needs to continue bit for bit: weights, optimizer moments, masks, a hook's state,
    the bias decay's state, the data generator, the step reached and the wall time spent so far."""

    params: dict[str, torch.Tensor]
    opt: dict[str, torch.Tensor]
    gen: torch.Tensor
    step: int
    wall_s: float
    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    hook: dict[str, torch.Tensor] = field(default_factory=dict)
    decay: dict[str, torch.Tensor] = field(default_factory=dict)

    def to_tensors(self) -> dict[str, torch.Tensor]:
        out = {f"param.{n}": p for n, p in self.params.items()}
        out.update({f"opt.{k}": v for k, v in self.opt.items()})
        out.update({f"mask.{n}": m for n, m in self.masks.items()})
        out.update({f"hook.{k}": v for k, v in self.hook.items()})
        out.update({f"decay.{k}": v for k, v in self.decay.items()})
        out["gen"] = self.gen
        out["step"] = torch.tensor(self.step, dtype=torch.int64)
        out["wall_s"] = torch.tensor(self.wall_s, dtype=torch.float64)
        return {k: v.detach().clone() for k, v in out.items()}

    @classmethod
    def from_tensors(cls, t: dict[str, torch.Tensor]) -> "ResumeState":
        def part(prefix):
            return {k[len(prefix):]: v for k, v in t.items() if k.startswith(prefix)}
        return cls(params=part("param."), opt=part("opt."), masks=part("mask."), hook=part("hook."),
                   decay=part("decay."), gen=t["gen"], step=int(t["step"]), wall_s=float(t["wall_s"]))


class RunDir:
    """The files of one run directory (see models.runs for the layout)."""

    def __init__(self, path: str | Path, kind: str = "run"):
        self.path = Path(path)
        self.lock = ResultDir(self.path, kind, runs.SUMMARY, runs.CONFIG)

    def check(self, cfg: TrainConfig, *, resume: bool = False, force: bool = False, inputs=()) -> bool:
        """Whether the run dir may be written for `cfg`, writing nothing; True when a saved state continues
        it. A resumed run must have the config and task tensors of the one that saved the state."""
        state = self.lock.check(resume=resume, force=force, inputs=inputs)
        if state == "finished":
            raise runs.RunError(f"run {self.path} is finished; pass --force to overwrite it")
        if state == "resume" and (self.path / runs.CONFIG).exists():
            stored = runs.read_config(self.path)
            if stored != cfg:
                diff = cfg.differs_in(stored)
                raise runs.RunError(f"--resume with a different config than {self.path}'s (differs in: "
                                    f"{', '.join(diff)})")
            if (self.path / runs.TASK).exists():
                runs.check_task(self.path, cfg)
        return state == "resume" and (self.path / runs.RESUME).exists()

    def claim(self, cfg: TrainConfig, *, resume: bool = False, force: bool = False, inputs=()) -> bool:
        """check(), then lock the run dir (and clear it when starting anew); True when resuming."""
        resuming = self.check(cfg, resume=resume, force=force, inputs=inputs)
        self.lock.claim(resume=resume, force=force, inputs=inputs)
        return resuming

    def release(self) -> None:
        self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def begin(self, cfg: TrainConfig, device, task_tensors: dict, init: dict) -> None:
        """The files a run has from step 0: config record, task tensors, initial weights (and masks)."""
        runs.write_json(self.path / runs.CONFIG, config_record(cfg, device))
        runs.write_tensors(self.path / runs.TASK, task_tensors)
        runs.write_tensors(self.path / runs.INIT, init)

    def write_checkpoint(self, step: int, params: dict[str, torch.Tensor]) -> None:
        runs.write_tensors(self.path / runs.CHECKPOINTS / f"step_{step:07d}.safetensors", params)

    def write_metrics(self, metrics: list[dict]) -> None:
        runs.write_metrics(self.path / runs.METRICS, metrics)

    def metrics_until(self, step: int) -> list[dict]:
        """The metrics logged up to a resume state at `step` (lines written after it are dropped)."""
        return [m for m in runs.read_metrics(self.path / runs.METRICS) if m["step"] <= step
                and not ("loss" in m and m["step"] >= step)]

    def save_state(self, state: ResumeState, metrics: list[dict]) -> None:
        self.write_metrics(metrics)
        runs.write_tensors(self.path / runs.RESUME, state.to_tensors())

    def resume_step(self) -> int:
        """The step a run would resume from: 0 without a saved state, -1 when it is unreadable (training it
        then reports the corrupt file)."""
        if not (self.path / runs.RESUME).exists():
            return 0
        try:
            return self.load_state().step
        except runs.RunError:
            return -1

    def load_state(self, like: dict[str, torch.Tensor] | None = None, steps: int | None = None) -> ResumeState:
        """The saved state; with `like` (the run's weights) and `steps`, checked to fit the run."""
        p = self.path / runs.RESUME
        t = runs.read_tensors(p)
        try:
            st = ResumeState.from_tensors(t)
        except (KeyError, RuntimeError, ValueError):
            raise runs.RunError(f"{p} is corrupt (missing or malformed entries)") from None
        bad = [n for n, w in (like or {}).items() if n not in st.params or st.params[n].shape != w.shape
               or st.params[n].dtype != w.dtype]
        if bad or (steps is not None and not 0 < st.step <= steps):
            raise runs.RunError(f"{p} does not fit this run ({'weights ' + ', '.join(bad) if bad else f'step {st.step}'})")
        return st

    def finish(self, tensors: dict[str, torch.Tensor], metrics: list[dict], summary: dict, plots=None,
               keep_state: bool = False) -> dict:
        """model.safetensors, metrics, plots (a callable of the run dir, or None), then summary.json last:
        its presence marks the run finished. keep_state keeps the resume state (saved at the last step) as
        final_state.safetensors, which `models extend` continues."""
        self.write_metrics(metrics)
        runs.write_tensors(self.path / runs.MODEL, tensors)
        if plots is not None:
            plots(self.path)
        if keep_state and (self.path / runs.RESUME).exists():
            os.replace(self.path / runs.RESUME, self.path / runs.FINAL_STATE)
        (self.path / runs.RESUME).unlink(missing_ok=True)
        runs.write_json(self.path / runs.SUMMARY, summary)
        return summary
