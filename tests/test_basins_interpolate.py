"""Interpolation: the blended first layer equals full forwards, endpoints reproduce each run's eval loss,
barriers keep their sign, a permuted copy sits at barrier ~0 after alignment and not before."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basins.align import align, permute
from basins.interpolate import barriers, lerp_params, linear_path, path_losses
from models.model import forward
from models.runs import load_run
from models.tasks import eval_set, task_loss



@settings(max_examples=20, deadline=None)
@given(alpha=st.floats(0, 1), seed=st.integers(0, 1000), nl=st.sampled_from(["relu", "gelu"]))
def test_blended_preactivations_equal_a_full_forward(alpha, seed, nl):
    g = torch.Generator().manual_seed(seed)
    pa = {"W1": torch.randn(12, 5, generator=g), "b1": torch.randn(12, generator=g), "W2": torch.randn(7, 12, generator=g)}
    pb = {n: torch.randn(t.shape, generator=g) for n, t in pa.items()}
    x, y = torch.randn(300, 5, generator=g), torch.randn(300, 7, generator=g)
    got = path_losses(pa, pb, [alpha], x, y, nl, chunk=128)[0]
    want = float(task_loss(forward(lerp_params(pa, pb, alpha), x, nl), y))
    assert got == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_barrier_definitions_keep_the_sign():
    a = np.linspace(0, 1, 5)
    bump = barriers(a, [1.0, 2.5, 3.0, 2.5, 2.0])
    assert bump["barrier"] == pytest.approx(3.0 - 1.5)  # above the linear blend at the middle
    assert bump["barrier_mean"] == pytest.approx(3.0 - 1.5)
    assert bump["barrier_rel"] == pytest.approx(1.5 / 1.5)
    tilted = barriers(a, [1.0, 1.5, 2.2, 2.9, 3.0])  # equal-loss definitions differ when endpoints do
    assert tilted["barrier_mean"] == pytest.approx(3.0 - 2.0)
    assert tilted["barrier"] == pytest.approx(0.4)  # at alpha 0.75: 2.9 - 2.5
    dip = barriers(a, [1.0, 0.8, 0.7, 0.8, 1.0])
    assert dip["barrier"] == 0.0 and dip["barrier_mean"] == 0.0  # the endpoints themselves bound it


def test_endpoints_reproduce_each_runs_eval_loss(tiny_runs):
    a, b = load_run(tiny_runs / "s0"), load_run(tiny_runs / "s1")
    path = linear_path(a.params, b.params, a.config, points=5)
    assert path.loss[0] == pytest.approx(a.summary["final_loss"], rel=1e-5)
    assert path.loss[-1] == pytest.approx(b.summary["final_loss"], rel=1e-5)
    assert path.mono[0] == a.summary["mono_per_N"] and path.mono[-1] == b.summary["mono_per_N"]


def test_a_permuted_copy_is_connected_only_after_alignment(tiny_runs):
    a = load_run(tiny_runs / "s0")
    q = np.random.default_rng(3).permutation(a.config.k)
    shuffled = permute(a.params, q)
    naive = linear_path(a.params, shuffled, a.config, points=9, eval_size=4096)
    assert naive.barriers["barrier"] > 0.05 * naive.loss[0]
    al = align(a.params, shuffled, "weight")
    assert np.array_equal(permute(shuffled, al.perm)["W1"].numpy(), a.params["W1"].numpy())
    aligned = linear_path(a.params, permute(shuffled, al.perm), a.config, points=9, eval_size=4096)
    assert abs(aligned.barriers["barrier"]) < 1e-6


def test_eval_set_is_shared_by_runs_of_one_task(tiny_runs):
    a, b = load_run(tiny_runs / "s0"), load_run(tiny_runs / "s2")
    xa, _ = eval_set(a.config, "cpu", 1024)
    xb, _ = eval_set(b.config, "cpu", 1024)
    assert torch.equal(xa, xb)
