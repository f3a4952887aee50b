import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from models.config import TrainConfig
from models.tasks import SparseSampler, Task, eval_set, feature_probs, make_task_tensors, random_projection


def test_projection_has_unit_norm_features_and_is_seeded():
    P = random_projection(64, 16, seed=3, stream=0)
    assert P.shape == (16, 64)
    assert torch.allclose(P.norm(dim=0), torch.ones(64), atol=1e-5)
    assert torch.equal(P, random_projection(64, 16, seed=3, stream=0))
    assert not torch.equal(P, random_projection(64, 16, seed=4, stream=0))


def test_task_depends_on_task_seed_not_seed():
    a = make_task_tensors(TrainConfig(task="reprojector", n_features=64, d_embed=16, seed=0))
    b = make_task_tensors(TrainConfig(task="reprojector", n_features=64, d_embed=16, seed=9))
    c = make_task_tensors(TrainConfig(task="reprojector", n_features=64, d_embed=16, task_seed=1))
    assert set(a) == {"P", "Q"} and torch.equal(a["P"], b["P"]) and torch.equal(a["Q"], b["Q"])
    assert not torch.equal(a["P"], c["P"]) and not torch.equal(a["P"], a["Q"])


def test_power_law_probs():
    """p_i ~ i^-1.1 rescaled to sum N*eps, THEN clipped at 1 (as the paper's code): the sum drops below."""
    p = feature_probs(512, 1 / 64, "power_law")
    raw = torch.arange(1, 513, dtype=torch.float64) ** -1.1
    raw *= 8.0 / raw.sum()
    assert float(raw[0]) > 1 and float(p[0]) == 1.0
    assert torch.allclose(p[1:], raw[1:]) and float(p.sum()) < 8.0
    assert (p[:-1] >= p[1:]).all()
    clipped = feature_probs(64, 0.5, "power_law")
    assert float(clipped.max()) == 1.0 and float(clipped.sum()) < 32


@settings(max_examples=12, deadline=None)
@given(eps=st.sampled_from([0.01, 0.05, 0.3, 0.9, 1.0]), freq=st.sampled_from(["uniform", "power_law"]),
       seed=st.integers(0, 1000))
def test_sampler_is_bernoulli_per_position(eps, freq, seed):
    """Empirical frequency of every feature matches p_i (z-score), positions are unique and in range."""
    n, batch = 48, 4096
    p = feature_probs(n, eps, freq)
    s = SparseSampler(p, torch.device("cpu"))
    rows, cols, vals = s.sample(batch, torch.Generator().manual_seed(seed))
    flat = cols * batch + rows
    assert flat.unique().numel() == flat.numel()
    assert rows.min() >= 0 and rows.max() < batch and cols.max() < n
    assert vals.min() >= 0 and vals.max() < 1
    freq_hat = torch.bincount(cols, minlength=n).double() / batch
    sd = (p * (1 - p) / batch).sqrt()
    z = ((freq_hat - p).abs() / sd.clamp(min=1e-12))[p < 1]
    assert z.numel() == 0 or float(z.max()) < 5.5
    assert torch.equal(freq_hat[p >= 1], torch.ones_like(freq_hat[p >= 1]))


def test_rows_are_independent_of_each_other():
    """Counts of active features per sample are Binomial(N, eps): mean and variance match."""
    s = SparseSampler(feature_probs(256, 1 / 16, "uniform"), torch.device("cpu"))
    rows, _, _ = s.sample(20000, torch.Generator().manual_seed(1))
    counts = torch.bincount(rows, minlength=20000).double()
    assert abs(float(counts.mean()) - 16) < 0.2
    assert abs(float(counts.var()) - 256 * (1 / 16) * (15 / 16)) < 1.0


@pytest.mark.parametrize("task", ["decoder", "reprojector", "abs"])
def test_task_targets(task):
    cfg = TrainConfig(task=task, n_features=64, d_embed=16, eps=0.1)
    t = Task(cfg)
    x, y = t.sample(512, torch.Generator().manual_seed(0))
    assert x.shape == (512, 16) and y.shape == (512, cfg.out_dim)
    if task == "decoder":
        assert torch.allclose(x, y @ t.P.t(), atol=1e-5)
    elif task == "reprojector":
        # y = Q v and x = P v for the same sparse v: recover v by least squares on both is overkill;
        # check linearity instead: both are images of one v, so rank([x y]) <= N and Q != P
        assert not torch.allclose(x, y)
    else:
        assert (y >= 0).all()
        # |v| has the support of v, and x = P v with signed v: |x| <= P|v| elementwise bound on norms
        assert float((x.norm(dim=1) <= y.norm(dim=1) * math.sqrt(64) + 1e-4).float().mean()) == 1.0


def test_abs_input_is_difference_of_two_sparse_vectors():
    cfg = TrainConfig(task="abs", n_features=64, d_embed=64, eps=0.2)
    t = Task(cfg)
    x, y = t.sample(256, torch.Generator().manual_seed(5))
    v = x @ torch.linalg.pinv(t.P).t()  # d = N, P invertible: recover the signed v
    assert torch.allclose(v.abs(), y, atol=1e-4)
    assert (v < -1e-3).any() and (v > 1e-3).any()


def test_eval_set_is_fixed_per_task_and_loss_baseline():
    cfg = TrainConfig(n_features=512, d_embed=64, eps=1 / 64)
    x1, y1 = eval_set(cfg)
    x2, y2 = eval_set(cfg.replace(seed=7, lr=0.1, k=3))
    assert x1.shape == (2**16, 64) and torch.equal(x1, x2) and torch.equal(y1, y2)
    x3, _ = eval_set(cfg.replace(task_seed=1))
    assert not torch.equal(x1, x3)
    baseline = float((y1**2).sum(1).mean())  # loss of the zero predictor: N * eps / 3
    assert abs(baseline - 512 / 64 / 3) < 0.03


@pytest.mark.parametrize("task", ["decoder", "abs"])
@pytest.mark.parametrize("freq", ["uniform", "power_law"])
def test_dense_sampler_for_accelerators_draws_the_same_distribution(task, freq):
    """The accelerator path (a dense Bernoulli mask, no host syncs) is chosen for non-CPU devices and
    matches the gap sampler in distribution: per-feature frequency and amplitudes (tested on the CPU)."""
    cfg = TrainConfig(task=task, n_features=48, d_embed=16, eps=0.1, freq=freq)
    assert not Task(cfg, "cpu").dense and Task(cfg, "meta").dense
    batch = 20000
    dense, gaps = Task(cfg, "cpu", dense=True), Task(cfg, "cpu")
    _, yd = dense.sample(batch, torch.Generator().manual_seed(0))
    _, yg = gaps.sample(batch, torch.Generator().manual_seed(1))
    fd, fg = (yd != 0).double().mean(0), (yg != 0).double().mean(0)
    p = fg.clamp(1e-3, 1 - 1e-3)
    sd = (2 * p * (1 - p) / batch).sqrt()
    assert float(((fd - fg).abs() / sd).max()) < 5.5
    assert abs(float(yd[yd != 0].mean()) - float(yg[yg != 0].mean())) < 0.01
    assert float(yd.min()) >= 0 and float(yd.max()) < (2 if task == "abs" else 1)
