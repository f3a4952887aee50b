"""Masks over the prunable weights W1 and W2 (biases are never pruned), with exact counts.

Every function decides HOW MANY weights a layer keeps first (an integer) and then WHICH, so sparsities are
exact: keep(n, p, r) = floor(n (1 - p)^r + 1/2) per layer or pooled; magnitude pruning keeps the largest
|w| among survivors, ties to the lower flat index; sparse-training layer densities (uniform or ERK) are
split into integers by largest remainder. A mask is a bool tensor of its weight's shape; True is kept.
"""
from __future__ import annotations

import math

import torch

PRUNABLE = ("W1", "W2")
SCOPES = ("layer", "global")
DISTRIBUTIONS = ("uniform", "erk")


def keep_count(n: int, rate: float, rounds: int) -> int:
    """Weights left of n after `rounds` rounds each removing `rate` of the remaining: floor(n (1-rate)^r + 1/2)."""
    return math.floor(n * (1 - rate) ** rounds + 0.5)


def ones_like(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {n: torch.ones_like(params[n], dtype=torch.bool) for n in PRUNABLE}


def first_k(score: torch.Tensor, k: int, descending: bool = False) -> torch.Tensor:
    """Bool mask (flat) of the k first scores of a stable sort: the smallest (or largest), ties to the lower
    index."""
    order = torch.sort(score, descending=descending, stable=True).indices
    out = torch.zeros(score.numel(), dtype=torch.bool, device=score.device)
    out[order[:k]] = True
    return out


def _scores(params: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    """|w| of surviving weights, -1 for pruned ones: pruned weights can never come back, even at |w| = 0."""
    w = params[name].detach().abs().flatten().double()
    return torch.where(masks[name].flatten(), w, torch.full_like(w, -1.0))


def magnitude_prune(params: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], keep: dict[str, int] | int,
                    ) -> dict[str, torch.Tensor]:
    """New masks keeping the largest-magnitude surviving weights.

    keep: {"W1": n1, "W2": n2} prunes each layer to its own count (layer scope); an int prunes the
    pooled W1 and W2 to that total (global scope). Counts above the survivors are refused."""
    if isinstance(keep, dict):
        out = {}
        for n in PRUNABLE:
            if keep[n] > int(masks[n].sum()):
                raise ValueError(f"{n}: cannot keep {keep[n]} weights of {int(masks[n].sum())} surviving")
            out[n] = first_k(_scores(params, masks, n), keep[n], descending=True).view_as(masks[n])
        return out
    if keep > sum(int(masks[n].sum()) for n in PRUNABLE):
        raise ValueError(f"cannot keep {keep} weights of fewer surviving")
    flat = first_k(torch.cat([_scores(params, masks, n) for n in PRUNABLE]), keep, descending=True)
    n1 = masks["W1"].numel()
    return {"W1": flat[:n1].view_as(masks["W1"]), "W2": flat[n1:].view_as(masks["W2"])}


def level_keep(shapes: dict[str, tuple[int, ...]], level: int, rate: float, rate_out: float | None,
               scope: str) -> dict[str, int] | int:
    """What magnitude_prune keeps at IMP level `level`: per layer counts, or the pooled total."""
    sizes = {n: math.prod(shapes[n]) for n in PRUNABLE}
    if scope == "global":
        return keep_count(sum(sizes.values()), rate, level)
    rates = {"W1": rate, "W2": rate if rate_out is None else rate_out}
    return {n: keep_count(sizes[n], rates[n], level) for n in PRUNABLE}


def random_mask(shape: tuple[int, ...], keep: int, gen: torch.Generator) -> torch.Tensor:
    """A uniformly random mask with exactly `keep` weights kept."""
    n = math.prod(shape)
    out = torch.zeros(n, dtype=torch.bool)
    out[torch.randperm(n, generator=gen)[:keep]] = True
    return out.view(shape)


def _largest_remainder(shares: dict[str, float], total: int, caps: dict[str, int]) -> dict[str, int]:
    """Integers summing to `total`, each the floor of its share plus one for the largest remainders."""
    base = {n: min(caps[n], math.floor(s)) for n, s in shares.items()}
    left = total - sum(base.values())
    for n in sorted(shares, key=lambda n: (-(shares[n] - math.floor(shares[n])), n)):
        if left <= 0:
            break
        if base[n] < caps[n]:
            base[n] += 1
            left -= 1
    return base


def layer_keep_counts(shapes: dict[str, tuple[int, int]], sparsity: float, distribution: str) -> dict[str, int]:
    """Kept weights per layer for sparse training at `sparsity` of all W1 and W2 weights.

    uniform: every layer at the same density. erk (Evci et al.): density proportional to
    (n_in + n_out) / (n_in * n_out), scaled so the total is right; a layer that would exceed density
    1 is kept dense and the rest rescaled. Shapes are torch's (n_out, n_in)."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; choose one of {', '.join(DISTRIBUTIONS)}")
    sizes = {n: math.prod(shapes[n]) for n in PRUNABLE}
    total = math.floor(sum(sizes.values()) * (1 - sparsity) + 0.5)
    if distribution == "uniform":
        raw = {n: 1.0 for n in PRUNABLE}
    else:
        raw = {n: (shapes[n][0] + shapes[n][1]) / (shapes[n][0] * shapes[n][1]) for n in PRUNABLE}
    dense: set[str] = set()
    while True:
        free = [n for n in PRUNABLE if n not in dense]
        budget = total - sum(sizes[n] for n in dense)
        scale = budget / sum(raw[n] * sizes[n] for n in free)
        over = [n for n in free if raw[n] * scale > 1]
        if not over:
            break
        dense.update(over)
    shares = {n: float(sizes[n]) if n in dense else raw[n] * scale * sizes[n] for n in PRUNABLE}
    return _largest_remainder(shares, total, sizes)


def random_masks(shapes: dict[str, tuple[int, ...]], keep: dict[str, int], gen: torch.Generator
                 ) -> dict[str, torch.Tensor]:
    return {n: random_mask(tuple(shapes[n]), keep[n], gen) for n in PRUNABLE}


def counts(masks: dict[str, torch.Tensor]) -> dict[str, int]:
    """Kept weights per layer and in total."""
    out = {n: int(masks[n].sum()) for n in PRUNABLE}
    out["total"] = out["W1"] + out["W2"]
    return out


def sparsity_record(masks: dict[str, torch.Tensor]) -> dict:
    """Kept counts, sizes and the sparsity (fraction of all W1 and W2 weights pruned) of a mask pair."""
    kept = counts(masks)
    sizes = {n: masks[n].numel() for n in PRUNABLE}
    total = sum(sizes.values())
    return {"remaining": kept["total"], "remaining_W1": kept["W1"], "remaining_W2": kept["W2"],
            "prunable": total, "prunable_W1": sizes["W1"], "prunable_W2": sizes["W2"],
            "sparsity": 1 - kept["total"] / total, "remaining_fraction": kept["total"] / total}
