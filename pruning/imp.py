"""Iterative magnitude pruning (Frankle & Carbin; open_lth's habits): every level a run directory.

OUT/imp.json (method, settings, level-0 recipe), OUT/level_NN (run dirs; masks in model.safetensors),
OUT/levels.json (a row per finished level). Level r keeps keep(n, rate, r) weights by magnitude among
level r-1's survivors, rewound to level 0's init, or to its checkpoint at --rewind STEP from where level
0's schedule and data order continue (as open_lth). Controls follow an IMP directory (the "ticket").
"""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable

import torch

from models import runs, seeds
from models.config import ConfigError, TrainConfig, require
from models.model import init_params
from models.rundir import ResultDir
from models.train import is_checkpoint

from .masks import PRUNABLE, SCOPES, counts, level_keep, magnitude_prune, ones_like, random_masks, sparsity_record

METHODS = ("imp", "reinit", "random-mask")
CONTROLS = ("none", "reinit", "random-mask")
IMP_JSON, LEVELS_JSON = "imp.json", "levels.json"
MAX_ROUNDS = 64  # at rate 0.2, 64 rounds keep 6e-7 of the weights
LEVEL_KIND = "imp-level"  # what a level's claim records: only IMP continues or replaces it
LEVEL_SUMMARY = ("final_loss", "mono_count", "dead_count", "mono_per_N", "mono_per_k", "feature_histogram",
                 "mono_per_feature")  # what levels.json keeps of each level's summary


@dataclass(frozen=True)
class ImpSettings:
    rounds: int = 10
    rate: float = 0.2
    rate_out: float | None = None  # W2's own rate (layer scope only); None: the same as W1's
    scope: str = "layer"
    rewind: str | int = "init"  # "init", or a checkpoint step of level 0 (a power of two)
    control: str = "none"

    def __post_init__(self) -> None:
        require(isinstance(self.rounds, int) and 1 <= self.rounds <= MAX_ROUNDS,
                f"--rounds must be in [1, {MAX_ROUNDS}], got {self.rounds}")
        require(0 < self.rate < 1, f"--rate must be in (0, 1), got {self.rate}")
        require(self.rate_out is None or 0 < self.rate_out < 1, f"--rate-out must be in (0, 1), got {self.rate_out}")
        require(self.scope in SCOPES, f"unknown --scope {self.scope!r}; choose one of {', '.join(SCOPES)}")
        require(self.rate_out is None or self.scope == "layer",
                "--rate-out needs --scope layer (a global pool has one rate)")
        require(self.control in CONTROLS, f"unknown --control {self.control!r}; choose one of {', '.join(CONTROLS)}")
        require(self.rewind == "init" or (isinstance(self.rewind, int) and is_checkpoint(self.rewind)),
                f"--rewind must be 'init' or a checkpoint step (a power of two: 1, 2, 4, ...), got {self.rewind!r}")

    @property
    def method(self) -> str:
        return "imp" if self.control == "none" else self.control


def parse_rewind(text: str) -> str | int:
    if text == "init":
        return "init"
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"--rewind must be 'init' or a checkpoint step, got {text!r}") from None


def level_dir(out: Path, level: int) -> Path:
    return Path(out) / f"level_{level:02d}"


@dataclass
class ImpPlan:
    """Everything run_imp needs, checked before anything is written."""

    settings: ImpSettings
    out: Path
    config: TrainConfig  # the level-0 recipe every level retrains with
    source: Path | None  # a finished dense run to copy as level 0, or None: train level 0 here
    ticket: Path | None  # the IMP directory a control follows
    plots: bool | str = True  # each level's training and sfa figures (True: png, or a format)

    def record(self) -> dict:
        return {"method": self.settings.method, "settings": asdict(self.settings), "config": self.config.to_dict(),
                "source": None if self.source is None else str(self.source),
                "ticket": None if self.ticket is None else str(self.ticket)}


