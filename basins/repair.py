"""REPAIR (Jordan et al. 2022) for the one hidden layer: give each interpolated unit back the spread of its
endpoints' pre-activations.

Along theta(a) = (1-a) A + a B the first layer is linear in a, so a unit's pre-activation is
z(a) = (1-a) z_A + a z_B: its mean is already the interpolation of the endpoints' means, but its variance
(1-a)^2 var_A + a^2 var_B + 2a(1-a) cov_AB shrinks wherever the two units disagree. REPAIR rescales
z(a) about its mean so that its standard deviation is (1-a) std_A + a std_B, the interpolation of the
endpoints' statistics; this is the affine map W1_j <- s_j W1_j, b1_j <- s_j b1_j + (1 - s_j) mu_j.
All statistics are exact over the eval set, from one pass of running sums. docs/science.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from models.model import preactivations

CHUNK = 8192


@dataclass
class UnitStats:
    """Per-unit moments of both endpoints' pre-activations on one input set (float64)."""

    mean_a: torch.Tensor
    mean_b: torch.Tensor
    var_a: torch.Tensor
    var_b: torch.Tensor
    cov: torch.Tensor

    def at(self, a: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, scale) of every unit at alpha a: the scale takes z(a)'s std to the endpoints' interpolated
        std (1 where z(a) is constant, e.g. a unit dead at both ends)."""
        mean = (1 - a) * self.mean_a + a * self.mean_b
        var = (1 - a) ** 2 * self.var_a + a ** 2 * self.var_b + 2 * a * (1 - a) * self.cov
        std = var.clamp_min(0).sqrt()
        target = (1 - a) * self.var_a.clamp_min(0).sqrt() + a * self.var_b.clamp_min(0).sqrt()
        scale = torch.where(std > 1e-12 * target.clamp_min(1e-300), target / std.clamp_min(1e-300),
                            torch.ones_like(std))
        return mean, scale


def unit_stats(pa: dict[str, torch.Tensor], pb: dict[str, torch.Tensor], x: torch.Tensor) -> UnitStats:
    """The moments REPAIR needs, over the rows of x."""
    k = pa["b1"].shape[0]
    s = {n: torch.zeros(k, dtype=torch.float64, device=x.device) for n in ("a", "b", "aa", "bb", "ab")}
    with torch.no_grad():
        for i in range(0, x.shape[0], CHUNK):
            za = preactivations(pa, x[i:i + CHUNK]).double()
            zb = preactivations(pb, x[i:i + CHUNK]).double()
            s["a"] += za.sum(0)
            s["b"] += zb.sum(0)
            s["aa"] += (za * za).sum(0)
            s["bb"] += (zb * zb).sum(0)
            s["ab"] += (za * zb).sum(0)
    n = x.shape[0]
    ma, mb = s["a"] / n, s["b"] / n
    return UnitStats(ma, mb, s["aa"] / n - ma * ma, s["bb"] / n - mb * mb, s["ab"] / n - ma * mb)


def repaired(params: dict[str, torch.Tensor], mean: torch.Tensor, scale: torch.Tensor) -> dict[str, torch.Tensor]:
    """The interpolated model with each unit's pre-activation rescaled about its mean."""
    s, mu = scale.to(params["W1"].dtype), mean.to(params["W1"].dtype)
    return {**params, "W1": params["W1"] * s[:, None], "b1": params["b1"] * s + (1 - s) * mu}
