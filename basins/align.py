"""Hidden-unit permutation alignment of two runs of one task (git re-basin for one hidden layer).

Permuting hidden units leaves the model's function unchanged. Weight matching is one exact linear
assignment over u[j] = [W1[j], b1[j], W2[:, j]]; activation matching maximises the summed correlation of
hidden activations on a draw of ACTIVATION_SAMPLES inputs from the task's eval stream; STE matching
learns the permutation from the midpoint's loss (ste_permutation). `perm[j]` is the
unit of B put at position j: aligned B = permute(B, perm). See docs/science.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.model import PARAM_NAMES
from models.runs import Run, RunError

METHODS = ("weight", "activation", "ste")
ACTIVATION_SAMPLES = 8192


def check_compatible(a: Run, b: Run) -> None:
    """Refuse pairs that cannot be compared: different task tensors, shapes or nonlinearity."""
    ca, cb = a.config, b.config
    if ca.task_key() != cb.task_key() or set(a.task_tensors) != set(b.task_tensors) or any(
            not torch.equal(a.task_tensors[n], b.task_tensors[n]) for n in a.task_tensors):
        raise RunError(f"{a.name} and {b.name} are runs of different tasks (P or Q differ): "
                       "basins compare runs of one task only")
    shape = lambda c: (c.d_embed, c.k, c.out_dim)  # noqa: E731
    if shape(ca) != shape(cb):
        raise RunError(f"{a.name} and {b.name} have different shapes (d, k, out) {shape(ca)} vs {shape(cb)}")
    if ca.nonlinearity != cb.nonlinearity:
        raise RunError(f"{a.name} and {b.name} use different nonlinearities ({ca.nonlinearity} vs {cb.nonlinearity})")


def unit_vectors(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """One row per hidden unit: its incoming weights, bias and outgoing weights (k x (d + 1 + out))."""
    return torch.cat([params["W1"], params["b1"][:, None], params["W2"].t()], dim=1).double()


def permute(params: dict[str, torch.Tensor], perm) -> dict[str, torch.Tensor]:
    """The same function with hidden units reordered: unit j of the result is unit perm[j] of params."""
    p = torch.as_tensor(np.asarray(perm), dtype=torch.long)
    out = dict(params)
    W1, b1, W2 = PARAM_NAMES
    out[W1], out[b1], out[W2] = params[W1][p], params[b1][p], params[W2][:, p]
    return out


def inverse(perm) -> np.ndarray:
    perm = np.asarray(perm)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    return inv


def _assign(score: np.ndarray) -> np.ndarray:
    """The permutation maximising sum_j score[j, perm[j]] (exact)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(score, maximize=True)
    perm = np.empty(score.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm


def weight_score(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor]) -> np.ndarray:
    return (unit_vectors(pa) @ unit_vectors(pb).t()).numpy()


def hidden_activations(params: dict[str, torch.Tensor], x: torch.Tensor, nonlinearity: str) -> torch.Tensor:
    from models.model import hidden

    with torch.no_grad():
        return hidden(params, x, nonlinearity).double()


def activation_score(ha: torch.Tensor, hb: torch.Tensor) -> np.ndarray:
    """Pearson correlation of every unit of A with every unit of B; a constant (e.g. dead) unit scores 0."""
    za, zb = ha - ha.mean(0), hb - hb.mean(0)
    sa, sb = za.norm(dim=0), zb.norm(dim=0)
    ca = torch.where(sa > 0, 1 / sa.clamp(min=1e-300), torch.zeros_like(sa))
    cb = torch.where(sb > 0, 1 / sb.clamp(min=1e-300), torch.zeros_like(sb))
    return ((za * ca).t() @ (zb * cb)).numpy()


@dataclass
class Alignment:
    method: str
    perm: np.ndarray
    objective_before: float  # the matching objective at the identity permutation
    objective_after: float  # ... and at perm; weight: summed inner products, activation: mean correlation,
    # ste: the midpoint's loss on a probe batch (lower is better)

    def to_dict(self) -> dict:
        return {"method": self.method, "permutation": self.perm.tolist(),
                "objective_before": self.objective_before, "objective_after": self.objective_after,
                "units_moved": int((self.perm != np.arange(len(self.perm))).sum())}


def align(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor], method: str = "weight",
          x: torch.Tensor | None = None, nonlinearity: str = "relu") -> Alignment:
    """The permutation of B's hidden units that best matches A (x: inputs for activation matching)."""
    if method not in METHODS:
        raise RunError(f"unknown alignment method {method!r}: use one of {', '.join(METHODS)}")
    if method == "ste":
        raise ValueError("STE matching trains on the task: use align_runs")
    if method == "weight":
        score = weight_score(pa, pb)
        norm = 1.0
    else:
        if x is None:
            raise ValueError("activation matching needs inputs x")
        score = activation_score(hidden_activations(pa, x, nonlinearity), hidden_activations(pb, x, nonlinearity))
        norm = 1.0 / score.shape[0]
    perm = _assign(score)
    idx = np.arange(score.shape[0])
    return Alignment(method, perm, float(score[idx, idx].sum() * norm), float(score[idx, perm].sum() * norm))


