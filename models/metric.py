"""The paper's monosemanticity metric on single-feature activations.

A[j, i] = activation of neuron j when only feature i is present at amplitude 1.
r_j = max_i A[j, i] / (1e-10 + sum_i A[j, i]); neuron j is monosemantic iff r_j > 0.999.
Dead neurons (A[j, :] all zero) count as polysemantic and are reported separately.
The ratio only means something for non-negative activations, so it is computed for ReLU only.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .model import hidden

R_THRESHOLD = 0.999


def metric_applies(nonlinearity: str) -> bool:
    return nonlinearity == "relu"


def single_feature_activations(params: dict[str, torch.Tensor], single_inputs: torch.Tensor,
                               nonlinearity: str = "relu") -> torch.Tensor:
    """A (k x N) from the N x d matrix of single-feature inputs (the columns of P)."""
    with torch.no_grad():
        return hidden(params, single_inputs, nonlinearity).t()


@dataclass
class Mono:
    r: torch.Tensor  # k, the paper's ratio per neuron
    preferred: torch.Tensor  # k, argmax feature per neuron (-1 for dead neurons)
    mono: torch.Tensor  # k, bool
    dead: torch.Tensor  # k, bool
    per_feature: torch.Tensor  # N, how many monosemantic neurons serve each feature

    @property
    def mono_count(self) -> int:
        return int(self.mono.sum())

    @property
    def dead_count(self) -> int:
        return int(self.dead.sum())

    def feature_histogram(self) -> dict[str, int]:
        """How many features are served by 0, 1 and 2+ monosemantic neurons."""
        c = self.per_feature
        return {"0": int((c == 0).sum()), "1": int((c == 1).sum()), "2+": int((c >= 2).sum())}

    def mono_per_neuron(self) -> list[int | None]:
        """The feature each monosemantic neuron serves; None for polysemantic or dead neurons."""
        return [int(f) if m else None for f, m in zip(self.preferred.tolist(), self.mono.tolist())]


def monosemanticity(A: torch.Tensor) -> Mono:
    A = A.double()
    n_features = A.shape[1]
    top, arg = A.max(dim=1)
    r = top / (1e-10 + A.sum(dim=1))
    dead = (A == 0).all(dim=1)
    mono = r > R_THRESHOLD
    preferred = torch.where(dead, torch.full_like(arg, -1), arg)
    per_feature = torch.bincount(arg[mono], minlength=n_features)
    return Mono(r=r.float().cpu(), preferred=preferred.cpu(), mono=mono.cpu(), dead=dead.cpu(),
                per_feature=per_feature.cpu())


def measure(params: dict[str, torch.Tensor], single_inputs: torch.Tensor, nonlinearity: str) -> Mono | None:
    """The metric for a model, or None where it does not apply (non-ReLU activations can be negative)."""
    if not metric_applies(nonlinearity):
        return None
    return monosemanticity(single_feature_activations(params, single_inputs, nonlinearity))


def sfa_order(A: torch.Tensor) -> torch.Tensor:
    """Neuron (row) order for the paper's single-feature-activation plot.

    Features stay in index order; monosemantic neurons come first, sorted by the feature they serve
    (a diagonal), then polysemantic neurons by preferred feature; ties by decreasing r.
    """
    m = monosemanticity(A)
    mono_first = (~m.mono).long()
    key = mono_first * (A.shape[1] + 1) + m.preferred.clamp(min=0)
    # stable sort: primary mono-before-poly and preferred feature, ties by r descending
    order = torch.argsort(-m.r, stable=True)
    return order[torch.argsort(key[order], stable=True)]
