"""The three tasks: fixed random projections, the sparse feature sampler, and the evaluation set.

Sampling is exact Bernoulli(p_i) per (sample, feature). On the CPU without a dense mask: active
positions are the arrivals of a Poisson process whose rate on position (b, i) is -log(1 - p_i), so
P(active) = p_i independently; for uniform p these are geometric gaps. Cost is O(active), not
O(batch * N). On an accelerator the gap sampler would need host syncs (its output size is random), so
there a dense mask is drawn instead: batch * N uniforms are nothing to a GPU, and no step waits on the host.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from . import seeds
from .config import TrainConfig

EVAL_SIZE = 2**16
POWER_LAW_EXPONENT = 1.1


def random_projection(n_features: int, d_embed: int, seed: int, stream: int) -> torch.Tensor:
    """P (d x N): left singular vectors of a Gaussian N x d matrix, each row rescaled to unit norm, transposed.

    Every feature's embedding (column of P) has norm 1, as in the paper's code.
    """
    rng = np.random.default_rng([seed, stream])
    u, _, _ = np.linalg.svd(rng.standard_normal((n_features, d_embed)), full_matrices=False)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return torch.from_numpy(np.ascontiguousarray(u.T)).float()


def feature_probs(n_features: int, eps: float, freq: str) -> torch.Tensor:
    """Per-feature activation probability: eps for all, or p_i ~ i^-1.1 rescaled to sum N*eps, clipped at 1."""
    if freq == "uniform":
        return torch.full((n_features,), float(eps), dtype=torch.float64)
    p = torch.arange(1, n_features + 1, dtype=torch.float64) ** -POWER_LAW_EXPONENT
    p *= n_features * eps / p.sum()
    return p.clamp(max=1.0)


class SparseSampler:
    """Draws the (row, feature, amplitude) triples of a batch of sparse feature vectors."""

    def __init__(self, probs: torch.Tensor, device: torch.device):
        probs = probs.to(torch.float64)
        self.n_features = probs.numel()
        self.always = torch.nonzero(probs >= 1).flatten().to(device)
        rate = torch.where(probs >= 1, torch.zeros_like(probs), -torch.log1p(-probs.clamp(max=1 - 1e-16)))
        self.rate = rate.to(device)
        self.uniform = bool((probs == probs[0]).all()) and float(probs[0]) < 1
        self.device = device

    def sample(self, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """rows, cols (int64) and amplitudes U[0,1) of the active features, ordered feature-major."""
        cum = torch.cumsum(self.rate * batch, 0)  # cumulative hazard at the end of each feature's block
        total = float(cum[-1])
        chunks, t0 = [], 0.0
        while t0 < total:
            remaining = total - t0
            n = int(remaining + 6 * remaining**0.5 + 16)
            t = torch.empty(n, dtype=torch.float64, device=self.device).exponential_(generator=gen).cumsum_(0) + t0
            chunks.append(t)
            t0 = float(t[-1])
        t = torch.cat(chunks) if chunks else torch.empty(0, dtype=torch.float64, device=self.device)
        t = t[t < total]
        if self.uniform:  # every position has the same rate: the position is t / rate (geometric gaps)
            pos = (t / self.rate[0]).long().clamp_(max=batch * self.n_features - 1)
        else:
            col = torch.searchsorted(cum, t, right=True)
            start = cum[col] - self.rate[col] * batch
            pos = col * batch + ((t - start) / self.rate[col]).long().clamp_(0, batch - 1)
        pos = torch.unique_consecutive(pos)  # two arrivals in one position are one event
        if self.always.numel():
            full = (self.always[:, None] * batch + torch.arange(batch, device=self.device)).flatten()
            pos = torch.cat([pos, full]).sort().values
        vals = torch.rand(pos.numel(), generator=gen, device=self.device)
        return pos % batch, pos // batch, vals


class Task:
    """A task instance: its projection(s), feature sampler and target map. P is d x N, Q is d x N."""

    def __init__(self, cfg: TrainConfig, device: torch.device | str = "cpu", tensors: dict | None = None,
                 dense: bool | None = None):
        self.cfg = cfg
        self.device = torch.device(device)
        # dense masks on accelerators (no host syncs), Poisson gaps on the CPU (no O(B N) work)
        self.dense = self.device.type != "cpu" if dense is None else dense
        tensors = tensors if tensors is not None else make_task_tensors(cfg)
        self.P = tensors["P"].to(self.device)
        self.PT = self.P.t().contiguous()
        self.Q = tensors["Q"].to(self.device) if "Q" in tensors else None
        # abs draws two vectors, each at half the density (the paper's code)
        eps = cfg.eps / 2 if cfg.task == "abs" else cfg.eps
        probs = feature_probs(cfg.n_features, eps, cfg.freq)
        self.sampler = SparseSampler(probs, self.device)
        self.probs = probs.float().to(self.device)

    def _dense_draw(self, batch: int, gen: torch.Generator) -> torch.Tensor:
        """A batch of feature vectors from a dense Bernoulli mask: no output of random size, no sync."""
        on = torch.rand(batch, self.cfg.n_features, generator=gen, device=self.device) < self.probs
        return torch.rand(batch, self.cfg.n_features, generator=gen, device=self.device).mul_(on)

    def sample(self, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y): inputs (batch x d) and targets (batch x out_dim)."""
        if self.dense:
            v = self._dense_draw(batch, gen)
            if self.cfg.task == "abs":  # v1 - v2; where both are on, the amplitudes subtract
                v -= self._dense_draw(batch, gen)
        else:
            v = torch.zeros(batch, self.cfg.n_features, device=self.device)
            rows, cols, vals = self.sampler.sample(batch, gen)
            v[rows, cols] = vals
            if self.cfg.task == "abs":
                r2, c2, v2 = self.sampler.sample(batch, gen)
                v.index_put_((r2, c2), -v2, accumulate=True)
        x = v @ self.PT  # a dense matmul beats a sparse gather here (about 2% of a step)
        if self.cfg.task == "reprojector":
            return x, v @ self.Q.t()
        return x, (v.abs_() if self.cfg.task == "abs" else v)

    def single_feature_inputs(self) -> torch.Tensor:
        """N x d: row i is the input when only feature i is present at amplitude 1."""
        return self.PT


def make_task_tensors(cfg: TrainConfig) -> dict[str, torch.Tensor]:
    out = {"P": random_projection(cfg.n_features, cfg.d_embed, cfg.task_seed, stream=0)}
    if cfg.task == "reprojector":
        out["Q"] = random_projection(cfg.n_features, cfg.d_embed, cfg.task_seed, stream=1)
    return out


def task_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared error summed over output dims, averaged over the batch (the paper's loss)."""
    return (out - y).square().sum() / out.shape[0]


@functools.lru_cache(maxsize=4)
def _eval_set_cpu(key: tuple, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = TrainConfig(**dict(key))
    task = Task(cfg, "cpu")
    return task.sample(size, seeds.eval_generator(cfg.task_seed))


def eval_set(cfg: TrainConfig, device: torch.device | str = "cpu", size: int = EVAL_SIZE):
    """The fixed evaluation set of a task: seeded by the task alone, so every run of a task shares it."""
    x, y = _eval_set_cpu(tuple(sorted(cfg.task_key().items())), size)
    return x.to(device), y.to(device)
