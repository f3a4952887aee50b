"""Linear paths between two models: eval loss and monosemanticity along theta(a) = (1-a) A + a B.

The first layer is linear in a, so each eval chunk's pre-activations are computed once per endpoint and
blended per alpha: a 33-point path costs about 33 second-layer passes. Barriers keep their sign:
  barrier       = max_a [L(a) - ((1-a) L(0) + a L(1))]       (Entezari et al.)
  barrier_mean  = max_a L(a) - (L(0) + L(1)) / 2               (git re-basin's code)
and both divided by the endpoints' mean loss (the *_rel variants); docs/science.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.metric import measure, metric_applies
from models.model import NONLINEARITY, PARAM_NAMES, preactivations

CHUNK = 2048  # rows per block: keeps the per-alpha buffers in cache


def on_device(params: dict[str, torch.Tensor], device) -> dict[str, torch.Tensor]:
    return {n: t.to(device) for n, t in params.items()}


def lerp_params(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor], a: float) -> dict[str, torch.Tensor]:
    return {n: torch.lerp(pa[n], pb[n], float(a)) for n in PARAM_NAMES}


def path_losses(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor], alphas, x: torch.Tensor,
                y: torch.Tensor, nonlinearity: str = "relu", chunk: int = CHUNK, affine=None) -> np.ndarray:
    """Mean eval loss at every alpha (float64), blending the endpoints' pre-activations.

    Per chunk: za and dz = zb - za once; per alpha one fused add into a reused buffer, the
    nonlinearity in place (ReLU) and one addmm that forms out - y directly. The sums stay on the
    device until the end (no host round trip per alpha on a GPU, where one chunk holds the whole set).
    affine: per alpha (mean, scale) of every unit, applied as mean + scale (z - mean) (REPAIR)."""
    act = NONLINEARITY[nonlinearity]
    alphas = [float(a) for a in alphas]
    w2t = [torch.lerp(pa["W2"], pb["W2"], a).t().contiguous() for a in alphas]
    totals = torch.zeros(len(alphas), dtype=torch.float64, device=x.device)
    if x.device.type != "cpu":
        chunk = x.shape[0]
    with torch.no_grad():
        for i in range(0, x.shape[0], chunk):
            xc, yc = x[i:i + chunk], y[i:i + chunk]
            za = preactivations(pa, xc)
            dz = preactivations(pb, xc).sub_(za)
            z = torch.empty_like(za)
            r = torch.empty_like(yc)
            for j, a in enumerate(alphas):
                torch.add(za, dz, alpha=a, out=z)
                if affine is not None:
                    z.sub_(affine[j][0]).mul_(affine[j][1]).add_(affine[j][0])
                h = z.clamp_(min=0) if nonlinearity == "relu" else act(z)
                torch.addmm(yc, h, w2t[j], beta=-1, out=r)  # out - y
                totals[j] += torch.linalg.vecdot(r.view(-1), r.view(-1))
    return totals.cpu().numpy() / x.shape[0]


def mono_along(models, single: torch.Tensor, nonlinearity: str, n_features: int) -> list[float] | None:
    """mono/N of each parameter set along a path; None where the metric does not apply (non-ReLU)."""
    if not metric_applies(nonlinearity):
        return None
    return [measure(p, single, nonlinearity).mono_count / n_features for p in models]


def barriers(alphas, losses) -> dict[str, float]:
    """Both barrier definitions and their values relative to the endpoints' mean loss (sign kept)."""
    alphas, losses = np.asarray(alphas, dtype=float), np.asarray(losses, dtype=float)
    if alphas[0] != 0 or alphas[-1] != 1:
        raise ValueError("barriers need a path from alpha 0 to alpha 1")
    la, lb = losses[0], losses[-1]
    ref = (la + lb) / 2
    lin = float(np.max(losses - ((1 - alphas) * la + alphas * lb)))
    mean = float(np.max(losses) - ref)
    return {"barrier": lin, "barrier_mean": mean, "barrier_rel": lin / ref, "barrier_mean_rel": mean / ref}


@dataclass
class LinePath:
    """Eval loss (and mono/N) at each alpha of a straight path."""

    alphas: list[float]
    loss: list[float]
    mono: list[float] | None

    @property
    def barriers(self) -> dict[str, float]:
        return barriers(self.alphas, self.loss)


def linear_path(pa, pb, cfg, points: int = 33, eval_size: int | None = None, device="cpu",
                with_mono: bool = True, repair: bool = False) -> LinePath:
    """Loss on the task's fixed eval set (shared by every run of the task) and mono/N along the line;
    with repair, of each point after REPAIR (basins.repair, its statistics from the same eval set)."""
    from models.tasks import EVAL_SIZE, Task, eval_set, make_task_tensors

    from .repair import repaired, unit_stats

    alphas = np.linspace(0, 1, points).tolist()
    x, y = eval_set(cfg, device, EVAL_SIZE if eval_size is None else eval_size)
    pa, pb = on_device(pa, device), on_device(pb, device)
    affine = None
    if repair:
        stats = unit_stats(pa, pb, x)
        affine = [tuple(t.float() for t in stats.at(a)) for a in alphas]
    loss = path_losses(pa, pb, alphas, x, y, cfg.nonlinearity, affine=affine).tolist()
    mono = None
    if with_mono:
        single = Task(cfg, device, make_task_tensors(cfg)).single_feature_inputs()
        points_ = (lerp_params(pa, pb, a) if affine is None else repaired(lerp_params(pa, pb, a), *affine[j])
                   for j, a in enumerate(alphas))
        mono = mono_along(points_, single, cfg.nonlinearity, cfg.n_features)
    return LinePath(alphas, loss, mono)


DEFINITION = ("barrier = max_a [L(a) - ((1-a) L(A) + a L(B))]; barrier_mean = max_a L(a) - (L(A) + L(B))/2; "
              "*_rel = divided by (L(A) + L(B))/2; sign kept")


def interpolation_record(ra, rb, points: int = 33, method: str = "weight", eval_size: int | None = None,
                         device: str = "cpu", repair: bool = False) -> dict:
    """interpolation.json: the naive and the aligned path from run A to run B, both barriers of each;
    with repair also the aligned path after REPAIR (loss_repaired, mono_repaired, barrier_repaired*)."""
    from .align import aligned_copy

    al, aligned, _, rec = aligned_copy(ra, rb, method)
    paths = {"naive": linear_path(ra.params, rb.params, ra.config, points, eval_size, device),
             "aligned": linear_path(ra.params, aligned, ra.config, points, eval_size, device)}
    if repair:
        paths["repaired"] = linear_path(ra.params, aligned, ra.config, points, eval_size, device, repair=True)
    naive = paths["naive"]
    res = {"a": str(ra.path), "b": str(rb.path), "method": method, "eval_size": eval_size or "full",
           "alphas": naive.alphas, **{f"loss_{kind}": p.loss for kind, p in paths.items()},
           **{f"mono_{kind}": p.mono for kind, p in paths.items()}}
    for kind, p in paths.items():
        for k, v in p.barriers.items():  # barrier -> barrier_naive, barrier_mean_rel -> barrier_naive_mean_rel
            res[f"barrier_{kind}{k[len('barrier'):]}"] = v
    res.update({"endpoint_loss_a": naive.loss[0], "endpoint_loss_b": naive.loss[-1],
                "permuted_b_max_output_change": rec["max_output_change"], "permutation": al.perm.tolist(),
                "alignment": {k: v for k, v in al.to_dict().items() if k != "permutation"},
                "definition": DEFINITION})
    return res
