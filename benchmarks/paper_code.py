"""The paper's training loop (adamjermyn/toy_model_interpretability, model3.py), on the CPU.

Written from reading that code, as a baseline for speed (train_step.py) and for statistical parity
of results (paper_code_parity.py): dense Bernoulli feature mask, nn.Sequential, torch_optimizer's
Lamb, CosineAnnealingLR(T_max=512) stepped every update, bias decay by a state-dict round trip in the
first half, a host sync for the loss every 16 steps, a deepcopy of the model at log2 checkpoints.
"""
from __future__ import annotations

import copy

import torch


def paper_train(P: torch.Tensor, eps: float, k: int, batch: int, steps: int, lr: float, bias_init: float = 0.0,
                decay: float = 0.0, l1: float = 0.0, seed: int = 0):
    """Train as the paper's code does (decoder task, ReLU); returns (model, losses, checkpoints)."""
    import torch_optimizer

    torch.manual_seed(seed)
    d, n = P.shape
    model = torch.nn.Sequential(torch.nn.Linear(d, k), torch.nn.ReLU(), torch.nn.Linear(k, n, bias=False))
    state = model.state_dict()
    state["0.bias"] += bias_init
    model.load_state_dict(state)
    opt = torch_optimizer.Lamb(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=512, eta_min=0)
    losses, models = [], []
    for i in range(steps):
        opt.zero_grad(set_to_none=True)
        v = torch.rand(batch, n) * torch.bernoulli(torch.full((batch, n), eps))
        x = v @ P.T
        out = model(x)
        loss = torch.sum((out - v) ** 2) / batch
        if l1:  # the paper's L1 variant runs the first layer a second time to get the activations
            loss = loss + l1 * model[:2](x).abs().sum() / batch
        loss.backward()
        opt.step()
        sched.step()
        if i < steps / 2:
            state = model.state_dict()
            state["0.bias"] *= 1 - decay * lr
            model.load_state_dict(state)
        if i % 16 == 0:
            losses.append(float(loss.detach()))
        if i & (i + 1) == 0:
            models.append(copy.deepcopy(model))
    return model, losses, models


def params_of(model) -> dict[str, torch.Tensor]:
    """The run store's names for the paper model's tensors."""
    sd = model.state_dict()
    return {"W1": sd["0.weight"].detach().clone(), "b1": sd["0.bias"].detach().clone(),
            "W2": sd["2.weight"].detach().clone()}
