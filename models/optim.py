"""LAMB (the paper's semantics) and Adam over a dict of tensors, with state that is plain tensors.

LAMB follows torch_optimizer 0.3.0's Lamb, which the paper used (docs/science.md), with the trust ratio
kept on the device. Plain-tensor state keeps resume files pickle-free and lets pruning reach single
weights' moments. instances=True: the leading dim indexes independent models (models.batched).
"""
from __future__ import annotations

import torch

LAMB_BETAS, LAMB_EPS, LAMB_CLAMP = (0.9, 0.999), 1e-6, 10.0
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8


class Optimizer:
    """Shared state handling: first and second moments per parameter and a step count."""

    betas: tuple[float, float]
    eps: float

    def __init__(self, params: dict[str, torch.Tensor], instances: bool = False):
        self.params = params
        self.instances = instances
        self.exp_avg = {n: torch.zeros_like(p) for n, p in params.items()}
        self.exp_avg_sq = {n: torch.zeros_like(p) for n, p in params.items()}
        self.step_count = 0

    def _moments(self, name: str, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b1, b2 = self.betas
        m, v = self.exp_avg[name], self.exp_avg_sq[name]
        m.mul_(b1).add_(grad, alpha=1 - b1)
        v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        return m, v

    def step(self, lr: float | torch.Tensor) -> None:
        """One update at learning rate lr (a float, or with instances=True a tensor of E rates)."""
        self.step_count += 1
        with torch.no_grad():
            for name, p in self.params.items():
                if p.grad is not None:
                    self._update(name, p, p.grad, _per_instance(lr, p))

    def _update(self, name, p, grad, lr):  # pragma: no cover - abstract
        raise NotImplementedError

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = {f"exp_avg.{n}": t for n, t in self.exp_avg.items()}
        out.update({f"exp_avg_sq.{n}": t for n, t in self.exp_avg_sq.items()})
        out["step_count"] = torch.tensor(self.step_count, dtype=torch.int64)
        return out

    def load_state_tensors(self, state: dict[str, torch.Tensor]) -> None:
        for n in self.params:
            self.exp_avg[n].copy_(state[f"exp_avg.{n}"])
            self.exp_avg_sq[n].copy_(state[f"exp_avg_sq.{n}"])
        self.step_count = int(state["step_count"])


def _per_instance(lr: float | torch.Tensor, p: torch.Tensor) -> float | torch.Tensor:
    """A tensor of E learning rates shaped to broadcast over p's non-instance dims."""
    return lr.view(-1, *[1] * (p.ndim - 1)) if isinstance(lr, torch.Tensor) else lr


class Lamb(Optimizer):
    betas, eps, clamp = LAMB_BETAS, LAMB_EPS, LAMB_CLAMP

    def _norm(self, t: torch.Tensor) -> torch.Tensor:
        if self.instances:  # one norm per model: over every dim but the leading one
            return torch.linalg.vector_norm(t, dim=tuple(range(1, t.ndim)), keepdim=True)
        return torch.linalg.vector_norm(t)

    def _update(self, name, p, grad, lr):
        m, v = self._moments(name, grad)
        adam_step = m / v.sqrt().add_(self.eps)
        w_norm = self._norm(p).clamp(0, self.clamp)
        a_norm = self._norm(adam_step)
        trust = torch.where((w_norm == 0) | (a_norm == 0), torch.ones_like(w_norm), w_norm / a_norm)
        p.sub_(adam_step.mul_(trust * lr))


class Adam(Optimizer):
    betas, eps = ADAM_BETAS, ADAM_EPS

    def _update(self, name, p, grad, lr):
        m, v = self._moments(name, grad)
        b1, b2 = self.betas
        t = self.step_count
        denom = (v.sqrt() / (1 - b2**t) ** 0.5).add_(self.eps)
        if isinstance(lr, torch.Tensor):
            p.sub_(m / denom * (lr / (1 - b1**t)))
        else:
            p.addcdiv_(m, denom, value=-lr / (1 - b1**t))


OPTIMIZERS = {"lamb": Lamb, "adam": Adam}


def make_optimizer(name: str, params: dict[str, torch.Tensor], instances: bool = False) -> Optimizer:
    return OPTIMIZERS[name](params, instances)