STE_STEPS, STE_LR, PROBE = 256, 1e-3, 8192


def _project(free: dict[str, torch.Tensor], pb: dict[str, torch.Tensor]) -> np.ndarray:
    return _assign(weight_score({n: t.detach() for n, t in free.items()}, pb))


def ste_permutation(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor], cfg, steps: int = STE_STEPS,
                    lr: float = STE_LR, seed: int = 0) -> tuple[np.ndarray, float, float]:
    """Straight-through-estimator matching (Ainsworth et al. 2023, Algorithm 3): free weights theta~ start
    at A; each step projects them onto B's permutations by weight matching, takes the task loss of the
    midpoint (A + pi(B)) / 2 on a training batch and passes its gradient straight through the projection
    to theta~ (Adam). Returns the permutation of the lowest midpoint loss seen on a fixed probe batch
    (ties to the earlier), that loss at the identity, and at the result."""
    from models import seeds
    from models.model import forward
    from models.tasks import Task, task_loss

    task = Task(cfg)
    gen = seeds.generator(seed, seeds.STE)
    xp, yp = task.sample(PROBE, gen)

    seen: dict[bytes, float] = {}  # most steps keep the last permutation: its probe loss is looked up

    def mid_loss(perm) -> float:
        key = np.asarray(perm).tobytes()
        if key not in seen:
            pbp = permute(pb, perm)
            with torch.no_grad():
                mid = {n: (pa[n] + pbp[n]) / 2 for n in PARAM_NAMES}
                seen[key] = float(task_loss(forward(mid, xp, cfg.nonlinearity), yp))
        return seen[key]

    identity = np.arange(pa["b1"].shape[0])
    free = {n: pa[n].detach().clone().requires_grad_(True) for n in PARAM_NAMES}
    opt = torch.optim.Adam(free.values(), lr=lr)
    best = _project(free, pb)
    best_loss = mid_loss(best)
    for _ in range(steps):
        perm = _project(free, pb)
        pbp = permute(pb, perm)
        x, y = task.sample(cfg.batch, gen)
        mid = {n: (pa[n] + pbp[n] + free[n] - free[n].detach()) / 2 for n in PARAM_NAMES}
        loss = task_loss(forward(mid, x, cfg.nonlinearity), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        now = mid_loss(perm)
        if now < best_loss:
            best, best_loss = perm, now
    return best, mid_loss(identity), best_loss


def align_runs(a: Run, b: Run, method: str = "weight") -> Alignment:
    """Align run B to run A (runs of one task, checked); activation matching uses a draw of
    ACTIVATION_SAMPLES inputs from the task's eval stream."""
    from models.tasks import eval_set

    check_compatible(a, b)
    if method == "ste":
        perm, before, after = ste_permutation(a.params, b.params, a.config)
        return Alignment("ste", perm, before, after)
    x = eval_set(a.config, "cpu", ACTIVATION_SAMPLES)[0] if method == "activation" else None
    return align(a.params, b.params, method, x, a.config.nonlinearity)


def aligned_copy(a: Run, b: Run, method: str = "weight") -> tuple[Alignment, dict, dict, dict]:
    """B permuted to match A: (alignment, params, init, alignment.json record). The permuted model is
    checked to compute B's function before it is returned."""
    from models.tasks import eval_set

    al = align_runs(a, b, method)
    aligned = permute(b.params, al.perm)
    diff = same_function(b.params, aligned, eval_set(b.config, "cpu", 4096)[0], b.config.nonlinearity)
    record = {"a": str(a.path), "b": str(b.path), **al.to_dict(), "max_output_change": diff}
    return al, aligned, permute(b.init, al.perm), record


def role_changes(a: Run, c: Run) -> dict:
    """After weight-matching C to A: how many of A's monosemantic neurons keep their feature, switch it,
    or turn polysemantic, and how many polysemantic ones turn monosemantic."""
    perm = align_runs(a, c, "weight").perm
    before = a.summary["mono_per_neuron"]
    if before is None:
        return {"mono_kept_same_feature": None}
    after = [c.summary["mono_per_neuron"][p] for p in perm]
    pairs = list(zip(before, after))
    return {"mono_kept_same_feature": sum(1 for x, y in pairs if x is not None and x == y),
            "mono_switched_feature": sum(1 for x, y in pairs if x is not None and y is not None and x != y),
            "mono_became_poly": sum(1 for x, y in pairs if x is not None and y is None),
            "poly_became_mono": sum(1 for x, y in pairs if x is None and y is not None),
            "features_served_before": len({x for x in before if x is not None}),
            "features_served_after": len({y for y in after if y is not None})}


def same_function(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor], x: torch.Tensor,
                  nonlinearity: str, atol: float = 1e-5) -> float:
    """Largest output difference of two parameter sets on x; raises if above atol (relative to output scale)."""
    from models.model import forward

    with torch.no_grad():
        ya, yb = forward(pa, x, nonlinearity), forward(pb, x, nonlinearity)
    diff = float((ya - yb).abs().max())
    scale = max(1.0, float(ya.abs().max()))
    if diff > atol * scale:
        raise RunError(f"the permuted model does not compute the same function (max output difference {diff:.3g})")
    return diff
