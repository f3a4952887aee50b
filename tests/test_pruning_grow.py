"""pruning.grow: drop and grow counts, what RigL/SET choose, zeros stay zero, resume, the static baseline."""
import json
import math

import pytest
import torch

from conftest import tiny
from models import runs
from models.config import ConfigError
from models.optim import make_optimizer
from pruning import masks as M
from pruning.grow import GROW_JSON, Grower, GrowSettings, initial_masks, run_grow
from pruning.imp import run_masks

CFG = dict(steps=64, batch=64, lr=0.03)


def _setup(method, seed=0):
    cfg = tiny(**CFG)
    s = GrowSettings(method=method, sparsity=0.8, update_every=8)
    gen = torch.Generator().manual_seed(seed)
    masks = initial_masks(s, cfg)
    params = {"W1": torch.randn(cfg.k, cfg.d_embed, generator=gen), "b1": torch.zeros(cfg.k),
              "W2": torch.randn(cfg.n_features, cfg.k, generator=gen)}
    for n in M.PRUNABLE:
        params[n] *= masks[n]
    opt = make_optimizer("lamb", params)
    for n in params:
        opt.exp_avg[n].fill_(1.0)
        opt.exp_avg_sq[n].fill_(1.0)
    grower = Grower(s, cfg)
    for n in M.PRUNABLE:
        params[n].grad = torch.randn(params[n].shape, generator=gen)
    grower.grad_hook(7, params)  # step 7 is the 8th update: an update step
    return cfg, s, grower, params, opt, masks


@pytest.mark.parametrize("method", ["rigl", "set"])
def test_grows_exactly_as_many_as_it_drops(method):
    cfg, s, grower, params, opt, masks = _setup(method)
    old = {n: m.clone() for n, m in masks.items()}
    w_old = {n: params[n].clone() for n in M.PRUNABLE}
    dense = {n: params[n].grad.clone() for n in M.PRUNABLE}
    grower(8, params, opt, masks)
    h = grower.history[-1]
    alpha = 0.3 / 2 * (1 + math.cos(math.pi * 8 / grower.t_end))
    assert h["step"] == 8 and h["drop_fraction"] == pytest.approx(alpha)
    for n in M.PRUNABLE:
        active = int(old[n].sum())
        k = math.floor(alpha * active + 0.5)
        assert int(masks[n].sum()) == active == grower.keep[n]  # the count never changes
        assert h[n]["dropped"] == h[n]["grown"] == k
        gone, new = old[n] & ~masks[n], masks[n] & ~old[n]
        assert int(gone.sum()) == int(new.sum()) == h[n]["moved"] <= k and h[n]["moved"] > 0
        # dropped: the k smallest magnitudes among the active (some may be regrown at once)
        mag = torch.where(old[n], w_old[n].abs(), torch.full_like(w_old[n], float("inf"))).flatten()
        drop = torch.zeros(mag.numel(), dtype=torch.bool)
        drop[torch.sort(mag, stable=True).indices[:k]] = True
        drop = drop.view_as(old[n])
        assert bool((gone <= drop).all()) and bool(((old[n] & ~drop) <= masks[n]).all())
        # grown start at zero with fresh optimizer moments; the rest keep theirs
        changed = gone | new
        assert bool((params[n][changed] == 0).all()) and bool((opt.exp_avg[n][changed] == 0).all())
        assert bool((opt.exp_avg_sq[n][changed] == 0).all()) and bool((opt.exp_avg[n][~changed] == 1).all())
        assert torch.equal(params[n][masks[n] & old[n]], w_old[n][masks[n] & old[n]])
        if method == "rigl":  # grown: the largest dense-gradient magnitudes among the candidates
            g = dense[n].abs()
            candidates = ~(old[n] & ~drop)
            grown = masks[n] & candidates
            assert int(grown.sum()) == k
            assert float(g[grown].min()) >= float(g[candidates & ~grown].max())


