"""Per-feature view of a run. The paper's metric is per neuron, but the question of fewer neurons than
features is per feature: is a rare feature ignored, carried only by polysemantic neurons, or given a
neuron of its own? Per feature: its frequency, the monosemantic neurons serving it, the shares of its
single-feature activation in those and in polysemantic neurons, and (decoder, abs) its own eval error
relative to predicting zero; monosemantic, else ignored above IGNORED_REL, else polysemantic
(docs/science.md section 8).
"""
from __future__ import annotations

import torch

from .config import TrainConfig
from .metric import monosemanticity, single_feature_activations
from .model import forward
from .tasks import Task, eval_set

IGNORED_REL = 0.9  # a feature whose error is above 90% of the zero predictor's is as good as unrepresented
CATEGORIES = ("monosemantic", "polysemantic", "ignored")
CHUNK = 8192


def per_output_error(params: dict[str, torch.Tensor], cfg: TrainConfig,
                     size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(error, zero error) per output coordinate over the eval set, in float64."""
    x, y = eval_set(cfg) if size is None else eval_set(cfg, "cpu", size)
    err = torch.zeros(cfg.out_dim, dtype=torch.float64)
    with torch.no_grad():
        for i in range(0, x.shape[0], CHUNK):
            out = forward(params, x[i:i + CHUNK], cfg.nonlinearity)
            err += (out - y[i:i + CHUNK]).double().square().sum(0)
    return err / x.shape[0], y.double().square().mean(0)


def category(n_mono: int, rel_error: float | None) -> str:
    if n_mono:
        return "monosemantic"
    return "ignored" if rel_error is not None and rel_error > IGNORED_REL else "polysemantic"


def feature_view(params: dict[str, torch.Tensor], cfg: TrainConfig, task_tensors: dict | None = None,
                 eval_size: int | None = None) -> dict:
    """Every feature's row (see the module docstring), the counts per category, and per rank decile."""
    if cfg.nonlinearity != "relu":
        raise ValueError(f"the per-feature view needs relu (the metric is not defined for {cfg.nonlinearity})")
    task = Task(cfg, "cpu", task_tensors)
    A = single_feature_activations(params, task.single_feature_inputs(), cfg.nonlinearity).double()
    m = monosemanticity(A)
    poly = ~m.mono & ~m.dead
    total = A.sum(0)
    has_error = cfg.out_dim == cfg.n_features
    err, zero = per_output_error(params, cfg, eval_size) if has_error else (None, None)
    probs = task.probs.double().cpu()
    rank = torch.empty(cfg.n_features, dtype=torch.long)
    rank[torch.argsort(-probs, stable=True)] = torch.arange(1, cfg.n_features + 1)
    rows = []
    for i in range(cfg.n_features):
        serving = torch.nonzero(m.mono & (m.preferred == i)).flatten().tolist()
        t = float(total[i])
        rel = None if not has_error or zero[i] == 0 else float(err[i] / zero[i])
        rows.append({"feature": i, "p": float(probs[i]), "rank": int(rank[i]), "mono_neurons": serving,
                     "mono_share": float(A[serving, i].sum()) / t if t else 0.0,
                     "poly_share": float(A[poly, i].sum()) / t if t else 0.0,
                     "poly_carriers": int((A[poly, i] > 0).sum()),
                     "error": None if err is None else float(err[i]), "zero_error": None if zero is None else
                     float(zero[i]), "rel_error": rel, "category": category(len(serving), rel)})
    by_rank = sorted(rows, key=lambda r: r["rank"])
    n = cfg.n_features
    deciles = []
    for q in range(10):
        part = by_rank[q * n // 10:(q + 1) * n // 10]
        if part:
            rels = [r["rel_error"] for r in part if r["rel_error"] is not None]
            deciles.append({"decile": q + 1, "ranks": [part[0]["rank"], part[-1]["rank"]],
                            "p": [part[0]["p"], part[-1]["p"]], "features": len(part),
                            **{c: sum(r["category"] == c for r in part) / len(part) for c in CATEGORIES},
                            "mean_rel_error": sum(rels) / len(rels) if rels else None})
    return {"n_features": n, "k": cfg.k, "task": cfg.task, "freq": cfg.freq, "ignored_rel": IGNORED_REL,
            "eval_size": eval_size, "mono_count": m.mono_count, "dead_count": m.dead_count,
            "counts": {c: sum(r["category"] == c for r in rows) for c in CATEGORIES},
            "deciles": deciles, "features": rows}