def plan_imp(settings: ImpSettings, out: str | Path, *, run: str | Path | None = None,
             config: TrainConfig | None = None, ticket: str | Path | None = None,
             rounds_from_ticket: bool = False, plots: bool | str = True) -> ImpPlan:
    """Validate the inputs (run dirs, rewind step, an existing OUT) without writing anything.

    Exactly one start: `run` (a finished dense run), `config` (train level 0 here), or, for a control,
    `ticket` (an IMP directory: level 0, the recipe and the settings come from it; with
    rounds_from_ticket its number of rounds too)."""
    source = None
    if settings.control != "none":
        if ticket is None:
            raise ConfigError(f"--control {settings.control} needs --ticket IMPDIR (the IMP whose masks it controls)")
        if run is not None:
            raise ConfigError("with --control the dense start is the ticket's level_00; give no RUN")
        ticket = Path(ticket)
        settings, source, config = _follow_ticket(settings, ticket, rounds_from_ticket)
    elif ticket is not None:
        raise ConfigError("--ticket is only for --control reinit or random-mask")
    elif run is not None:
        if config is not None:
            raise ConfigError("train flags apply only when no RUN is given (level 0 is then trained here)")
        source, config = _dense_start(run, settings.rewind)
    elif config is None:
        raise ConfigError("give a dense RUN to prune, or train flags (e.g. --preset cpu-small) to train level 0")
    if settings.rewind != "init" and settings.rewind > config.steps:
        raise ConfigError(f"--rewind {settings.rewind} is past the recipe's {config.steps} steps")
    plan = ImpPlan(settings, Path(out), config, source, ticket, plots)
    _check_out(plan)
    return plan


def _follow_ticket(settings: ImpSettings, ticket: Path, rounds_from_ticket: bool
                   ) -> tuple[ImpSettings, Path, TrainConfig]:
    """A control's settings (the ticket's, with the control's rounds), its level 0 and recipe; every level
    it follows is read before anything trains."""
    rec, t, config = read_record(ticket)
    if rec["method"] != "imp":
        raise runs.RunError(f"{ticket} is a {rec['method']} control, not an IMP directory")
    rounds = t.rounds if rounds_from_ticket else settings.rounds
    if rounds > t.rounds:
        raise ConfigError(f"--rounds {rounds} exceeds the ticket's {t.rounds}")
    source = level_dir(ticket, 0)
    _load_dense(source)
    followed = [_ticket_level(ticket, r) for r in range(1, rounds + 1)]  # all finished, then each read
    for d in followed:
        runs.load_run(d)
    return replace(t, rounds=rounds, control=settings.control), source, config


def _ticket_level(ticket: Path, level: int) -> Path:
    """The ticket's level `level`, refused unless finished."""
    d = level_dir(ticket, level)
    if not runs.is_finished(d):
        raise runs.RunError(f"the ticket's level {level} ({d}) is not finished: run its IMP first")
    return d


def _dense_start(run: str | Path, rewind: str | int) -> tuple[Path, TrainConfig]:
    """A finished dense run to prune: its path and recipe, with a checkpoint at the rewind step."""
    dense = _load_dense(run)
    if rewind != "init":
        from models.model import check_shapes

        if rewind not in dense.checkpoint_steps():
            raise runs.RunError(f"--rewind {rewind}: {dense.path} has no checkpoint at that step "
                                f"(it has {', '.join(map(str, dense.checkpoint_steps()))})")
        try:
            check_shapes(dense.checkpoint(rewind), dense.config.d_embed, dense.config.k, dense.config.out_dim)
        except ValueError as e:
            raise runs.RunError(f"{dense.path} checkpoint {rewind}: {e}") from None
    return dense.path, dense.config


def _load_dense(run: str | Path) -> runs.Run:
    r = runs.load_run(run)
    if any(not bool(m.all()) for n, m in r.extra.items() if n.startswith("mask.")):
        raise runs.RunError(f"{r.path} is already pruned (its model holds masks); start from a dense run")
    return r


