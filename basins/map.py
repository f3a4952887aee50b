"""Which runs share a basin? Aligned barriers for every pair -> a graph -> connected components.

Each run's endpoint loss is computed once; each pair costs one weight matching plus the interior points
of the straight path on a fixed draw of eval_size samples from the task's eval stream, shared by all runs
of the task. An edge joins two runs
whose relative aligned barrier (barrier / mean endpoint loss) is below `tol`; a component is a basin.
"""
from __future__ import annotations

import contextlib
import itertools
from pathlib import Path

import numpy as np

from models.runs import Run

from .align import align, check_compatible, permute
from .interpolate import barriers, on_device, path_losses

SKIP_FIELDS = {"seed", "preset", "device"}


def differing_fields(runs: list[Run]) -> list[str]:
    """Config fields that take more than one value across the runs (the seed is reported apart)."""
    dicts = [r.config.to_dict() for r in runs]
    return [k for k in dicts[0] if k not in SKIP_FIELDS and len({repr(d.get(k)) for d in dicts}) > 1]


def barrier_matrix(runs: list[Run], points: int = 9, eval_size: int = 16384, on_pair=None, executor=None,
                   device: str = "cpu") -> dict:
    """Naive and weight-aligned barriers (absolute and relative, Entezari's definition) for all pairs.

    In-process by default; with an executor (models.executor) each row i of the pair matrix (the pairs
    (i, j > i)) is one task that loads its runs from their paths, with the same numbers at equal threads.
    Losses are computed on `device` (cpu or cuda); the matching runs on the CPU."""
    from models.tasks import eval_set

    for r in runs[1:]:
        check_compatible(runs[0], r)
    cfg = runs[0].config
    x, y = eval_set(cfg, device, eval_size)
    ends = [float(path_losses(*[on_device(r.params, device)] * 2, [0.0], x, y, cfg.nonlinearity)[0]) for r in runs]
    n = len(runs)
    if executor is None:
        rows = (_row(runs, i, ends, points, x, y) for i in range(n - 1))
    else:
        paths = [str(Path(r.path).resolve()) for r in runs]
        rows = (_outcome(*o) for o in executor.map_unordered(
            _row_task, [(paths, i, ends, points, eval_size, device) for i in range(n - 1)]))
    out = {k: np.zeros((n, n)) for k in ("aligned", "aligned_rel", "naive", "naive_rel")}
    for row in rows:
        for i, j, b in row:
            for k, v in b.items():
                out[k][i, j] = out[k][j, i] = v
            if on_pair is not None:
                on_pair(i, j)
    return {"endpoint_loss": ends, **{k: v.tolist() for k, v in out.items()}}


def _row(runs: list, i: int, ends: list[float], points: int, x, y) -> list[tuple[int, int, dict]]:
    """Barriers of the pairs (i, j) for j > i: naive and after weight matching."""
    alphas = np.linspace(0, 1, points)
    nl = runs[i].config.nonlinearity
    res = []
    for j in range(i + 1, len(runs)):
        pa, pb = runs[i].params, runs[j].params
        b = {}
        for kind, q in (("naive", pb), ("aligned", permute(pb, align(pa, pb, "weight").perm))):
            loss = [ends[i], *path_losses(on_device(pa, x.device), on_device(q, x.device), alphas[1:-1], x, y, nl),
                    ends[j]]
            bb = barriers(alphas, loss)
            b[kind], b[kind + "_rel"] = bb["barrier"], bb["barrier_rel"]
        res.append((i, j, b))
    return res


def _row_task(item: tuple) -> list[tuple[int, int, dict]]:
    """A worker's row: load runs i.. from their paths (runs before i are not needed) and compute it."""
    from models.runs import load_run
    from models.tasks import eval_set

    paths, i, ends, points, eval_size, device = item
    runs = [None] * i + [load_run(p) for p in paths[i:]]
    x, y = eval_set(runs[i].config, device, eval_size)
    return _row(runs, i, ends, points, x, y)


