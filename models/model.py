"""The two-layer toy model as plain tensors: x -> W1 x + b1 -> nonlinearity -> W2 h (no output bias).

Parameters are a dict {"W1": k x d, "b1": k, "W2": out x k}, the same names the run store uses,
so every tool (alignment, interpolation, pruning) works on the same three tensors.
"""
from __future__ import annotations

import contextlib
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
    """Refuse (ValueError, one line) weights that are missing, misshapen, not float32 or not finite."""
    want = {"W1": (k, d), "b1": (k,), "W2": (out_dim, k)}
    for name, shape in want.items():
        if name not in params:
            raise ValueError(f"missing tensor {name}")
        t = params[name]
        if tuple(t.shape) != shape:
            raise ValueError(f"tensor {name} has shape {tuple(t.shape)}, expected {shape}")
        if t.dtype != torch.float32:
            raise ValueError(f"tensor {name} is {t.dtype}, expected torch.float32")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"tensor {name} holds NaN or infinite values")


def has_bf16_units() -> bool:
    """Whether this CPU has bf16 matrix instructions (AVX512-BF16 or AMX), which --precision bf16 uses."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def matmul_precision(precision: str, device: torch.device | str = "cpu"):
    """The context the autograd paths of a training step run in: bf16 autocast (bf16 matmul operands,
    fp32 weights and accumulation) for "bf16", nothing for "fp32"."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def relu_loss_and_grads(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, l1: float = 0.0,
                        chunk: int = 1024, precision: str = "fp32") -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Task loss (squared error summed over outputs, mean over batch) and the gradients of
    loss + l1 * sum|h| / batch, by hand for ReLU. In-place and fused where autograd allocates, and over row
    chunks of at most `chunk` so activations stay in cache (benchmarks/README.md). Equal to autograd's
    result up to rounding.

    precision="bf16": the second layer's three matmuls (the output, W2's gradient, the hidden gradient:
    (3 out) / (3 out + 2 d) of the step's FLOPs) take bf16 operands with fp32 accumulation. The first layer
    stays fp32 (its pre-activation is a sum against the bias that bf16 would cancel away), and so do the
    residual, the loss and the gradient sums; with fp32 every cast below is the tensor itself."""
    B, cd = x.shape[0], torch.bfloat16 if precision == "bf16" else x.dtype
    W1, b1, W2 = params["W1"], params["b1"], params["W2"]
    with torch.no_grad():
        W2c = W2.to(cd)
        g_W1, g_b1, g_W2 = torch.zeros_like(W1), torch.zeros_like(b1), torch.zeros_like(W2)
        loss = torch.zeros((), dtype=torch.float32, device=x.device)
        for i in range(0, B, chunk):
            xc = x[i:i + chunk]
            h = torch.addmm(b1, xc, W1.t()).relu_()
            hc = h.to(cd)
            diff = torch.mm(hc, W2c.t()).float().sub_(y[i:i + chunk])
            flat = diff.view(-1)
            loss += torch.dot(flat, flat)
            g_out = diff.mul_(2.0 / B).to(cd)
            if cd == g_W2.dtype:
                g_W2.addmm_(g_out.t(), hc)
            else:
                g_W2 += torch.mm(g_out.t(), hc)
            g_h = torch.mm(g_out, W2c).float()
            if l1:
                g_h.add_(l1 / B)  # d|h|/dh = 1 where h > 0; the mask below zeroes the rest
            g_pre = torch.ops.aten.threshold_backward(g_h, h, 0)
            g_W1.addmm_(g_pre.t(), xc)
            g_b1 += g_pre.sum(0)
        return loss / B, {"W1": g_W1, "b1": g_b1, "W2": g_W2}


class ToyModel(torch.nn.Module):
    """The model as an nn.Module (Linear -> nonlinearity -> Linear without bias) for hook-based tools:
    `hidden` is the module whose output is the hidden activations. A pruned run's masks are buffers,
    and its masked weights are zero already."""

    def __init__(self, params: dict[str, torch.Tensor], nonlinearity: str = "relu",
                 masks: dict[str, torch.Tensor] | None = None):
        super().__init__()
        k, d = params["W1"].shape
        self.embed_to_hidden = torch.nn.Linear(d, k)
        self.hidden = _Nonlinearity(nonlinearity)
        self.hidden_to_out = torch.nn.Linear(k, params["W2"].shape[0], bias=False)
        with torch.no_grad():
            self.embed_to_hidden.weight.copy_(params["W1"])
            self.embed_to_hidden.bias.copy_(params["b1"])
            self.hidden_to_out.weight.copy_(params["W2"])
        for n, m in (masks or {}).items():
            self.register_buffer(f"mask_{n}", m.bool().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden_to_out(self.hidden(self.embed_to_hidden(x)))


class _Nonlinearity(torch.nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return NONLINEARITY[self.name](z)

    def extra_repr(self) -> str:
        return self.name


def as_module(run) -> ToyModel:
    """A loaded run (models.load_run) as a ToyModel whose forward equals models.model.forward on its weights."""
    masks = {n[len("mask."):]: t for n, t in run.extra.items() if n.startswith("mask.")}
    return ToyModel(run.params, run.config.nonlinearity, masks)


def params_from_module(m: ToyModel) -> dict[str, torch.Tensor]:
    """The {W1, b1, W2} dict of a ToyModel (detached copies), for every tool that takes parameters."""
    return {"W1": m.embed_to_hidden.weight.detach().clone(), "b1": m.embed_to_hidden.bias.detach().clone(),
            "W2": m.hidden_to_out.weight.detach().clone()}
