"""Monosemanticity and loss against sparsity across methods: IMP and its controls, SET, RigL, static.

Inputs are IMP or control directories (level 0 a dense reference), grow runs, sets of either, or plain
finished runs (dense references). Points are grouped by method (and width where k differs) and by their
exact count of remaining weights, equal across seeds by the sparsity law; each group gives mean and range.
"""
from __future__ import annotations

from pathlib import Path

from models import runs

from .masks import sparsity_record
from .grow import GROW_JSON, load_grow
from .imp import LEVELS_JSON, load_levels, run_masks

METHOD_ORDER = ("imp", "reinit", "random-mask", "rigl", "set", "static", "dense")
FIELDS = ("mono_per_N", "final_loss", "dead_per_k")


def _point(method: str, run_dir: Path, level: int | None = None) -> dict:
    run = runs.load_run(run_dir)
    rec = sparsity_record(run_masks(run))
    s, cfg = run.summary, run.config
    return {"method": method, "k": cfg.k, "seed": cfg.seed, "level": level, "run": str(run_dir),
            "remaining": rec["remaining"], "remaining_fraction": rec["remaining_fraction"],
            "sparsity": rec["sparsity"], "final_loss": s.get("final_loss"), "mono_per_N": s.get("mono_per_N"),
            "dead_per_k": None if s.get("dead_count") is None else s["dead_count"] / cfg.k,
            "config": cfg.to_dict()}


def collect(dirs: list[str | Path]) -> list[dict]:
    """One point per finished run found in the inputs (dense references have method 'dense')."""
    from .fanout import members

    points = []
    dirs = [m for d in map(Path, dirs) for m in members(d)]
    for d in dirs:
        if not d.is_dir():
            raise runs.RunError(f"no directory {d}")
        if (d / LEVELS_JSON).exists():
            data = load_levels(d)
            for row in data["levels"]:
                method = "dense" if row["level"] == 0 else data["method"]
                points.append(_point(method, d / row["run"], row["level"]))
        elif (d / GROW_JSON).exists():
            method = load_grow(d)["method"]
            if not runs.is_finished(d):
                raise runs.RunError(f"grow run {d} is unfinished; rerun its `prune grow` to finish it")
            points.append(_point(method, d))
        elif (d / runs.CONFIG).exists():
            p = _point("dense", d)
            if p["sparsity"] > 0:
                raise runs.RunError(f"{d} is a masked run outside an IMP or grow directory; give its directory")
            points.append(p)
        else:
            raise runs.RunError(f"{d} is not an IMP, control, grow or run directory")
    if not points:
        raise runs.RunError("no finished runs in the inputs")
    seen, unique = set(), []
    for p in points:  # a control's level_00 is a copy of its ticket's: count each dense run once
        key = (repr(sorted(p["config"].items())), p["final_loss"], p["remaining"])
        if p["method"] != "dense" or key not in seen:
            unique.append(p)
            seen.add(key)
    points = unique
    tasks = {tuple(sorted((k, v) for k, v in p["config"].items() if k in ("task", "n_features", "d_embed", "eps",
                                                                             "freq", "task_seed"))) for p in points}
    if len(tasks) > 1:
        raise runs.RunError("the inputs are runs of different tasks; compare runs of one task")
    return points


def _stats(vals: list[float]) -> dict | None:
    vals = [v for v in vals if v is not None]
    return {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals), "n": len(vals)} if vals else None


def label_of(p: dict, widths: set[int]) -> str:
    return p["method"] + (f" k={p['k']}" if len(widths) > 1 else "")


def aggregate(points: list[dict]) -> list[dict]:
    """Per (label, remaining count): mean / min / max over runs of mono/N, eval loss and dead/k."""
    widths = {p["k"] for p in points}
    groups: dict[tuple[str, int], list[dict]] = {}
    for p in points:
        groups.setdefault((label_of(p, widths), p["remaining"]), []).append(p)
    out = []
    for (label, remaining), ps in groups.items():
        row = {"label": label, "method": ps[0]["method"], "k": ps[0]["k"], "remaining": remaining,
               "remaining_fraction": ps[0]["remaining_fraction"], "sparsity": ps[0]["sparsity"],
               "seeds": sorted(p["seed"] for p in ps), "runs": [p["run"] for p in ps]}
        for f in FIELDS:
            row[f] = _stats([p[f] for p in ps])
        out.append(row)

    def key(r):
        m = r["method"]
        return (METHOD_ORDER.index(m) if m in METHOD_ORDER else len(METHOD_ORDER), r["label"], -r["remaining"])
    return sorted(out, key=key)


def compare(dirs: list[str | Path], x: str = "fraction") -> tuple[list[dict], dict, dict]:
    """The aggregated rows and the FILE.json record (every point) of a comparison of pruning outputs."""
    if x not in ("fraction", "count"):
        raise runs.RunError(f"--x must be 'fraction' or 'count', got {x!r}")
    points = collect(dirs)
    rows = aggregate(points)
    record = {"inputs": [str(d) for d in dirs], "x": x, "rows": rows,
              "points": [{k: v for k, v in p.items() if k != "config"} for p in points]}
    return rows, record, points[0]["config"]
