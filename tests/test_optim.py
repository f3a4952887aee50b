"""Our LAMB and Adam against the reference implementations, step for step."""
import pytest
import torch

from models.optim import Adam, Lamb
from models.train import lr_at
from models.config import TrainConfig


def _run(ours_cls, ref_factory, steps=60, zero_param=True):
    g = torch.Generator().manual_seed(0)
    shapes = {"W1": (32, 8), "b1": (32,), "W2": (16, 32)}
    init = {n: torch.randn(s, generator=g) * 0.3 for n, s in shapes.items()}
    if zero_param:
        init["b1"].zero_()  # weight norm 0: trust ratio falls back to 1
    ours = {n: t.clone().requires_grad_(True) for n, t in init.items()}
    ref = [t.clone().requires_grad_(True) for t in init.values()]
    opt, ropt = ours_cls(ours), ref_factory(ref)
    for step in range(steps):
        lr = 0.01 * (1 + step % 7) / 7
        for r in ropt.param_groups:
            r["lr"] = lr
        grads = [torch.randn(s, generator=g) * (10.0 if step % 11 == 0 else 1.0) for s in shapes.values()]
        for p, r, gr in zip(ours.values(), ref, grads):
            p.grad, r.grad = gr.clone(), gr.clone()
        opt.step(lr)
        ropt.step()
        for p, r in zip(ours.values(), ref):
            torch.testing.assert_close(p.detach(), r.detach(), rtol=2e-6, atol=2e-7)
    return ours, ref


def test_lamb_matches_torch_optimizer_lamb():
    torch_optimizer = pytest.importorskip("torch_optimizer")
    _run(Lamb, lambda ps: torch_optimizer.Lamb(ps, lr=0.01))  # its defaults are the paper's


def test_lamb_weight_norm_clamp_is_active():
    torch_optimizer = pytest.importorskip("torch_optimizer")
    g = torch.Generator().manual_seed(1)
    big = torch.randn(64, 64, generator=g) * 5  # norm >> 10
    ours = {"W": big.clone().requires_grad_(True)}
    ref = [big.clone().requires_grad_(True)]
    o, r = Lamb(ours), torch_optimizer.Lamb(ref, lr=0.1)
    for _ in range(5):
        gr = torch.randn(64, 64, generator=g)
        ours["W"].grad, ref[0].grad = gr.clone(), gr.clone()
        o.step(0.1)
        r.step()
    torch.testing.assert_close(ours["W"].detach(), ref[0].detach(), rtol=2e-6, atol=2e-6)


def test_adam_matches_torch_adam():
    _run(Adam, lambda ps: torch.optim.Adam(ps, lr=0.01), zero_param=False)


def test_state_roundtrip():
    p = {"W": torch.randn(4, 4, requires_grad=True)}
    o = Lamb(p)
    p["W"].grad = torch.randn(4, 4)
    o.step(0.1)
    o2 = Lamb({"W": p["W"].detach().clone().requires_grad_(True)})
    o2.load_state_tensors(o.state_tensors())
    assert o2.step_count == 1 and torch.equal(o2.exp_avg["W"], o.exp_avg["W"])


def test_restart_cosine_is_the_papers_cosine_annealing_lr():
    """The paper stepped CosineAnnealingLR(T_max=512) for the whole run: lr rises back after 512."""
    cfg = TrainConfig(lr=0.03, schedule="restart-cosine", steps=3000)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.03)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=512, eta_min=0)
    for step in range(3000):
        assert abs(opt.param_groups[0]["lr"] - lr_at(cfg, step)) < 1e-9
        opt.step()
        sched.step()
    assert lr_at(cfg, 512) < 1e-12 and abs(lr_at(cfg, 1024) - 0.03) < 1e-12


def test_other_schedules():
    c = TrainConfig(lr=0.01, schedule="cosine", steps=100)
    assert lr_at(c, 0) == 0.01 and lr_at(c, 100) < 1e-12 and abs(lr_at(c, 50) - 0.005) < 1e-12
    assert lr_at(TrainConfig(lr=0.01, schedule="constant"), 777) == 0.01