def read_record(out: Path) -> tuple[dict, ImpSettings, TrainConfig]:
    """imp.json of an IMP or control directory, read strictly: (record, settings, level-0 recipe)."""
    path = Path(out) / IMP_JSON
    if not path.exists():
        raise runs.RunError(f"{out} is not an IMP directory (no {IMP_JSON})")
    rec = runs.read_json(path)
    if not (isinstance(rec, dict) and rec.get("method") in METHODS and isinstance(rec.get("settings"), dict)
            and isinstance(rec.get("config"), dict)):
        raise runs.RunError(f"{path} is corrupt (want method, settings and config)")
    try:
        return rec, ImpSettings(**rec["settings"]), TrainConfig.from_dict(rec["config"], strict=True)
    except (ConfigError, TypeError) as e:
        raise runs.RunError(f"{path} is corrupt: {e}") from None


def claim(plan: ImpPlan) -> ResultDir:
    """The plan's OUT as a result directory of kind imp (an IMP is extended, never finished)."""
    return ResultDir(plan.out, "imp", None, IMP_JSON)


def _check_out(plan: ImpPlan) -> None:
    out = plan.out
    inputs = [p for p in (plan.source, plan.ticket) if p is not None]
    if claim(plan).check(resume=True, inputs=inputs) == "new":
        return
    if not (out / IMP_JSON).exists():
        return  # claimed, killed before its record: starts afresh
    (old, _, _), new = read_record(out), plan.record()
    # the same IMP with more (or fewer) rounds reuses its finished levels; anything else is refused
    same = {**new["settings"], "rounds": None} == {**old.get("settings", {}), "rounds": None}
    diff = [k for k, ok in (("method", old.get("method") == new["method"]), ("settings", same),
                            ("config", _same_config(old.get("config"), plan.config))) if not ok]
    if diff:
        raise ConfigError(f"{out} holds a {old.get('method')} run with other {' and '.join(diff)}; "
                          f"use a new --out (or the same flags to resume it)")


def _same_config(stored: dict | None, cfg: TrainConfig) -> bool:
    try:
        return TrainConfig.from_dict(stored or {}) == cfg  # `preset` is not compared: only the values
    except (ConfigError, TypeError):
        return False


def rewind_weights(level0: runs.Run, rewind: str | int) -> dict[str, torch.Tensor]:
    """The weights every level restarts from: level 0's init, or its checkpoint at step `rewind`."""
    return dict(level0.init if rewind == "init" else level0.checkpoint(rewind))


def fresh_init(cfg: TrainConfig, level: int) -> dict[str, torch.Tensor]:
    """The reinit control's init for `level`: the recipe's init distribution from a stream of its own."""
    gen = seeds.generator(cfg.seed, seeds.CONTROL * 1009 + level)
    params = init_params(cfg, gen)
    if cfg.bias_init == "data":
        from models.tasks import Task
        from models.train import data_bias

        params["b1"] = data_bias(params, Task(cfg), cfg)
    return params


def _control_gen(cfg: TrainConfig, level: int) -> torch.Generator:
    return seeds.generator(cfg.seed, seeds.CONTROL * 2003 + level)


def run_masks(run: runs.Run) -> dict[str, torch.Tensor]:
    """The masks a run trained under (all-True for a dense run)."""
    dense = ones_like(run.params)
    return {n: run.extra.get(f"mask.{n}", dense[n]).bool() for n in PRUNABLE}


def level_masks(plan: ImpPlan, level: int) -> dict[str, torch.Tensor]:
    """The mask level `level` trains under (level >= 1)."""
    s, out = plan.settings, plan.out
    if s.control == "none":
        prev = runs.load_run(level_dir(out, level - 1))
        shapes = {n: tuple(prev.params[n].shape) for n in PRUNABLE}
        keep = level_keep(shapes, level, s.rate, s.rate_out, s.scope)
        return magnitude_prune(prev.params, run_masks(prev), keep)
    tmask = run_masks(runs.load_run(_ticket_level(plan.ticket, level)))
    if s.control == "reinit":
        return tmask
    shapes = {n: tuple(tmask[n].shape) for n in PRUNABLE}
    return random_masks(shapes, counts(tmask), _control_gen(plan.config, level))


