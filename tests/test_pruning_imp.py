"""pruning.imp: level dirs, the sparsity law per level, zeros stay zero, rewinding, controls, resume by level."""
import json

import pytest
import torch

from conftest import tiny
from models import runs
from models.config import ConfigError
from models.train import train_run
from pruning import masks as M
from pruning.imp import ImpSettings, level_dir, plan_imp, run_imp, run_masks

CFG = dict(steps=64, batch=64, lr=0.03)


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    d = tmp_path_factory.mktemp("dense") / "run"
    train_run(tiny(**CFG), d, plots=False)
    return d


@pytest.fixture(scope="module")
def imp_dir(tmp_path_factory, dense):
    out = tmp_path_factory.mktemp("imp") / "imp"
    run_imp(plan_imp(ImpSettings(rounds=3, rate=0.3), out, run=dense, plots=False))
    return out


def _weights(d):
    return runs.read_tensors(d / "model.safetensors")


def test_every_level_is_a_run_dir_with_masks_following_the_law(imp_dir):
    data = json.loads((imp_dir / "levels.json").read_text())
    assert [r["level"] for r in data["levels"]] == [0, 1, 2, 3] and data["method"] == "imp"
    cfg = tiny(**CFG)
    n1, n2 = cfg.k * cfg.d_embed, cfg.n_features * cfg.k
    for row in data["levels"]:
        r = row["level"]
        run = runs.load_run(level_dir(imp_dir, r))
        assert run.config == cfg  # every level retrains with the level-0 recipe
        m = run_masks(run)
        assert int(m["W1"].sum()) == row["remaining_W1"] == M.keep_count(n1, 0.3, r)
        assert int(m["W2"].sum()) == row["remaining_W2"] == M.keep_count(n2, 0.3, r)
        assert row["sparsity"] == pytest.approx(1 - row["remaining"] / (n1 + n2))
        for key in ("final_loss", "mono_count", "dead_count", "mono_per_N", "feature_histogram", "mono_per_feature"):
            assert row[key] == run.summary[key]
        if r:
            assert set(run.extra) == {"mask.W1", "mask.W2"}
            prev = run_masks(runs.load_run(level_dir(imp_dir, r - 1)))
            assert all(bool((m[n] <= prev[n]).all()) for n in M.PRUNABLE)  # nested


def test_masked_weights_stay_exactly_zero_through_training(imp_dir):
    for r in (1, 3):
        run = runs.load_run(level_dir(imp_dir, r))
        m = run_masks(run)
        for step in run.checkpoint_steps():
            ck = run.checkpoint(step)
            for n in M.PRUNABLE:
                assert bool((ck[n][~m[n]] == 0).all()), (r, step, n)
        for n in M.PRUNABLE:
            assert bool((run.params[n][~m[n]] == 0).all())
            assert float((run.params[n][m[n]] != 0).float().mean()) > 0.95  # the survivors did train


def test_masks_come_from_the_previous_levels_trained_magnitudes(imp_dir):
    prev = runs.load_run(level_dir(imp_dir, 1))
    keep = M.level_keep({n: tuple(prev.params[n].shape) for n in M.PRUNABLE}, 2, 0.3, None, "layer")
    want = M.magnitude_prune(prev.params, run_masks(prev), keep)
    got = run_masks(runs.load_run(level_dir(imp_dir, 2)))
    assert all(torch.equal(want[n], got[n]) for n in M.PRUNABLE)


def test_rewinding_restores_the_saved_weights_under_the_mask(imp_dir, tmp_path, dense):
    level0 = runs.load_run(level_dir(imp_dir, 0))
    for r in (1, 3):
        run = runs.load_run(level_dir(imp_dir, r))
        m = run_masks(run)
        for n in M.PRUNABLE:
            assert torch.equal(run.init[n], level0.init[n] * m[n])
        assert torch.equal(run.init["b1"], level0.init["b1"])  # biases are never pruned
    out = tmp_path / "rew"
    run_imp(plan_imp(ImpSettings(rounds=1, rate=0.3, rewind=8), out, run=dense, plots=False))
    ck = runs.load_run(dense).checkpoint(8)
    run = runs.load_run(level_dir(out, 1))
    m = run_masks(run)
    for n in M.PRUNABLE:
        assert torch.equal(run.init[n], ck[n] * m[n]) and not torch.equal(run.init[n], level0.init[n] * m[n])
    assert torch.equal(run.init["b1"], ck["b1"])


