"""Sweeps: grids of hyperparameters -> cells -> run dirs, trained through models.executor.

A cell is a TrainConfig; its run dir is OUT/<axis=value__...__seed=S>. Finished cells are skipped (their
config checked) and unfinished ones resumed, so a killed sweep simply runs again. `--zip` axes move
together; `--grid` axes form a cartesian product.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import runs
from .config import ConfigError, TrainConfig, coerce, fmt_value, require

SWEEP_JSON = "sweep.json"
MAX_INSTANCES = 1024


@dataclass(frozen=True)
class Cell:
    name: str
    values: dict  # the swept values (without seed)
    config: TrainConfig


def parse_axis(spec: str) -> tuple[str, list]:
    """'lr=0.003,0.03' -> ('lr', [0.003, 0.03])."""
    if "=" not in spec:
        raise ConfigError(f"axis {spec!r} must look like name=v1,v2")
    name, vals = spec.split("=", 1)
    name = name.strip().replace("-", "_")
    items = [v.strip() for v in vals.split(",") if v.strip()]
    if not items:
        raise ConfigError(f"axis {name!r} has no values")
    return name, [coerce(name, v) for v in items]


def expand(base: TrainConfig, grid: list[str], zipped: list[str], seeds: list[int]) -> list[Cell]:
    """Cells of the product of the grid axes, the zipped group, and the seeds."""
    axes = [parse_axis(g) for g in grid]
    zaxes = [parse_axis(z) for z in zipped]
    if zaxes and len({len(v) for _, v in zaxes}) != 1:
        raise ConfigError("all --zip axes must have the same number of values")
    names = [n for n, _ in axes] + [n for n, _ in zaxes]
    if len(set(names)) != len(names) or "seed" in names:
        raise ConfigError("each hyperparameter may appear on one axis only (seeds go in --seeds)")
    zrows = list(zip(*[v for _, v in zaxes])) if zaxes else [()]
    cells = []
    for combo in itertools.product(*[v for _, v in axes]):
        for zrow in zrows:
            values = dict(zip([n for n, _ in axes], combo)) | dict(zip([n for n, _ in zaxes], zrow))
            for seed in seeds:
                cfg = base.replace(**values, seed=seed)
                name = "__".join([f"{k}={fmt_value(v)}" for k, v in values.items()] + [f"seed={seed}"])
                cells.append(Cell(name=name, values=values, config=cfg))
    return cells


def _train_cells(items: list[tuple[TrainConfig, str]], plots: bool | str = True) -> list[dict]:
    """One executor item: a lone cell through train_run, several as instances of one batched model."""
    if len(items) == 1:
        from .train import train_run

        cfg, run_dir = items[0]
        return [train_run(cfg, run_dir, resume=True, plots=plots)]
    from .batched import train_batched

    return train_batched([c for c, _ in items], [d for _, d in items], resume=True, plots=plots)


def group_cells(items: list[tuple[TrainConfig, str]], instances: int) -> list[list[tuple[TrainConfig, str]]]:
    """Executor items: cells that can share a batched model (equal shapes and loop, standing at the same
    resume step) in groups of at most `instances`; every cell alone when instances is 1."""
    if instances <= 1:
        return [[it] for it in items]
    from .batched import batch_key
    from .rundir import RunDir

    groups: dict[tuple, list] = {}
    for cfg, run_dir in items:
        groups.setdefault((batch_key(cfg), RunDir(run_dir).resume_step()), []).append((cfg, run_dir))
    return [g[i:i + instances] for g in groups.values() for i in range(0, len(g), instances)]


def run_sweep(cells: list[Cell], out: Path, workers: int = 2,
              on_cell: Callable[[Cell, str], None] | None = None, backend: str = "local",
              address: str | None = None, gpus_per_run: float | None = None, max_retries: int = 1,
              instances: int = 1, plots: bool | str = True, title: str | None = None) -> list[dict]:
    """Train every unfinished cell through the executor of `backend` (models.executor); returns the sweep
    table (also written to OUT/sweep.json) and, with plots, draws sweep.png and curves.png. With Ray a
    failed cell is retried up to max_retries times. instances > 1 trains up to that many equal-shape cells
    as one batched model per executor item (models.batched)."""
    from .executor import check_backend

    from .rundir import ResultDir

    check_backend(backend, workers, address, gpus_per_run, max_retries)
    runs.plot_format(plots)
    require(1 <= instances <= MAX_INSTANCES, f"--instances must be in [1, {MAX_INSTANCES}], got {instances}")
    out = Path(out)
    check_cells(cells, out)
    with ResultDir(out, "sweep", None, SWEEP_JSON, members={c.name for c in cells}) as claim:
        claim.claim(resume=True)
        table = _run_cells(cells, out, workers, on_cell, backend, address, gpus_per_run, max_retries, instances, plots)
        if plots and any(r["state"] == "finished" for r in table):
            sweep_figures(cells, table, out, title, runs.plot_format(plots))
        return table


def check_cells(cells: list[Cell], out: Path) -> None:
    """Refuse, before anything trains, cells whose names collide or whose finished run dir holds another
    config than the cell's (a rerun with other flags must not report the old runs as the new ones)."""
    names = [c.name for c in cells]
    dup = sorted({n for n in names if names.count(n) > 1})
    require(not dup, f"two cells share the name {dup[0] if dup else ''}: give each value once")
    for c in cells:
        d = Path(out) / c.name
        if runs.is_finished(d):
            stored = runs.read_config(d)
            if stored != c.config:
                diff = c.config.differs_in(stored)
                raise ConfigError(f"{d} is finished with another config (differs in: {', '.join(diff)}); "
                                  f"use a new --out for these settings")


