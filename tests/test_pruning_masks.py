"""pruning.masks: the sparsity law, magnitude pruning (exact counts, ties), global vs per-layer, densities."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pruning import masks as M


def _params(k, d, out, gen, ties=False):
    draw = (lambda *s: torch.randint(-3, 4, s, generator=gen).float()) if ties else (lambda *s: torch.randn(*s, generator=gen))
    return {"W1": draw(k, d), "b1": torch.zeros(k), "W2": draw(out, k)}


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 24), d=st.integers(1, 12), out=st.integers(1, 24), rate=st.floats(0.01, 0.99),
       rounds=st.integers(1, 6), scope=st.sampled_from(M.SCOPES), ties=st.booleans(), seed=st.integers(0, 2**16))
def test_sparsity_law_holds_exactly_at_every_level(k, d, out, rate, rounds, scope, ties, seed):
    params = _params(k, d, out, torch.Generator().manual_seed(seed), ties)
    shapes = {n: tuple(params[n].shape) for n in M.PRUNABLE}
    masks = M.ones_like(params)
    for r in range(1, rounds + 1):
        keep = M.level_keep(shapes, r, rate, None, scope)
        new = M.magnitude_prune(params, masks, keep)
        assert all(bool((new[n] <= masks[n]).all()) for n in M.PRUNABLE)  # nested: pruned weights stay pruned
        c = M.counts(new)
        sizes = {n: params[n].numel() for n in M.PRUNABLE}
        if scope == "layer":
            for n in M.PRUNABLE:
                assert c[n] == keep[n] == M.keep_count(sizes[n], rate, r)
                assert abs(c[n] - sizes[n] * (1 - rate) ** r) <= 0.5 + 1e-9
        else:
            total = sum(sizes.values())
            assert c["total"] == keep == M.keep_count(total, rate, r)
            assert abs(c["total"] - total * (1 - rate) ** r) <= 0.5 + 1e-9
        again = M.magnitude_prune(params, masks, keep)
        assert all(torch.equal(again[n], new[n]) for n in M.PRUNABLE)  # deterministic, ties included
        masks = new


def test_keep_count_rounds_half_up_and_matches_the_law():
    assert M.keep_count(10, 0.5, 1) == 5 and M.keep_count(5, 0.5, 1) == 3  # 2.5 -> 3
    assert [M.keep_count(1000, 0.2, r) for r in range(4)] == [1000, 800, 640, 512]
    assert M.keep_count(40960, 0.2, 10) == round(40960 * 0.8**10)


def test_magnitude_pruning_keeps_the_largest_and_breaks_ties_by_index():
    w = torch.tensor([[0.5, -2.0, 1.0, -1.0], [1.0, 0.1, -3.0, 0.0]])
    params = {"W1": w, "W2": torch.ones(1, 2)}
    masks = M.ones_like(params)
    new = M.magnitude_prune(params, masks, {"W1": 4, "W2": 2})
    # |w| = 0.5 2 1 1 / 1 0.1 3 0: the three 1.0s tie for the last place; the lowest flat index wins
    assert new["W1"].tolist() == [[False, True, True, True], [False, False, True, False]]
    masks["W1"][0, 1] = False  # a pruned weight never comes back, however large
    new = M.magnitude_prune(params, masks, {"W1": 2, "W2": 2})
    assert new["W1"].tolist() == [[False, False, True, False], [False, False, True, False]]


def test_global_and_layer_pruning_differ_as_they_should():
    gen = torch.Generator().manual_seed(0)
    params = _params(32, 8, 16, gen)
    params["W1"] = params["W1"].sign() * (1 + params["W1"].abs())  # |W1| >= 1
    params["W2"] = params["W2"].clamp(-0.9, 0.9)  # |W2| < 1: every W2 weight is smaller than every W1 weight
    shapes = {n: tuple(params[n].shape) for n in M.PRUNABLE}
    ones = M.ones_like(params)
    layer = M.magnitude_prune(params, ones, M.level_keep(shapes, 1, 0.2, None, "layer"))
    glob = M.magnitude_prune(params, ones, M.level_keep(shapes, 1, 0.2, None, "global"))
    # layer: each layer loses its own 20%; global: the pool loses 20%, all of it from the small-magnitude W2
    assert M.counts(layer)["W1"] == M.keep_count(256, 0.2, 1) and M.counts(layer)["W2"] == M.keep_count(512, 0.2, 1)
    assert M.counts(glob)["total"] == M.keep_count(768, 0.2, 1)
    assert bool(glob["W1"].all()) and M.counts(glob)["W2"] == M.keep_count(768, 0.2, 1) - 256
    # global: one threshold over both layers; layer: one threshold per layer only
    mags = {n: params[n].abs() for n in M.PRUNABLE}
    kept_min = min(float(mags[n][glob[n]].min()) for n in M.PRUNABLE)
    pruned_max = max(float(mags[n][~glob[n]].max()) for n in M.PRUNABLE if (~glob[n]).any())
    assert kept_min >= pruned_max
    for n in M.PRUNABLE:
        assert float(mags[n][layer[n]].min()) >= float(mags[n][~layer[n]].max())
    assert float(mags["W2"][layer["W2"]].min()) < float(mags["W1"][~layer["W1"]].max())


def test_rate_out_prunes_w2_at_its_own_rate():
    keep = M.level_keep({"W1": (10, 10), "W2": (10, 10)}, 3, 0.2, 0.1, "layer")
    assert keep == {"W1": M.keep_count(100, 0.2, 3), "W2": M.keep_count(100, 0.1, 3)}


def test_cannot_keep_more_than_survive():
    params = _params(4, 4, 4, torch.Generator().manual_seed(0))
    masks = M.ones_like(params)
    with pytest.raises(ValueError):
        M.magnitude_prune(params, masks, {"W1": 17, "W2": 1})


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.8, 0.9, 0.95, 0.999])
@pytest.mark.parametrize("dist", M.DISTRIBUTIONS)
def test_layer_counts_hit_the_total_exactly(sparsity, dist):
    shapes = {"W1": (256, 32), "W2": (128, 256)}
    keep = M.layer_keep_counts(shapes, sparsity, dist)
    total = 256 * 32 + 128 * 256
    assert keep["W1"] + keep["W2"] == math.floor(total * (1 - sparsity) + 0.5)
    assert all(0 <= keep[n] <= math.prod(shapes[n]) for n in M.PRUNABLE)
    dens = {n: keep[n] / math.prod(shapes[n]) for n in M.PRUNABLE}
    if dist == "uniform":
        assert abs(dens["W1"] - dens["W2"]) <= 2 / 8192
    elif 0 < sparsity <= 0.95 and dens["W1"] < 1:  # (at 0.999, 41 weights in all: rounding dominates)
        # ERK: density proportional to (n_in + n_out) / (n_in n_out): W1 (32 -> 256) gets 3x W2's (256 -> 128)
        assert dens["W1"] / dens["W2"] == pytest.approx(3.0, rel=0.02)


def test_erk_keeps_a_layer_dense_when_its_share_would_exceed_one():
    keep = M.layer_keep_counts({"W1": (256, 32), "W2": (128, 256)}, 0.5, "erk")
    assert keep["W1"] == 256 * 32 and keep["W1"] + keep["W2"] == 20480


def test_random_mask_has_the_exact_count():
    gen = torch.Generator().manual_seed(0)
    for keep in (0, 1, 37, 100):
        m = M.random_mask((10, 10), keep, gen)
        assert m.shape == (10, 10) and int(m.sum()) == keep
