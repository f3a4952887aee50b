import json

import pytest
import torch

from conftest import tiny
from models import runs
from models.model import preactivations
from models.tasks import Task
from models.train import data_bias, is_checkpoint, train_run

RUN_FILES = {".result.json", "config.json", "task.safetensors", "init.safetensors", "model.safetensors", "checkpoints",
             "metrics.jsonl", "summary.json", "training.png", "sfa.png", "final_state.safetensors"}


def test_run_dir_holds_exactly_the_store_layout(tmp_path):
    cfg = tiny(lr=0.03)
    s = train_run(cfg, tmp_path / "r")
    assert {p.name for p in (tmp_path / "r").iterdir()} == RUN_FILES
    steps = sorted(int(p.stem.split("_")[1]) for p in (tmp_path / "r" / "checkpoints").iterdir())
    assert steps == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    for key in ("final_loss", "mono_count", "mono_per_feature", "mono_per_neuron", "dead_count", "steps", "wall_s",
                "steps_per_s"):
        assert key in s
    assert len(s["mono_per_feature"]) == cfg.n_features and len(s["mono_per_neuron"]) == cfg.k
    assert s["mono_count"] == sum(s["mono_per_feature"])
    metrics = runs.read_metrics(tmp_path / "r" / "metrics.jsonl")
    assert [m["step"] for m in metrics if "loss" in m] == list(range(0, 256, 16))
    assert [m["step"] for m in metrics if "mono" in m] == steps
    run = runs.load_run(tmp_path / "r")
    assert run.config == cfg and set(run.params) == {"W1", "b1", "W2"}
    assert run.checkpoint_steps() == steps and torch.equal(run.checkpoint(256)["W1"], run.params["W1"])
    assert s["final_loss"] < 0.9 * cfg.n_features * cfg.eps / 3  # it learned something beyond predicting 0


def test_training_is_bitwise_repeatable_and_seed_dependent(tmp_path):
    a = train_run(tiny(), tmp_path / "a")
    b = train_run(tiny(), tmp_path / "b")
    train_run(tiny(seed=1), tmp_path / "c")
    ra, rb, rc = (runs.load_run(tmp_path / n) for n in "abc")
    assert all(torch.equal(ra.params[n], rb.params[n]) for n in ra.params)
    assert a["final_loss"] == b["final_loss"]
    assert not torch.equal(ra.params["W1"], rc.params["W1"])
    assert torch.equal(ra.task_tensors["P"], rc.task_tensors["P"])  # same task, different seed


def test_bias_decay_only_in_first_half(tmp_path):
    """With lr tiny the gradient barely moves b1; decay shrinks it by (1 - decay*lr) per step, first half only."""
    cfg = tiny(lr=1e-9, bias_init=-1.0, bias_decay=1e6 * 0.5, steps=64, schedule="constant")
    train_run(cfg, tmp_path / "r")
    run = runs.load_run(tmp_path / "r")
    factor = (1 - cfg.bias_decay * cfg.lr) ** 32
    torch.testing.assert_close(run.params["b1"], run.init["b1"] * factor, rtol=1e-4, atol=1e-6)
    assert abs(factor - 1) > 1e-3


def test_data_bias_puts_every_neuron_just_below_zero(tmp_path):
    cfg = tiny(bias_init="data")
    train_run(cfg, tmp_path / "r")
    init = runs.load_run(tmp_path / "r").init
    x, _ = Task(cfg).sample(cfg.batch, torch.Generator().manual_seed(cfg.seed * 1_000_003 + 0xB1A5))
    top = preactivations(init, x).max(0).values
    torch.testing.assert_close(top, torch.full_like(top, -cfg.data_bias_margin), atol=1e-5, rtol=0)
    assert torch.allclose(init["b1"], data_bias(init, Task(cfg), cfg))


def test_masks_keep_pruned_weights_exactly_zero(tmp_path):
    cfg = tiny(lr=0.03)
    g = torch.Generator().manual_seed(0)
    masks = {"W1": torch.rand(cfg.k, cfg.d_embed, generator=g) < 0.3,
             "W2": torch.rand(cfg.n_features, cfg.k, generator=g) < 0.5}
    train_run(cfg, tmp_path / "r", masks=masks)
    run = runs.load_run(tmp_path / "r")
    for n, m in masks.items():
        assert (run.params[n][~m] == 0).all() and (run.params[n][m] != 0).float().mean() > 0.99
        assert torch.equal(run.extra[f"mask.{n}"], m)


@pytest.mark.parametrize("task,nl,opt,freq", [("reprojector", "relu", "adam", "uniform"),
                                              ("abs", "gelu", "lamb", "power_law"),
                                              ("decoder", "solu", "lamb", "uniform")])
def test_other_tasks_and_nonlinearities_train(tmp_path, task, nl, opt, freq):
    s = train_run(tiny(task=task, nonlinearity=nl, optimizer=opt, freq=freq, lr=0.01, l1=0.01 if nl == "gelu" else 0,
                       steps=64), tmp_path / "r")
    assert s["final_loss"] == s["final_loss"]  # finite, not NaN
    if nl == "relu":
        assert s["mono_count"] is not None
    else:
        assert s["mono_count"] is None and nl in s["metric_note"]


def test_finished_run_is_not_overwritten_without_force(tmp_path):
    train_run(tiny(steps=16), tmp_path / "r")
    before = (tmp_path / "r" / "summary.json").read_text()
    with pytest.raises(runs.RunError, match="--force"):
        train_run(tiny(steps=16, lr=0.1), tmp_path / "r")
    assert (tmp_path / "r" / "summary.json").read_text() == before
    s = train_run(tiny(steps=16, lr=0.1), tmp_path / "r", force=True)
    assert json.loads((tmp_path / "r" / "config.json").read_text())["config"]["lr"] == 0.1 and s


def test_checkpoint_schedule():
    assert [s for s in range(1, 70) if is_checkpoint(s)] == [1, 2, 4, 8, 16, 32, 64]
