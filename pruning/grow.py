"""Sparse training at a fixed sparsity from the start: SET, RigL (Evci et al. defaults), or a static mask.

Masks start uniformly random with the exact per-layer counts of pruning.masks.layer_keep_counts. Every
`update_every` steps until end_fraction of training each layer drops the alpha_t fraction of its active
weights with the smallest magnitude and grows as many (RigL: largest dense gradient; SET: random); grown
weights start at zero with reset moments (docs/science.md). The Grower is train_run's after_step and
grad_hook; its generator and history are resume state; grow.json records every update.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from models import runs, seeds
from models.config import ConfigError, TrainConfig, require
from models.rundir import ResultDir

from .masks import DISTRIBUTIONS, PRUNABLE, first_k, layer_keep_counts, random_masks

METHODS = ("set", "rigl", "static")
DROP_SCHEDULES = ("cosine", "constant")
MOVES = ("dropped", "grown", "moved")  # what each update records per layer
GROW_JSON = "grow.json"
KIND = "grow"


@dataclass(frozen=True)
class GrowSettings:
    method: str = "rigl"
    sparsity: float = 0.9  # fraction of all W1 and W2 weights that are zero
    update_every: int = 100
    drop_fraction: float = 0.3
    drop_schedule: str = "cosine"
    end_fraction: float = 0.75  # no mask updates after this fraction of the steps
    distribution: str = "uniform"

    def __post_init__(self) -> None:
        for name in ("sparsity", "drop_fraction", "end_fraction"):
            v = getattr(self, name)
            require(isinstance(v, (int, float)) and v == v, f"--{name.replace('_', '-')} must be a number, got {v!r}")
        require(self.method in METHODS, f"unknown --method {self.method!r}; choose one of {', '.join(METHODS)}")
        require(0 <= self.sparsity < 1, f"--sparsity must be in [0, 1), got {self.sparsity}")
        require(isinstance(self.update_every, int) and self.update_every >= 1,
                f"--update-every must be a positive integer, got {self.update_every}")
        require(0 < self.drop_fraction <= 1, f"--drop-fraction must be in (0, 1], got {self.drop_fraction}")
        require(self.drop_schedule in DROP_SCHEDULES,
                f"unknown --drop-schedule {self.drop_schedule!r}; choose one of {', '.join(DROP_SCHEDULES)}")
        require(0 < self.end_fraction <= 1, f"--end-fraction must be in (0, 1], got {self.end_fraction}")
        require(self.distribution in DISTRIBUTIONS,
                f"unknown --distribution {self.distribution!r}; choose one of {', '.join(DISTRIBUTIONS)}")


def shapes_of(cfg: TrainConfig) -> dict[str, tuple[int, int]]:
    return {"W1": (cfg.k, cfg.d_embed), "W2": (cfg.out_dim, cfg.k)}


def initial_masks(settings: GrowSettings, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """Uniformly random masks with the distribution's exact per-layer counts (seeded by the run's seed)."""
    shapes = shapes_of(cfg)
    keep = layer_keep_counts(shapes, settings.sparsity, settings.distribution)
    gen = seeds.generator(cfg.seed, seeds.GROW_MASK)
    return random_masks(shapes, keep, gen)


class Grower:
    """after_step hook of train_run that drops and grows connections (see the module docstring)."""

    def __init__(self, settings: GrowSettings, cfg: TrainConfig, path: Path | None = None):
        self.s = settings
        self.t_end = math.floor(settings.end_fraction * cfg.steps)
        self.gen = seeds.generator(cfg.seed, seeds.GROW_SET)
        self.history: list[dict] = []
        self.path = path
        self.keep = layer_keep_counts(shapes_of(cfg), settings.sparsity, settings.distribution)
        self._dense: dict[str, torch.Tensor] | None = None
        self._written = False

    def is_update(self, done: int) -> bool:
        return self.s.method != "static" and done % self.s.update_every == 0 and done < self.t_end

    def alpha(self, done: int) -> float:
        if self.s.drop_schedule == "constant":
            return self.s.drop_fraction
        return self.s.drop_fraction / 2 * (1 + math.cos(math.pi * done / self.t_end))

    def grad_hook(self, step: int, params: dict[str, torch.Tensor]) -> None:
        """Keep the dense gradient of an update step's batch (train_step masks it right after)."""
        if self.s.method == "rigl" and self.is_update(step + 1):
            self._dense = {n: params[n].grad.detach().clone() for n in PRUNABLE}

    def __call__(self, done: int, params: dict[str, torch.Tensor], opt, masks: dict[str, torch.Tensor]) -> None:
        if not self.is_update(done):
            if not self._written:  # first step of this process: grow.json exists from here on
                self.write()
            return
        alpha = self.alpha(done)
        record = {"step": done, "drop_fraction": alpha}
        with torch.no_grad():
            for n in PRUNABLE:
                moved, k = self.update_layer(n, params[n], masks[n], opt, alpha)
                record[n] = dict(zip(MOVES, (k, k, moved)))
        self._dense = None
        self.history.append(record)
        self.write()

    def update_layer(self, name: str, w: torch.Tensor, mask: torch.Tensor, opt, alpha: float) -> tuple[int, int]:
        """Drop k = round(alpha * active) smallest-|w| active weights, grow k; returns (moved, k)."""
        active = int(mask.sum())
        k = min(active, math.floor(alpha * active + 0.5))
        flat_m = mask.flatten()
        inf = torch.tensor(float("inf"), device=w.device)
        drop = first_k(torch.where(flat_m, w.detach().abs().flatten(), inf), k)
        after_drop = flat_m & ~drop
        if self.s.method == "rigl":
            score = self._dense[name].abs().flatten().double()
        else:
            score = torch.rand(flat_m.numel(), generator=self.gen, dtype=torch.float64).to(w.device)
        score = torch.where(after_drop, torch.full_like(score, -1.0), score)
        grow = first_k(-score, k)  # the k largest scores among the candidates (ties to the lower index)
        new = (after_drop | grow).view_as(mask)
        changed = new ^ mask
        w.masked_fill_(changed, 0.0)  # grown start at zero; dropped are zero from now on
        opt.exp_avg[name].masked_fill_(changed, 0.0)
        opt.exp_avg_sq[name].masked_fill_(changed, 0.0)
        moved = int((new & ~mask).sum())
        mask.copy_(new)
        return moved, k

    def state_tensors(self) -> dict[str, torch.Tensor]:
        rows = [[h["step"], h["drop_fraction"], *(h[n][f] for n in PRUNABLE for f in MOVES)] for h in self.history]
        return {"gen": self.gen.get_state(),
                "history": torch.tensor(rows, dtype=torch.float64).reshape(len(rows), 8)}

    def load_state_tensors(self, state: dict[str, torch.Tensor]) -> None:
        self.gen.set_state(state["gen"])
        self.history = []
        for r in state["history"].tolist():
            h = {"step": int(r[0]), "drop_fraction": r[1]}
            for i, n in enumerate(PRUNABLE):
                h[n] = {f: int(r[2 + 3 * i + j]) for j, f in enumerate(MOVES)}
            self.history.append(h)

    def record(self) -> dict:
        total = sum(self.keep.values())
        return {"method": self.s.method, "settings": asdict(self.s), "keep": self.keep,
                "remaining": total, "t_end": self.t_end, "updates": len(self.history), "history": self.history}

    def write(self) -> None:
        if self.path is not None:
            runs.write_json(self.path / GROW_JSON, self.record())
        self._written = True


