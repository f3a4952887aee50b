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
