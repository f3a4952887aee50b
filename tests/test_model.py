import math

import torch
from hypothesis import given, settings, strategies as st

from models.config import TrainConfig
from models.model import forward, init_params, solu


def test_init_is_linear_default_plus_bias_offset():
    cfg = TrainConfig(n_features=64, d_embed=16, k=4096, bias_init=-1.0)
    p = init_params(cfg, torch.Generator().manual_seed(0))
    a1, a2 = 1 / math.sqrt(16), 1 / math.sqrt(4096)
    assert p["W1"].shape == (4096, 16) and p["W2"].shape == (64, 4096)
    assert p["W1"].abs().max() <= a1 and p["W2"].abs().max() <= a2
    assert (p["b1"] >= -1 - a1).all() and (p["b1"] <= -1 + a1).all()
    assert abs(float(p["b1"].mean()) + 1) < 0.01  # the offset is a mean, not a constant
    assert float(p["b1"].std()) > 0.1


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), nl=st.sampled_from(["relu", "gelu", "solu"]))
def test_hidden_permutation_leaves_the_function_unchanged(seed, nl):
    g = torch.Generator().manual_seed(seed)
    cfg = TrainConfig(n_features=32, d_embed=8, k=24)
    p = init_params(cfg, g)
    perm = torch.randperm(24, generator=g)
    q = {"W1": p["W1"][perm], "b1": p["b1"][perm], "W2": p["W2"][:, perm]}
    x = torch.randn(50, 8, generator=g)
    assert torch.allclose(forward(p, x, nl), forward(q, x, nl), atol=1e-5)


def test_solu_is_x_exp_x():
    x = torch.linspace(-3, 3, 7)
    assert torch.allclose(solu(x), x * torch.exp(x))


def test_hand_written_relu_gradients_equal_autograd():
    from models.model import hidden, relu_loss_and_grads
    from models.tasks import task_loss

    g = torch.Generator().manual_seed(0)
    cfg = TrainConfig(n_features=40, d_embed=12, k=30)
    p = init_params(cfg, g)
    p["b1"] -= 0.1
    x, y = torch.randn(64, 12, generator=g), torch.rand(64, 40, generator=g)
    for l1 in (0.0, 0.05):
        q = {n: t.clone().requires_grad_(True) for n, t in p.items()}
        h = hidden(q, x)
        loss = task_loss(h @ q["W2"].t(), y)
        (loss + l1 * h.abs().sum() / 64).backward()
        for chunk in (1024, 24, 7):  # one chunk, and row chunks that do and do not divide the batch
            ours, grads = relu_loss_and_grads(p, x, y, l1, chunk=chunk)
            torch.testing.assert_close(ours, loss.detach(), rtol=1e-5, atol=1e-6)
            for n in q:
                torch.testing.assert_close(grads[n], q[n].grad, rtol=1e-4, atol=1e-6)