def check_grow_out(settings: GrowSettings, cfg: TrainConfig, out: str | Path) -> str:
    """'new', 'resume' or 'finished' for OUT, or a one-line error when OUT holds something else or a grow
    run of other settings or another recipe."""
    out = Path(out)
    state = ResultDir(out, KIND, runs.SUMMARY, GROW_JSON).check(resume=True)
    if state == "new" or not (out / GROW_JSON).exists():
        return state  # killed before its first step wrote grow.json: train_run checks the recipe
    rec = runs.read_json(out / GROW_JSON)
    old = rec.get("settings") if isinstance(rec, dict) else None
    if old != asdict(settings):
        diff = [k for k, v in asdict(settings).items() if not isinstance(old, dict) or old.get(k) != v]
        raise ConfigError(f"{out} holds a grow run with other settings (differs in: {', '.join(diff)}); "
                          f"use a new --out")
    stored = runs.read_config(out)
    if stored != cfg:
        diff = cfg.differs_in(stored)
        raise ConfigError(f"{out} holds a grow run of another recipe (differs in: {', '.join(diff)}); use a new --out")
    return state


def run_grow(settings: GrowSettings, cfg: TrainConfig, out: str | Path, *,
             on_progress: Callable[[int, float | None, int | None], None] | None = None,
             stop_after: int | None = None, plots: bool | str = True) -> dict:
    """Train one sparse run into OUT (a run dir plus grow.json); resumes an unfinished one, skips a finished
    one. Returns its summary ({} when stopped early)."""
    from models.train import train_run

    out = Path(out)
    if check_grow_out(settings, cfg, out) == "finished":
        return runs.read_summary(out)
    grower = Grower(settings, cfg, out)
    masks = initial_masks(settings, cfg)
    return train_run(cfg, out, resume=True, masks=masks, on_progress=on_progress, stop_after=stop_after,
                     grad_hook=grower.grad_hook, after_step=grower, kind=KIND, plots=plots)


def load_grow(out: str | Path) -> dict:
    path = Path(out) / GROW_JSON
    if not path.exists():
        raise runs.RunError(f"{out} is not a grow run (no {GROW_JSON})")
    rec = runs.read_json(path)
    if not (isinstance(rec, dict) and rec.get("method") in METHODS and isinstance(rec.get("history"), list)):
        raise runs.RunError(f"{path} is corrupt (want method, settings and history)")
    return rec
