import os

import pytest
import torch

from conftest import tiny
from models import load_run, runs
from models.train import train_run


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    d = tmp_path_factory.mktemp("store") / "r"
    train_run(tiny(steps=32), d)
    return d


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_load_run_api(finished):
    run = load_run(finished)
    assert run.summary["steps"] == 32 and run.params["W1"].shape == (128, 16)
    assert load_run(finished.name, runs_dir=finished.parent).path == finished


@pytest.mark.parametrize("victim,content", [
    ("model.safetensors", b"\x00garbage"), ("config.json", b"{not json"), ("task.safetensors", b""),
    ("init.safetensors", b"12345678")])
def test_corrupt_files_give_one_line_errors(finished, tmp_path, victim, content):
    d = _copy(finished, tmp_path / "c")
    (d / victim).write_bytes(content)
    with pytest.raises(runs.RunError) as e:
        load_run(d)
    assert "\n" not in str(e.value) and victim.split(".")[0] in str(e.value)


def test_missing_unfinished_and_mismatched_runs(finished, tmp_path):
    with pytest.raises(runs.RunError, match="no run directory"):
        load_run(tmp_path / "nope")
    d = _copy(finished, tmp_path / "u")
    os.unlink(d / "summary.json")
    with pytest.raises(runs.RunError, match="unfinished"):
        load_run(d)
    d2 = _copy(finished, tmp_path / "t")
    runs.write_tensors(d2 / "task.safetensors", {"P": torch.zeros(16, 64)})
    with pytest.raises(runs.RunError, match="does not match"):
        load_run(d2)
    d3 = _copy(finished, tmp_path / "s")
    runs.write_tensors(d3 / "model.safetensors", {"W1": torch.zeros(3, 3), "b1": torch.zeros(3),
                                                  "W2": torch.zeros(3, 3)})
    with pytest.raises(runs.RunError, match="shape"):
        load_run(d3)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    class Boom(Exception):
        pass

    def bad(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise Boom

    with pytest.raises(Boom):
        runs._atomic(tmp_path / "x.json", bad)
    assert list(tmp_path.iterdir()) == []


def test_store_is_pickle_free(finished):
    for p in finished.rglob("*"):
        if p.is_file():
            assert not p.read_bytes().startswith(b"\x80"), p  # pickle protocol header
            assert p.suffix in {".json", ".jsonl", ".safetensors", ".png"}


def test_convergence_and_the_settled_rule():
    """Loss change between the last two eighths, mono change between the last two checkpoints; settled
    means under 1% and at most max(2% of the final count, 1 neuron)."""
    losses = [{"step": 16 * i, "loss": 1.0 if i < 14 else 0.995} for i in range(16)]  # last eighth: -0.5%
    ck = [{"step": 8, "mono": 100, "dead": 3}, {"step": 16, "mono": 102, "dead": 1}]
    c = runs.convergence(losses + ck)
    assert c["loss_rel_change_last_eighth"] == pytest.approx(-0.005)
    assert (c["mono_change_last_doubling"], c["dead_change_last_doubling"]) == (2, -2)
    assert runs.is_converged(c, 102) and not runs.is_converged(c, 90)  # 2 > 2% of 90
    assert runs.is_converged({**c, "mono_change_last_doubling": 1}, 3)  # the one-neuron floor
    assert not runs.is_converged({**c, "loss_rel_change_last_eighth": -0.012}, 102)
    assert not runs.is_converged(runs.convergence(losses), 0)  # no checkpoints: nothing to judge by