def level_row(level: int, run_dir: Path) -> dict:
    """A row of levels.json from a finished level's summary and masks."""
    run = runs.load_run(run_dir)
    return {"level": level, "run": run_dir.name, **sparsity_record(run_masks(run)),
            **{key: run.summary.get(key) for key in LEVEL_SUMMARY}}


def write_levels(plan: ImpPlan, rows: list[dict]) -> None:
    runs.write_json(plan.out / LEVELS_JSON, {"method": plan.settings.method, "settings": asdict(plan.settings),
                                             "n_features": plan.config.n_features, "k": plan.config.k,
                                             "levels": rows})


def _copy_run(src: Path, dst: Path) -> None:
    """Copy a finished run dir to dst via a temporary name, so dst is complete or absent."""
    tmp = dst.with_name(f".{dst.name}.copy")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp)
    for name in (runs.RESUME, runs.FINAL_STATE):  # level 0 is the dense result, not a run to continue
        (tmp / name).unlink(missing_ok=True)
    tmp.rename(dst)


def run_imp(plan: ImpPlan, *, on_level: Callable[[int, str], None] | None = None,
            on_progress: Callable[[int, int, float | None, int | None], None] | None = None,
            stop: tuple[int, int] | None = None) -> list[dict]:
    """Run (or resume) every level of the plan; returns the rows of levels.json.

    on_level(level, status) reports "skipped" (finished before), "trained" or "copied"; on_progress(level,
    step, loss, mono) passes train_run's progress on; stop=(level, step) ends the work inside that
    level after `step` updates with its state saved (tests of resuming)."""
    _check_out(plan)
    with claim(plan) as rd:
        rd.claim(resume=True)
        runs.write_json(plan.out / IMP_JSON, plan.record())
        return _run_levels(plan, on_level, on_progress, stop)


def _run_levels(plan: ImpPlan, on_level, on_progress, stop) -> list[dict]:
    rows: list[dict] = []
    base = None  # the weights levels 1.. restart from, once level 0 is done
    for level in range(plan.settings.rounds + 1):
        d = level_dir(plan.out, level)
        status = "skipped" if runs.is_finished(d) else _make_level(plan, level, base, on_progress, stop)
        if status is None:  # stopped inside this level, its state saved
            return rows
        rows.append(level_row(level, d))
        write_levels(plan, rows)
        if on_level:
            on_level(level, status)
        if level == 0:
            base = rewind_weights(runs.load_run(d), plan.settings.rewind)
    return rows


def _make_level(plan: ImpPlan, level: int, base, on_progress, stop) -> str | None:
    """Copy the dense source as level 0, or train the level: "copied", "trained", or None when stopped."""
    from models.train import train_run

    s, d = plan.settings, level_dir(plan.out, level)
    if level == 0 and plan.source is not None:
        if d.exists():
            shutil.rmtree(d)
        _copy_run(plan.source, d)
        runs.write_json(d / runs.CLAIM, {"kind": LEVEL_KIND})
        return "copied"
    start = {}
    if level > 0:
        masks = level_masks(plan, level)
        start = dict(masks=masks, start_params=fresh_init(plan.config, level) if s.control == "reinit" else base,
                     start_step=0 if s.rewind == "init" else s.rewind)
    report = None if on_progress is None else partial(on_progress, level)
    summary = train_run(plan.config, d, resume=True, on_progress=report, plots=plan.plots, kind=LEVEL_KIND,
                        stop_after=stop[1] if stop and stop[0] == level else None, **start)
    return "trained" if summary else None


def load_levels(out: str | Path) -> dict:
    """levels.json of an IMP or control directory (what neurons and compare read)."""
    path = Path(out) / LEVELS_JSON
    if not path.exists():
        raise runs.RunError(f"{out} has no {LEVELS_JSON}: not an IMP directory, or no level has finished")
    data = runs.read_json(path)
    rows = data.get("levels") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("level"), int) and
                                             isinstance(r.get("run"), str) and "/" not in r["run"] for r in rows):
        raise runs.RunError(f"{path} is corrupt (want a list of levels, each with its level and run)")
    return data
