"""The loss plane through three models (Garipov et al. 2018, Fig. 1): eval loss and mono/N on a grid.

With w_A, w_B, w_C the flattened weights (B and C aligned to A first), u = w_B - w_A and v = the part
of w_C - w_A orthogonal to u; the plane is w_A + x u/|u| + y v/|v|. A sits at (0, 0), B at (|u|, 0), C at
(<w_C - w_A, u/|u|>, |v|). The grid spans the three points' box widened by `margin` of its size on every
side. C is a third run or a trained curve's bend (already in A's frame). docs/science.md.
"""
from __future__ import annotations

import numpy as np
import torch

from models.evaluate import eval_loss
from models.metric import measure
from models.model import PARAM_NAMES

GRID, MARGIN, EVAL_SIZE = 21, 0.2, 2**14


def flatten(params: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([params[n].reshape(-1).double() for n in PARAM_NAMES])


def unflatten(vec: torch.Tensor, like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out, i = {}, 0
    for n in PARAM_NAMES:
        size = like[n].numel()
        out[n] = vec[i:i + size].reshape(like[n].shape).to(like[n].dtype)
        i += size
    return out


def basis(pa, pb, pc) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, tuple[float, float]]]:
    """(origin, unit u, unit v, each model's plane coordinates); refuses three points on one line."""
    wa, wb, wc = flatten(pa), flatten(pb), flatten(pc)
    u = wb - wa
    if float(u.norm()) == 0:
        raise ValueError("A and aligned B are the same point: no plane through them")
    uh = u / u.norm()
    v = (wc - wa) - (wc - wa).dot(uh) * uh
    if float(v.norm()) <= 1e-9 * float(u.norm()):
        raise ValueError("the three models lie on one line: no plane through them")
    vh = v / v.norm()
    coords = {"A": (0.0, 0.0), "B": (float(u.norm()), 0.0), "C": (float((wc - wa).dot(uh)), float(v.norm()))}
    return wa, uh, vh, coords


def _axis(values, grid: int, margin: float) -> np.ndarray:
    lo, hi = min(values), max(values)
    pad = margin * (hi - lo)
    return np.linspace(lo - pad, hi + pad, grid)


def plane(pa, pb, pc, cfg, grid: int = GRID, margin: float = MARGIN, eval_size: int = EVAL_SIZE,
          device: str = "cpu") -> dict:
    """Loss (on the first eval_size samples of the task's eval set) and mono/N at every grid point and at
    the three models' own coordinates."""
    from models.tasks import Task, make_task_tensors

    origin, uh, vh, coords = basis(pa, pb, pc)
    single = Task(cfg, device, make_task_tensors(cfg)).single_feature_inputs()

    def at(x: float, y: float) -> tuple[float, float | None]:
        p = unflatten(origin + x * uh + y * vh, pa)
        m = measure({n: t.to(device) for n, t in p.items()}, single, cfg.nonlinearity)
        return eval_loss(p, cfg, device, eval_size), None if m is None else m.mono_count / cfg.n_features

    xs = _axis([c[0] for c in coords.values()], grid, margin)
    ys = _axis([c[1] for c in coords.values()], grid, margin)
    cells = [[at(x, y) for x in xs] for y in ys]  # rows: y, columns: x
    points = {name: dict(zip(("x", "y", "loss", "mono_per_N"), (*c, *at(*c)))) for name, c in coords.items()}
    return {"xs": xs.tolist(), "ys": ys.tolist(), "loss": [[c[0] for c in row] for row in cells],
            "mono": None if cells[0][0][1] is None else [[c[1] for c in row] for row in cells],
            "points": points, "grid": grid, "margin": margin, "eval_size": eval_size,
            "definition": "w_A + x u/|u| + y v/|v|; u = w_B - w_A, v = (w_C - w_A) orthogonalised to u; "
                          "B and C weight-matched to A"}


def curve_bend(curve_dir, ra, rb) -> dict[str, torch.Tensor]:
    """The first bend of a trained curve from run A to run B (basins curve's bends.safetensors), checked to
    be a curve between these two runs."""
    from pathlib import Path

    from models.runs import RunError, read_json, read_tensors

    d = Path(curve_dir)
    rec, t = read_json(d / "curve.json"), read_tensors(d / "bends.safetensors")
    bend = {n: t.get(f"bend0.{n}") for n in PARAM_NAMES}
    if not isinstance(rec, dict) or any(v is None for v in bend.values()):
        raise RunError(f"{d} is not a curve result (want curve.json and bends.safetensors with bend0.*)")
    ends = [Path(str(rec.get(k, ""))).resolve() for k in ("a", "b")]
    if ends != [ra.path.resolve(), rb.path.resolve()]:
        raise RunError(f"{d} is a curve between other runs than {ra.name} and {rb.name}")
    if any(bend[n].shape != ra.params[n].shape or bend[n].dtype != ra.params[n].dtype for n in PARAM_NAMES):
        raise RunError(f"{d}: its bend does not have the runs' shapes")
    return bend


def plane_record(ra, rb, rc=None, bend=None, bend_name: str = "", grid: int = GRID, margin: float = MARGIN,
                 eval_size: int = EVAL_SIZE, device: str = "cpu") -> dict:
    """plane.json through run A, run B and either run C or `bend` (curve_bend's, already in A's frame),
    B and C weight-matched to A."""
    from models.runs import RunError

    from .align import aligned_copy

    _, pb, _, rec_b = aligned_copy(ra, rb, "weight")
    pc = aligned_copy(ra, rc, "weight")[1] if rc is not None else bend
    try:
        res = plane(ra.params, pb, pc, ra.config, grid, margin, eval_size, device)
    except ValueError as e:
        raise RunError(str(e)) from None
    return {"a": str(ra.path), "b": str(rb.path), "c": str(rc.path) if rc is not None else f"bend of {bend_name}",
            **res, "permutation_b": rec_b["permutation"]}
