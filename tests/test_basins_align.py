"""Alignment: recovers hidden-unit permutations, is symmetric up to inverse, keeps the function."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basins.align import align, check_compatible, inverse, permute, same_function
from models.runs import RunError, load_run



def random_params(k, d, out, seed):
    g = torch.Generator().manual_seed(seed)
    return {"W1": torch.randn(k, d, generator=g), "b1": torch.randn(k, generator=g),
            "W2": torch.randn(out, k, generator=g)}


@settings(max_examples=25, deadline=None)
@given(k=st.integers(2, 40), d=st.integers(1, 8), out=st.integers(1, 8), seed=st.integers(0, 10**6),
       method=st.sampled_from(["weight", "activation"]))
def test_alignment_recovers_a_hidden_permutation(k, d, out, seed, method):
    p = random_params(k, d, out, seed)
    q = np.random.default_rng(seed).permutation(k)
    shuffled = permute(p, q)
    x = torch.randn(512, d, generator=torch.Generator().manual_seed(seed + 1))
    al = align(p, shuffled, method, x)
    back = permute(shuffled, al.perm)
    if method == "weight":
        assert np.array_equal(al.perm, inverse(q))
    else:  # dead or duplicate-activation units may tie; the function and the live units must match
        assert same_function(p, back, x, "relu") < 1e-5
    for n in ("W1", "b1", "W2"):
        if method == "weight":
            assert torch.equal(back[n], p[n])
    assert al.objective_after >= al.objective_before - 1e-9


@settings(max_examples=25, deadline=None)
@given(k=st.integers(2, 30), seed=st.integers(0, 10**6))
def test_weight_matching_is_symmetric_up_to_inverse(k, seed):
    a, b = random_params(k, 5, 4, seed), random_params(k, 5, 4, seed + 1)
    ab, ba = align(a, b, "weight").perm, align(b, a, "weight").perm
    assert np.array_equal(ab, inverse(ba))


def test_permutation_keeps_the_function_and_a_real_change_is_caught():
    p = random_params(16, 4, 3, 0)
    x = torch.randn(256, 4)
    q = np.random.default_rng(0).permutation(16)
    assert same_function(p, permute(p, q), x, "relu") < 1e-5
    broken = dict(p, W2=p["W2"].clone())
    broken["W2"][:, 0] += 1.0
    with pytest.raises(RunError, match="same function"):
        same_function(p, broken, x, "relu")


def test_runs_of_other_tasks_or_widths_are_refused(tiny_runs):
    a = load_run(tiny_runs / "s0")
    check_compatible(a, load_run(tiny_runs / "s1"))
    with pytest.raises(RunError, match="different tasks"):
        check_compatible(a, load_run(tiny_runs / "other_task"))
    with pytest.raises(RunError, match="different shapes"):
        check_compatible(a, load_run(tiny_runs / "other_k"))
