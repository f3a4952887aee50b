"""`models extend`: a finished run trained longer equals the longer run trained from the start, bit for bit;
recipes that depend on the step count, unfinished or pruned sources and finished outputs are refused."""
import pytest
import torch

from conftest import cli, tiny
from models import runs
from models.config import ConfigError
from models.extend import extend_run
from models.train import train_run


def _same_run(a, b):
    ra, rb = runs.load_run(a), runs.load_run(b)
    for n in ("W1", "b1", "W2"):
        assert torch.equal(ra.params[n], rb.params[n]), n
    assert ra.summary["final_loss"] == rb.summary["final_loss"]
    assert ra.summary["mono_per_neuron"] == rb.summary["mono_per_neuron"]
    assert runs.read_metrics(a / runs.METRICS) == runs.read_metrics(b / runs.METRICS)
    assert ra.checkpoint_steps() == rb.checkpoint_steps()
    for step in ra.checkpoint_steps():
        assert torch.equal(ra.checkpoint(step)["W1"], rb.checkpoint(step)["W1"]), step


# 200 steps: the last state is saved at the end, not at a checkpoint; restart-cosine with a short period so the
# extension starts mid-cycle; per-neuron decay and L1 so their state and terms carry over
@pytest.mark.parametrize("kw", [dict(steps=200, schedule_period=48, bias_decay=0.5, bias_decay_mode="per-neuron",
                                     l1=1e-3),
                                dict(steps=128, optimizer="adam", schedule="constant", lr=0.003)])
def test_extended_equals_longer_run(tmp_path, kw):
    short, longer = tiny(**kw), tiny(**(kw | dict(steps=kw["steps"] + 150)))
    train_run(short, tmp_path / "short", plots=False)
    assert (tmp_path / "short" / runs.FINAL_STATE).is_file()
    train_run(longer, tmp_path / "ref", plots=False)
    done = []
    s = extend_run(tmp_path / "short", tmp_path / "ext", longer.steps, plots=False,
                   on_progress=lambda step, loss, mono: done.append(step))
    assert min(done) > short.steps  # it continued the run, not trained it again
    assert s["steps"] == longer.steps and runs.read_config(tmp_path / "ext") == longer
    _same_run(tmp_path / "ref", tmp_path / "ext")
    assert runs.read_config(tmp_path / "short").steps == short.steps  # the source is untouched


def test_interrupted_extension_resumes(tmp_path):
    train_run(tiny(steps=64), tmp_path / "short", plots=False)
    train_run(tiny(steps=256), tmp_path / "ref", plots=False)
    extend_run(tmp_path / "short", tmp_path / "ext", 256, plots=False, stop_after=100)
    assert not runs.is_finished(tmp_path / "ext")
    extend_run(tmp_path / "short", tmp_path / "ext", 256, plots=False)
    _same_run(tmp_path / "ref", tmp_path / "ext")
    with pytest.raises(runs.RunError, match="finished; pass --force"):
        extend_run(tmp_path / "short", tmp_path / "ext", 256, plots=False)
    extend_run(tmp_path / "short", tmp_path / "ext", 256, plots=False, force=True)
    _same_run(tmp_path / "ref", tmp_path / "ext")


@pytest.mark.parametrize("kw, match", [(dict(schedule="cosine"), "cosine schedule"),
                                       (dict(bias_decay=0.5), "fixed bias decay"),
                                       (dict(bias_decay=0.5, bias_decay_mode="adaptive", schedule="constant"),
                                        "adaptive decay")])
def test_step_dependent_recipes_are_refused(tmp_path, kw, match):
    train_run(tiny(steps=32, **kw), tmp_path / "r", plots=False)
    with pytest.raises(ConfigError, match=match):
        extend_run(tmp_path / "r", tmp_path / "ext", 64, plots=False)
    assert not (tmp_path / "ext").exists()


def test_bad_sources_and_budgets_are_refused(tmp_path):
    train_run(tiny(steps=64), tmp_path / "cut", stop_after=20, plots=False)
    with pytest.raises(runs.RunError, match="unfinished"):
        extend_run(tmp_path / "cut", tmp_path / "ext", 128)
    train_run(tiny(steps=64), tmp_path / "r", plots=False, masks={"W1": torch.ones(128, 16, dtype=torch.bool)})
    with pytest.raises(runs.RunError, match="no final_state"):
        extend_run(tmp_path / "r", tmp_path / "ext", 128)
    train_run(tiny(steps=64), tmp_path / "ok", plots=False)
    with pytest.raises(ConfigError, match="must exceed"):
        extend_run(tmp_path / "ok", tmp_path / "ext", 64)
    with pytest.raises(runs.RunError, match="input"):
        extend_run(tmp_path / "ok", tmp_path / "ok" / "inner", 128)
    assert not (tmp_path / "ext").exists()


def test_cli_refusal_is_one_line(tmp_path):
    train_run(tiny(steps=32, schedule="cosine"), tmp_path / "r", plots=False)
    p = cli("models", "extend", tmp_path / "r", "--steps", "64", "--out", tmp_path / "ext", "--quiet")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "cosine" in p.stderr