def _outcome(item, result, error):
    if error is not None:
        raise error
    return result


def components(rel: np.ndarray, tol: float) -> list[list[int]]:
    """Connected components of the graph with an edge where the relative aligned barrier < tol,
    largest first, each sorted."""
    import networkx as nx

    g = nx.Graph()
    n = len(rel)
    g.add_nodes_from(range(n))
    g.add_edges_from((i, j) for i, j in itertools.combinations(range(n), 2) if rel[i][j] < tol)
    return sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-len(c), c[0]))


def basin_map(runs: list[Run], tol: float = 0.05, points: int = 9, eval_size: int = 16384, on_pair=None,
              executor=None, device: str = "cpu") -> dict:
    m = barrier_matrix(runs, points, eval_size, on_pair, executor, device)
    comps = components(m["aligned_rel"], tol)
    fields = differing_fields(runs)
    info = []
    for r in runs:
        c = r.config.to_dict()
        info.append({"run": str(r.path), "name": r.name, "mono_per_N": r.summary.get("mono_per_N"),
                     "dead_count": r.summary.get("dead_count"), "final_loss": r.summary.get("final_loss"),
                     "seed": c["seed"], **{f: c[f] for f in fields}})
    rel = np.asarray(m["aligned_rel"])
    basins = []
    for comp in comps:
        monos = [info[i]["mono_per_N"] for i in comp if info[i]["mono_per_N"] is not None]
        within = [rel[i][j] for i, j in itertools.combinations(comp, 2)]
        basins.append({"members": comp, "size": len(comp),
                       "mono_per_N_range": [min(monos), max(monos)] if monos else None,
                       "max_barrier_rel_within": max(within) if within else 0.0,
                       **{f: sorted({repr(info[i][f]) for i in comp}) for f in fields}})
    sweep_tols = sorted({0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, tol})
    by_tol = [{"tol": t, "basins": len(components(m["aligned_rel"], t)),
               "basins_naive": len(components(m["naive_rel"], t))} for t in sweep_tols]
    return {"tol": tol, "points": points, "eval_size": eval_size, "differing_fields": fields,
            "basins_by_tol": by_tol,
            "runs": info, **m, "components": comps, "basins": basins,
            "definition": "barrier = max_a [L(a) - ((1-a) L(A) + a L(B))] on the straight path after weight "
                          "matching; *_rel divides by (L(A) + L(B)) / 2; edge where aligned_rel < tol"}



def run_names(names: list[str] | None, sweep: Path | None) -> list[str]:
    """The runs a map compares: the given names, or every finished run of a sweep directory (at least two)."""
    from models.config import require
    from models.runs import RunError, is_finished, list_runs

    require(bool(names) != (sweep is not None), "give either RUNS... or --sweep DIR")
    if sweep is not None:
        if not Path(sweep).is_dir():
            raise RunError(f"no sweep directory {sweep}")
        names = [str(p) for p in list_runs(sweep) if is_finished(p)]
    require(len(names) >= 2, f"a map needs at least 2 finished runs, got {len(names)}")
    return list(names)


def map_runs(runs: list[Run], tol: float = 0.05, points: int = 9, eval_size: int = 16384, on_pair=None,
             device: str = "cpu", backend: str = "local", workers: int = 1, address: str | None = None) -> dict:
    """basin_map in this process (local backend, one worker) or fanned out through models.executor;
    on_pair(count done) after each pair."""
    from models.executor import make_executor

    done = itertools.count(1)
    counted = None if on_pair is None else lambda i, j: on_pair(next(done))
    in_process = backend == "local" and workers == 1
    with contextlib.nullcontext() if in_process else make_executor(backend, workers, address) as ex:
        return basin_map(runs, tol, points, eval_size, on_pair=counted, executor=ex, device=device)
