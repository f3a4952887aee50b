"""Bias decay: the paper's lever toward monosemanticity, and two rules meant to need less tuning.

After each update, b1 <- b1 * (1 - bias_decay * lr * s), lr the base rate, s in [0, 1] set by the mode:
fixed (the paper's) s = 1 in the first half; per-neuron s = 1 only for neurons the batch left dead (a zero
b1 gradient, which the step computes anyway); adaptive s = min(1, m / m_ref), m how far W1 and W2 moved
over the last lr cycle relative to their size, so the decay fades as the model settles. docs/science.md
section 6 gives the exact definitions and why.
"""
from __future__ import annotations

import torch

from .config import TrainConfig


def adaptive_window(cfg: TrainConfig) -> int:
    """Steps per measurement: one full lr cycle of the restarting cosine (so the phase cancels), else 1/8 of
    the run."""
    return 2 * cfg.schedule_period if cfg.schedule == "restart-cosine" else max(1, cfg.steps // 8)


def _norm(t: torch.Tensor, instances: bool) -> torch.Tensor:
    """|t| per model: over every dim but the leading one with instances, else over all."""
    if instances:
        return torch.linalg.vector_norm(t, dim=tuple(range(1, t.ndim)))
    return torch.linalg.vector_norm(t)


class BiasDecay:
    """Applies one config's (or, batched, E configs' equal-mode) decay after each update.

    factor: 1 - bias_decay * lr, a float or (batched) an (E, 1) tensor. The adaptive state (the weights
    at the last window's start, m_ref and s) is resume state."""

    def __init__(self, cfg: TrainConfig, factor, params: dict[str, torch.Tensor], instances: bool = False):
        self.mode, self.steps, self.factor, self.instances = cfg.bias_decay_mode, cfg.steps, factor, instances
        self.on = bool(cfg.bias_decay) if not instances else bool((torch.as_tensor(factor) != 1).any())
        self.window = adaptive_window(cfg)
        self.state: dict[str, torch.Tensor] = {}
        if self.mode == "adaptive":
            shape = (params["W1"].shape[0],) if instances else ()
            self.state = {"W1": params["W1"].detach().clone(), "W2": params["W2"].detach().clone(),
                          "m_ref": torch.zeros(shape, device=params["W1"].device),
                          "scale": torch.ones(shape, device=params["W1"].device)}

    def apply(self, step: int, params: dict[str, torch.Tensor], dead: torch.Tensor | None = None) -> None:
        """Decay after update `step` (0-based); `dead` (per-neuron mode): neurons with a zero b1 gradient."""
        if not self.on:
            return
        b1 = params["b1"]
        with torch.no_grad():
            if self.mode == "fixed":
                if step < self.steps / 2:
                    b1.mul_(self.factor)
            elif self.mode == "per-neuron":
                b1.mul_(torch.where(dead, self.factor, torch.ones_like(b1)))
            else:
                b1.mul_(1 - (1 - self.factor) * self._scale_shaped())
                if (step + 1) % self.window == 0:
                    self._measure(params)

    def _scale_shaped(self) -> torch.Tensor:
        s = self.state["scale"]
        return s.view(-1, 1) if self.instances else s

    def _measure(self, params: dict[str, torch.Tensor]) -> None:
        """m: |(W1, W2) now - at the window's start| / |(W1, W2) now|; s = min(1, m / m_ref), m_ref being
        the first window's m (the first after a start or a rewind)."""
        st, inst = self.state, self.instances
        moved = (_norm(params["W1"] - st["W1"], inst) ** 2 + _norm(params["W2"] - st["W2"], inst) ** 2).sqrt()
        size = (_norm(params["W1"], inst) ** 2 + _norm(params["W2"], inst) ** 2).sqrt()
        m = moved / size.clamp_min(1e-30)
        st["m_ref"].copy_(torch.where(st["m_ref"] > 0, st["m_ref"], m))
        st["scale"].copy_(torch.where(st["m_ref"] > 0, (m / st["m_ref"].clamp_min(1e-30)).clamp(max=1.0),
                                      torch.ones_like(m)))
        st["W1"].copy_(params["W1"].detach())
        st["W2"].copy_(params["W2"].detach())

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.state)

    def load_state_tensors(self, state: dict[str, torch.Tensor]) -> None:
        for k, v in self.state.items():
            v.copy_(state[k])

    def instance_state(self, e: int) -> dict[str, torch.Tensor]:
        """Instance e's slice of a batched state (a run dir's resume state)."""
        return {k: v[e] for k, v in self.state.items()}

    def load_instance_state(self, e: int, state: dict[str, torch.Tensor]) -> None:
        for k, v in self.state.items():
            v[e].copy_(state[k])
