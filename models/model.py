"""The two-layer toy model as plain tensors: x -> W1 x + b1 -> nonlinearity -> W2 h (no output bias).

Parameters are a dict {"W1": k x d, "b1": k, "W2": out x k}, the same names the run store uses,
so every tool (alignment, interpolation, pruning) works on the same three tensors.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import TrainConfig

PARAM_NAMES = ("W1", "b1", "W2")


def solu(x: torch.Tensor) -> torch.Tensor:
    """The paper code's "SoLU": x * exp(x) (not the softmax linear unit of Elhage et al.)."""
    return x * torch.exp(x)


NONLINEARITY = {"relu": torch.relu, "gelu": F.gelu, "solu": solu}


def init_params(cfg: TrainConfig, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """PyTorch nn.Linear default init, then the bias offset ADDED to b1 (so it is the mean bias).

    bias_init="data" is handled by the trainer (it needs a data batch); here it adds nothing.
    """
    d, k = cfg.d_embed, cfg.k
    a1, a2 = 1 / math.sqrt(d), 1 / math.sqrt(k)
    W1 = torch.empty(k, d).uniform_(-a1, a1, generator=gen)
    b1 = torch.empty(k).uniform_(-a1, a1, generator=gen)
    W2 = torch.empty(cfg.out_dim, k).uniform_(-a2, a2, generator=gen)
    if not isinstance(cfg.bias_init, str):
        b1 += cfg.bias_init
    return {"W1": W1, "b1": b1, "W2": W2}


def preactivations(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return torch.addmm(params["b1"], x, params["W1"].t())


def hidden(params: dict[str, torch.Tensor], x: torch.Tensor, nonlinearity: str = "relu") -> torch.Tensor:
    return NONLINEARITY[nonlinearity](preactivations(params, x))


def forward(params: dict[str, torch.Tensor], x: torch.Tensor, nonlinearity: str = "relu") -> torch.Tensor:
    return hidden(params, x, nonlinearity) @ params["W2"].t()


def check_shapes(params: dict[str, torch.Tensor], d: int, k: int, out_dim: int) -> None:
    want = {"W1": (k, d), "b1": (k,), "W2": (out_dim, k)}
    for name, shape in want.items():
        if name not in params:
            raise ValueError(f"missing tensor {name}")
        if tuple(params[name].shape) != shape:
            raise ValueError(f"tensor {name} has shape {tuple(params[name].shape)}, expected {shape}")