def test_rewind_step_must_be_a_saved_checkpoint(dense, tmp_path):
    with pytest.raises(ConfigError, match="power of two"):
        ImpSettings(rewind=6)
    with pytest.raises(runs.RunError, match="no checkpoint at that step"):
        plan_imp(ImpSettings(rewind=128), tmp_path / "x", run=dense, plots=False)
    with pytest.raises(ConfigError, match="past the recipe"):
        plan_imp(ImpSettings(rewind=128), tmp_path / "x", config=tiny(**CFG), plots=False)
    assert not (tmp_path / "x").exists()


def test_global_scope_keeps_the_pooled_count(dense, tmp_path):
    out = tmp_path / "g"
    run_imp(plan_imp(ImpSettings(rounds=1, rate=0.3, scope="global"), out, run=dense, plots=False))
    row = json.loads((out / "levels.json").read_text())["levels"][1]
    assert row["remaining"] == M.keep_count(row["prunable"], 0.3, 1)
    assert row["remaining_W1"] != M.keep_count(row["prunable_W1"], 0.3, 1)  # not per layer


def test_resumed_imp_equals_uninterrupted(tmp_path):
    plan = lambda out: plan_imp(ImpSettings(rounds=2, rate=0.3), out, config=tiny(**CFG), plots=False)  # noqa: E731
    run_imp(plan(tmp_path / "ref"))
    cut = plan(tmp_path / "cut")
    assert run_imp(cut, stop=(0, 20)) == []  # killed inside level 0
    rows = run_imp(cut, stop=(2, 40))  # resumed level 0, level 1, then killed inside level 2
    assert [r["level"] for r in rows] == [0, 1]
    assert not runs.is_finished(level_dir(tmp_path / "cut", 2))
    stamp = (level_dir(tmp_path / "cut", 1) / "summary.json").stat().st_mtime_ns
    run_imp(cut)
    assert (level_dir(tmp_path / "cut", 1) / "summary.json").stat().st_mtime_ns == stamp  # finished level skipped
    a, b = (json.loads((tmp_path / n / "levels.json").read_text()) for n in ("ref", "cut"))
    assert a == b
    for r in range(3):
        wa, wb = _weights(level_dir(tmp_path / "ref", r)), _weights(level_dir(tmp_path / "cut", r))
        assert wa.keys() == wb.keys() and all(torch.equal(wa[n], wb[n]) for n in wa), r


def test_controls_follow_the_ticket(imp_dir, tmp_path):
    re_out, rm_out = tmp_path / "reinit", tmp_path / "rand"
    run_imp(plan_imp(ImpSettings(rounds=2, control="reinit"), re_out, ticket=imp_dir, plots=False))
    run_imp(plan_imp(ImpSettings(rounds=2, control="random-mask"), rm_out, ticket=imp_dir, plots=False))
    assert json.loads((re_out / "levels.json").read_text())["method"] == "reinit"
    assert json.loads((re_out / "imp.json").read_text())["settings"]["rate"] == 0.3  # taken from the ticket
    for r in (1, 2):
        ticket = runs.load_run(level_dir(imp_dir, r))
        tm = run_masks(ticket)
        re, rm = runs.load_run(level_dir(re_out, r)), runs.load_run(level_dir(rm_out, r))
        # reinit: the ticket's mask, a fresh init
        assert all(torch.equal(run_masks(re)[n], tm[n]) for n in M.PRUNABLE)
        assert not torch.equal(re.init["W1"], ticket.init["W1"])
        assert torch.equal(re.init["W1"], re.init["W1"] * tm["W1"])
        # random-mask: the ticket's per-layer counts, another mask, the ticket's rewound init under it
        rmm = run_masks(rm)
        for n in M.PRUNABLE:
            assert int(rmm[n].sum()) == int(tm[n].sum()) and not torch.equal(rmm[n], tm[n])
            level0 = runs.load_run(level_dir(imp_dir, 0))
            assert torch.equal(rm.init[n], level0.init[n] * rmm[n])
    with pytest.raises(ConfigError, match="exceeds"):
        plan_imp(ImpSettings(rounds=4, control="reinit"), tmp_path / "x", ticket=imp_dir, plots=False)
    with pytest.raises(ConfigError, match="--ticket"):
        plan_imp(ImpSettings(rounds=1, control="reinit"), tmp_path / "x", config=tiny(**CFG), plots=False)
    with pytest.raises(runs.RunError, match="not an IMP directory"):
        plan_imp(ImpSettings(rounds=1, control="reinit"), tmp_path / "x", ticket=tmp_path, plots=False)


