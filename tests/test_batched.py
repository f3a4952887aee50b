"""Batched-instances training: each instance is its own run (gradients, weights, run dir) up to rounding."""
import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import tiny



def _model(d):
    from models import runs

    return runs.read_tensors(d / runs.MODEL)


def _close(a, b, atol=1e-5):
    return all(torch.allclose(a[n], b[n], rtol=0, atol=atol) for n in ("W1", "b1", "W2"))


@settings(max_examples=25, deadline=None)
@given(E=st.integers(1, 4), B=st.integers(1, 40), d=st.integers(1, 9), k=st.integers(1, 12), out=st.integers(1, 9),
       l1=st.booleans(), seed=st.integers(0, 2**16))
def test_each_instance_gets_its_own_runs_gradient(E, B, d, k, out, l1, seed):
    from models.batched import batched_loss_and_grads
    from models.model import relu_loss_and_grads

    g = torch.Generator().manual_seed(seed)
    params = {"W1": torch.randn(E, k, d, generator=g), "b1": torch.randn(E, k, generator=g),
              "W2": torch.randn(E, out, k, generator=g)}
    x, y = torch.randn(E, B, d, generator=g), torch.rand(E, B, out, generator=g)
    l1s = torch.rand(E, generator=g) if l1 else None
    loss, grads = batched_loss_and_grads(params, x, y, l1s)
    for e in range(E):
        one, ge = relu_loss_and_grads({n: p[e] for n, p in params.items()}, x[e], y[e],
                                      float(l1s[e]) if l1 else 0.0, chunk=7)
        assert torch.allclose(loss[e], one, rtol=1e-5, atol=1e-5)
        for n in ge:
            assert torch.allclose(grads[n][e], ge[n], rtol=1e-4, atol=1e-5), n


def test_autograd_path_matches_per_instance_autograd():
    from models.batched import batched_loss_and_grads
    from models.model import hidden

    g = torch.Generator().manual_seed(3)
    params = {"W1": torch.randn(3, 6, 4, generator=g), "b1": torch.randn(3, 6, generator=g),
              "W2": torch.randn(3, 5, 6, generator=g)}
    params = {n: p.requires_grad_(True) for n, p in params.items()}
    x, y, l1 = torch.randn(3, 10, 4, generator=g), torch.rand(3, 10, 5, generator=g), torch.tensor([0.0, 0.1, 0.5])
    loss, grads = batched_loss_and_grads(params, x, y, l1, "gelu")
    grads = {n: t.clone() for n, t in grads.items()}
    for e in range(3):
        pe = {n: p[e].detach().clone().requires_grad_(True) for n, p in params.items()}
        h = hidden(pe, x[e], "gelu")
        le = (h @ pe["W2"].t() - y[e]).square().sum() / 10
        (le + l1[e] * h.abs().sum() / 10).backward()
        assert torch.allclose(loss[e], le.detach(), atol=1e-5)
        assert all(torch.allclose(grads[n][e], pe[n].grad, atol=1e-5) for n in pe)


@pytest.mark.parametrize("opt,nl", [("lamb", "relu"), ("adam", "gelu")])
def test_batched_runs_equal_independent_runs(tmp_path, opt, nl):
    from models import runs
    from models.batched import train_batched
    from models.train import train_run

    base = tiny(steps=64, optimizer=opt, nonlinearity=nl)
    cfgs = [base.replace(lr=0.01, seed=0), base.replace(lr=0.003, seed=1, bias_init=-0.5, bias_decay=0.3),
            base.replace(lr=0.03, seed=2, l1=0.01, eps=1 / 8, task_seed=4)]
    dirs_b = [tmp_path / f"b{i}" for i in range(3)]
    out_b = train_batched(cfgs, dirs_b, plots=False)
    for i, c in enumerate(cfgs):
        out_u = train_run(c, tmp_path / f"u{i}", plots=False)
        assert _close(_model(dirs_b[i]), _model(tmp_path / f"u{i}")), i
        assert out_b[i]["final_loss"] == pytest.approx(out_u["final_loss"], rel=1e-5)
        assert out_b[i]["mono_count"] == out_u["mono_count"] and out_b[i]["batched_instances"] == 3
        assert runs.read_config(dirs_b[i]) == c
        files_b = sorted(p.relative_to(dirs_b[i]) for p in dirs_b[i].rglob("*"))
        assert files_b == sorted(p.relative_to(tmp_path / f"u{i}") for p in (tmp_path / f"u{i}").rglob("*"))
        mb, mu = (runs.read_metrics(d / runs.METRICS) for d in (dirs_b[i], tmp_path / f"u{i}"))
        assert [m["step"] for m in mb] == [m["step"] for m in mu]
        assert [m.get("mono") for m in mb] == [m.get("mono") for m in mu]
        assert all(abs(a["loss"] - b["loss"]) < 1e-4 for a, b in zip(mb, mu) if "loss" in a)