def sweep_figures(cells: list[Cell], table: list[dict], out: Path, title: str | None = None,
                  fmt: str = "png") -> None:
    """OUT/sweep.FMT (final numbers against the first axis) and OUT/curves.FMT (training curves per cell)."""
    from .plots import describe, sweep_curves_plot, sweep_plot

    axes = list(cells[0].values) if cells else []
    title = title or f"{Path(out).name}: {describe(cells[0].config, swept=axes)}"
    sweep_plot(aggregate(table, axes or ["seed"]), axes or ["seed"], Path(out) / f"sweep.{fmt}", title=title)
    sweep_curves_plot(curves(cells, out), Path(out) / f"curves.{fmt}", title=title)


def _run_cells(cells, out, workers, on_cell, backend, address, gpus_per_run, max_retries, instances,
               plots) -> list[dict]:
    import functools

    from .executor import make_executor, one_line

    todo = {c.name: c for c in cells if not runs.is_finished(out / c.name)}
    errors: dict[str, str] = {}
    t0 = time.perf_counter()
    axes = list(cells[0].values) if cells else []
    runs.write_json(out / SWEEP_JSON, {"cells": sweep_table(cells, out), "wall_s": None, "axes": axes})
    if todo:
        root = out.resolve()  # absolute: a Ray worker on another node (or in another cwd) sees the same path
        with make_executor(backend, workers, address, gpus_per_run, max_retries) as ex:
            items = group_cells([(c.config, str(root / c.name)) for c in todo.values()], instances)
            for group, _, err in ex.map_unordered(functools.partial(_train_cells, plots=plots), items):
                for _, run_dir in group:
                    cell = todo[Path(run_dir).name]
                    if err is not None:  # a failed cell (or batch) is reported, the others go on
                        errors[cell.name] = one_line(err)
                    if on_cell:
                        on_cell(cell, "failed" if err is not None else "done")
    table = sweep_table(cells, out, errors)
    # wall_s: this invocation's time (a resumed sweep counts only what it ran)
    runs.write_json(out / SWEEP_JSON, {"cells": table, "wall_s": time.perf_counter() - t0, "axes": axes})
    return table


def sweep_table(cells: list[Cell], out: Path, errors: dict[str, str] | None = None) -> list[dict]:
    errors = errors or {}
    return [_row({"name": c.name, **c.values, "seed": c.config.seed}, out / c.name, errors.get(c.name))
            for c in cells]


def _row(row: dict, d: Path, error: str | None = None) -> dict:
    """A sweep-table row: the cell's swept values plus what its run dir reports now."""
    row = {k: v for k, v in row.items() if k in ("name", "seed") or k not in _REPORTED}
    if runs.is_finished(d):
        s = runs.read_summary(d)
        row.update(state="finished", **{k: s.get(k) for k in _SUMMARY_FIELDS})
        row["dead_per_k"] = None if s.get("dead_count") is None else s["dead_count"] / runs.read_config(d).k
        row.update(runs.convergence(runs.read_metrics(d / runs.METRICS)))
    else:
        row["state"] = "failed" if error else "unfinished"
        if error:
            row["error"] = error
    return row


_SUMMARY_FIELDS = ("final_loss", "mono_count", "mono_per_N", "mono_per_k", "dead_count", "mean_bias", "wall_s")
_CONVERGENCE = ("loss_rel_change_last_eighth", "mono_change_last_doubling", "dead_change_last_doubling")
_REPORTED = set(_SUMMARY_FIELDS) | set(_CONVERGENCE) | {"state", "error", "dead_per_k"}
_AGGREGATED = ("final_loss", "mono_per_N", "mono_per_k", "dead_count", "dead_per_k", "mean_bias", *_CONVERGENCE)


def load_sweep(out: Path) -> dict:
    """sweep.json, with every row re-read from its run dir (so a table reflects the runs as they are)."""
    p = Path(out) / SWEEP_JSON
    if not p.exists():
        raise runs.RunError(f"{out} is not a sweep directory (no {SWEEP_JSON})")
    sw = runs.read_json(p)
    ok = isinstance(sw, dict) and isinstance(sw.get("cells"), list) and isinstance(sw.get("axes", []), list) and all(
        isinstance(r, dict) and isinstance(r.get("name"), str) and "/" not in r["name"] for r in sw["cells"])
    if not ok:
        raise runs.RunError(f"{p} is corrupt (want {{'cells': [{{'name': ...}}, ...], 'axes': [...]}})")
    sw["cells"] = [_row(r, Path(out) / r["name"], r.get("error")) for r in sw["cells"]]
    return sw


def curves(cells: list[Cell], out: Path) -> list[tuple[str, list[list[dict]], int]]:
    """Per cell (swept values), the metrics of each finished seed: the input of the curves plot."""
    groups: dict[str, tuple[list[list[dict]], int]] = {}
    for c in cells:
        d = Path(out) / c.name
        if runs.is_finished(d):
            label = ", ".join(f"{k}={fmt_value(v)}" for k, v in c.values.items()) or "all"
            groups.setdefault(label, ([], c.config.n_features))[0].append(runs.read_metrics(d / runs.METRICS))
    return [(label, ms, n) for label, (ms, n) in groups.items()]


def aggregate(table: list[dict], axes: list[str]) -> list[dict]:
    """Per cell (the swept values), mean / min / max over seeds of the reported numbers."""
    groups: dict[tuple, list[dict]] = {}
    for r in table:
        if r.get("state") == "finished":
            groups.setdefault(tuple(r[a] for a in axes), []).append(r)
    out = []
    for key, rows in groups.items():
        agg = dict(zip(axes, key), seeds=len(rows))
        for f in _AGGREGATED:
            vals = [r[f] for r in rows if r.get(f) is not None]
            if vals:
                agg[f] = {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals)}
        out.append(agg)
    return out
