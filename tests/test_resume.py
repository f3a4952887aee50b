"""--resume after killing a real training process gives the uninterrupted run, bit for bit."""
import signal
import subprocess
import time

import torch

from conftest import BIN
from models import runs

FLAGS = ["--preset", "tiny", "--steps", "3072", "--batch", "128", "--lr", "0.01", "--bias-init", "-0.5",
         "--bias-decay", "0.1", "--device", "cpu", "--threads", "1", "--quiet"]


def _train(runs_dir, name, *extra, **kw):
    return subprocess.run([str(BIN / "models"), "train", "--name", name, "--runs-dir", str(runs_dir), *FLAGS, *extra],
                          capture_output=True, text=True, timeout=600, **kw)


def test_killed_then_resumed_equals_uninterrupted(tmp_path):
    ref = _train(tmp_path, "ref")
    assert ref.returncode == 0, ref.stderr
    proc = subprocess.Popen([str(BIN / "models"), "train", "--name", "cut", "--runs-dir", str(tmp_path), *FLAGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = tmp_path / "cut" / "checkpoints" / "step_0001024.safetensors"
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not runs.is_finished(tmp_path / "cut"), "the run finished before it could be killed"
    assert (tmp_path / "cut" / "resume.safetensors").exists()

    again = _train(tmp_path, "cut")
    assert again.returncode != 0 and "--resume" in again.stderr  # an unfinished run is not silently restarted
    res = _train(tmp_path, "cut", "--resume")
    assert res.returncode == 0, res.stderr

    a, b = runs.load_run(tmp_path / "ref"), runs.load_run(tmp_path / "cut")
    for n in ("W1", "b1", "W2"):
        assert torch.equal(a.params[n], b.params[n]), n
    assert a.summary["final_loss"] == b.summary["final_loss"]
    assert a.summary["mono_per_neuron"] == b.summary["mono_per_neuron"]
    assert runs.read_metrics(a.path / "metrics.jsonl") == runs.read_metrics(b.path / "metrics.jsonl")
    assert not (b.path / "resume.safetensors").exists()
    for step in a.checkpoint_steps():
        assert torch.equal(a.checkpoint(step)["W2"], b.checkpoint(step)["W2"])


def test_resume_with_other_config_is_refused(tmp_path):
    from conftest import tiny
    from models.train import train_run
    import pytest

    train_run(tiny(steps=64), tmp_path / "r", stop_after=20)
    with pytest.raises(runs.RunError, match="differs in: lr"):
        train_run(tiny(steps=64, lr=0.5), tmp_path / "r", resume=True)
    s = train_run(tiny(steps=64), tmp_path / "r", resume=True)
    ref = train_run(tiny(steps=64), tmp_path / "ref")
    assert s["final_loss"] == ref["final_loss"]