def test_resumed_batch_equals_uninterrupted_and_resumes_alone(tmp_path):
    from models import runs
    from models.batched import train_batched
    from models.train import train_run

    cfgs = [tiny(steps=96, lr=0.01, seed=s) for s in (0, 1)]
    whole = [tmp_path / f"whole{s}" for s in (0, 1)]
    train_batched(cfgs, whole, plots=False)
    cut = [tmp_path / f"cut{s}" for s in (0, 1)]
    assert train_batched(cfgs, cut, stop_after=40, plots=False) == []
    from models.rundir import RunDir

    assert all(RunDir(d).resume_step() == 40 for d in cut)
    train_batched(cfgs, cut, resume=True, plots=False)
    for a, b in zip(whole, cut):  # bit for bit at a fixed thread count
        ma, mb = _model(a), _model(b)
        assert all(torch.equal(ma[n], mb[n]) for n in ma)
        assert runs.read_metrics(a / runs.METRICS) == runs.read_metrics(b / runs.METRICS)
    # a batched resume state is train_run's format: one instance resumes alone
    alone = tmp_path / "alone"
    train_batched(cfgs[:1] + [cfgs[1].replace(seed=5)], [alone, tmp_path / "other"], stop_after=40, plots=False)
    train_run(cfgs[0], alone, resume=True, plots=False)
    assert _close(_model(alone), _model(whole[0]))


def test_bad_batches_are_refused(tmp_path):
    from models import runs
    from models.batched import train_batched
    from models.config import ConfigError
    from models.train import train_run

    with pytest.raises(ConfigError, match="must share k"):
        train_batched([tiny(), tiny(k=64)], [tmp_path / "a", tmp_path / "b"], plots=False)
    with pytest.raises(ConfigError, match="same run dir"):
        train_batched([tiny(), tiny(seed=1)], [tmp_path / "a", tmp_path / "a"], plots=False)
    train_run(tiny(steps=64), tmp_path / "half", stop_after=20, plots=False)  # resume state at step 20
    with pytest.raises(runs.RunError, match="different steps"):
        train_batched([tiny(steps=64), tiny(steps=64, seed=1)], [tmp_path / "half", tmp_path / "new"], resume=True, plots=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "new").exists()


def test_sweep_with_instances_equals_sweep_without(tmp_path, monkeypatch):
    from models import executor, runs
    from models.sweep import expand, group_cells, run_sweep
    from models.train import train_run

    cells = expand(tiny(steps=64, batch=64), ["lr=0.01,0.03", "k=32,64"], [], [0])
    plain, batched = tmp_path / "plain", tmp_path / "batched"
    for c in cells:  # in process (a pool's start-up costs seconds; the CLI sweep test goes through one)
        train_run(c.config, plain / c.name, plots=False)
    # one cell killed half-way: it stands at another step, so it trains in a group of its own
    train_run(cells[0].config, batched / cells[0].name, stop_after=20, plots=False)
    items = [(c.config, str(batched / c.name)) for c in cells]
    assert sorted(len(g) for g in group_cells(items, 8)) == [1, 1, 2]  # k=32 at step 20 | k=32 fresh | k=64 pair
    assert sorted(len(g) for g in group_cells(items, 1)) == [1, 1, 1, 1]

    class InProcess:  # an executor that runs the items here, so the run plots stay patched out
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def map_unordered(self, fn, items):
            return ((it, fn(it), None) for it in items)
    monkeypatch.setattr(executor, "make_executor", lambda *a, **k: InProcess())
    table = run_sweep(cells, batched, workers=2, instances=8, plots=False)
    assert all(r["state"] == "finished" for r in table)
    for c in cells:
        assert _close(_model(plain / c.name), _model(batched / c.name)), c.name
        s = json.loads((batched / c.name / runs.SUMMARY).read_text())
        assert s.get("batched_instances") == (None if c.config.k == 32 else 2), c.name