def test_other_settings_in_an_existing_out_are_refused(imp_dir, dense):
    with pytest.raises(ConfigError, match="other settings"):
        plan_imp(ImpSettings(rounds=3, rate=0.5), imp_dir, run=dense, plots=False)
    with pytest.raises(ConfigError, match="other config"):
        plan_imp(ImpSettings(rounds=3, rate=0.3), imp_dir, config=tiny(**CFG | dict(lr=0.1)), plots=False)
    plan_imp(ImpSettings(rounds=5, rate=0.3), imp_dir, run=dense, plots=False)  # more rounds of the same IMP: fine
    plan_imp(ImpSettings(rounds=3, rate=0.3), imp_dir, config=tiny(**CFG).replace(preset="tiny"), plots=False)  # same values


def test_a_pruned_run_is_not_a_dense_start(imp_dir, tmp_path):
    with pytest.raises(runs.RunError, match="already pruned"):
        plan_imp(ImpSettings(rounds=1), tmp_path / "x", run=level_dir(imp_dir, 1), plots=False)


def test_rewind_step_continues_level_0s_schedule_and_data_order(tmp_path, monkeypatch):
    """--rewind STEP: a level's updates are STEP .. steps-1 at lr_at(step) (computed here by hand: the
    restarting cosine lr (1 + cos(pi t / 512)) / 2), on level 0's batches STEP.., and its metrics start at STEP."""
    import math

    import models.train as train_mod
    from models import seeds
    from models.tasks import Task

    cfg = tiny(**{**CFG, "steps": 64})
    dense = tmp_path / "dense"
    train_run(cfg, dense, plots=False)
    seen = []
    real_step = train_mod.train_step

    def spy(c, params, opt, task, gen, step, masks, grad_hook=None, decay=None):
        state = gen.get_state()
        x, _ = task.sample(c.batch, gen)
        gen.set_state(state)
        lrs = []
        real = opt.step
        opt.step = lambda lr: (lrs.append(lr), real(lr))[1]
        out = real_step(c, params, opt, task, gen, step, masks, grad_hook, decay)
        opt.step = real
        seen.append((step, lrs[0], x.sum().item()))
        return out
    monkeypatch.setattr(train_mod, "train_step", spy)
    run_imp(plan_imp(ImpSettings(rounds=1, rate=0.5, rewind=16), tmp_path / "imp", run=dense, plots=False))
    assert [s for s, _, _ in seen] == list(range(16, 64))
    for step, lr, _ in seen:
        assert lr == pytest.approx(cfg.lr * (1 + math.cos(math.pi * step / 512)) / 2, rel=1e-12)
    gen, task = seeds.generator(cfg.seed, seeds.DATA), Task(cfg)
    level0_batches = [task.sample(cfg.batch, gen)[0].sum().item() for _ in range(64)]
    assert [x for _, _, x in seen] == level0_batches[16:]
    metrics = runs.read_metrics(tmp_path / "imp" / "level_01" / "metrics.jsonl")
    assert min(m["step"] for m in metrics if "loss" in m) == 16
    assert [m["step"] for m in metrics if "mono" in m] == [32, 64]
