import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True, scope="session")
def _threads():
    import torch

    torch.set_num_threads(1)  # bitwise comparisons are made at a fixed thread count


def tiny(**kw):
    from models.config import TrainConfig, preset

    base = preset("tiny") | dict(steps=256, batch=128, device="cpu")
    return TrainConfig(**(base | kw))


def cli(*args, cwd=None, timeout=300, env=None):
    """Run a console script as a real subprocess."""
    import subprocess

    e = dict(os.environ, **(env or {}))
    return subprocess.run([str(BIN / args[0]), *map(str, args[1:])], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=e)


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """Finished tiny runs for the basins tests: three seeds of one task (two at a high lr, one low),
    one run of another task and one of another width."""
    from models.train import train_run

    root = tmp_path_factory.mktemp("basins_runs")
    specs = {"s0": tiny(seed=0, lr=0.03), "s1": tiny(seed=1, lr=0.03), "s2": tiny(seed=2, lr=0.003),
             "other_task": tiny(seed=0, task_seed=7), "other_k": tiny(seed=0, k=64)}
    for name, cfg in specs.items():  # the run plots cost ~1.5 s a run and are tested elsewhere
        train_run(cfg, root / name, plots=False)
    return root