def test_no_updates_off_schedule_or_for_static():
    cfg, s, grower, params, opt, masks = _setup("rigl")
    before = {n: m.clone() for n, m in masks.items()}
    grower(7, params, opt, masks)  # not a multiple of update_every
    grower(48, params, opt, masks)  # t_end = 0.75 * 64 = 48: no updates from there on
    assert grower.history == [] and all(torch.equal(before[n], masks[n]) for n in M.PRUNABLE)
    cfg, s, grower, params, opt, masks = _setup("static")
    grower(8, params, opt, masks)
    assert grower.history == [] and all(torch.equal(before[n], masks[n]) for n in M.PRUNABLE)


@pytest.mark.parametrize("method", ["rigl", "static"])
def test_sparse_run_keeps_its_count_and_zeros(tmp_path, method):
    s = GrowSettings(method=method, sparsity=0.9, update_every=8, distribution="erk")
    summary = run_grow(s, tiny(**CFG), tmp_path / "g", plots=False)
    assert summary["final_loss"] > 0
    run = runs.load_run(tmp_path / "g")
    m = run_masks(run)
    g = json.loads((tmp_path / "g" / GROW_JSON).read_text())
    assert {n: int(m[n].sum()) for n in M.PRUNABLE} == g["keep"]
    assert g["remaining"] == math.floor((run.params["W1"].numel() + run.params["W2"].numel()) * 0.1 + 0.5)
    for n in M.PRUNABLE:
        assert bool((run.params[n][~m[n]] == 0).all())
    if method == "rigl":
        assert [h["step"] for h in g["history"]] == [8, 16, 24, 32, 40]
        assert not torch.equal(m["W1"], initial_masks(s, run.config)["W1"])  # the mask did move
    else:
        assert g["history"] == [] and all(torch.equal(m[n], initial_masks(s, run.config)[n]) for n in M.PRUNABLE)


@pytest.mark.parametrize("method", ["rigl", "set"])
def test_resumed_grow_equals_uninterrupted(tmp_path, method):
    s = GrowSettings(method=method, sparsity=0.8, update_every=8)
    ref = run_grow(s, tiny(**CFG), tmp_path / "ref", plots=False)
    assert run_grow(s, tiny(**CFG), tmp_path / "cut", stop_after=20, plots=False) == {}
    assert not runs.is_finished(tmp_path / "cut")
    cut = run_grow(s, tiny(**CFG), tmp_path / "cut", plots=False)
    assert cut["final_loss"] == ref["final_loss"]
    a, b = (runs.read_tensors(tmp_path / d / "model.safetensors") for d in ("ref", "cut"))
    assert all(torch.equal(a[n], b[n]) for n in a)
    ga, gb = (json.loads((tmp_path / d / GROW_JSON).read_text()) for d in ("ref", "cut"))
    assert ga == gb and ga["updates"] == 5


def test_bad_settings_and_clashing_out_are_refused(tmp_path):
    for kw, needle in ((dict(sparsity=1.0), "--sparsity"), (dict(sparsity=-0.1), "--sparsity"),
                       (dict(method="magic"), "unknown --method"), (dict(update_every=0), "--update-every"),
                       (dict(drop_fraction=0), "--drop-fraction"), (dict(distribution="x"), "--distribution")):
        with pytest.raises(ConfigError, match=needle):
            GrowSettings(**kw)
    s = GrowSettings(method="static", sparsity=0.5)
    run_grow(s, tiny(steps=8, batch=32), tmp_path / "g", plots=False)
    with pytest.raises(ConfigError, match="other settings"):
        run_grow(GrowSettings(method="static", sparsity=0.6), tiny(steps=8, batch=32), tmp_path / "g", plots=False)
    with pytest.raises(ConfigError, match="another recipe"):
        run_grow(s, tiny(steps=8, batch=32, lr=0.1), tmp_path / "g", plots=False)
