"""Random streams: every random draw of the suite comes from a generator keyed by (seed, stream) here, so
runs repeat bit for bit and no two kinds of draw share a stream."""
from __future__ import annotations

import torch

MIX = 1_000_003
DATA = 0x0D47A  # a run's training batches
DATA_BIAS = 0xB1A5  # the batch that sets bias_init="data"
EVAL = 0x5EED_E7A1  # a task's evaluation set (mixed by XOR into task_seed * MIX)
CURVE = 0xC0E5  # batches that train a curve's bends
CBFT = 0xCBF7  # batches of connectivity-based fine-tuning
CONTROL = 0xC7A1  # IMP controls (fresh inits and random masks), offset per level
GROW_MASK = 0x5E7A  # the initial masks of sparse training
GROW_SET = 0x5E7B  # SET's random regrowth
STE = 0x57E0  # batches of straight-through-estimator matching


def stream_seed(seed: int, stream: int) -> int:
    return (seed * MIX + stream) % 2**64


def generator(seed: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(stream_seed(seed, stream))


def eval_generator(task_seed: int) -> torch.Generator:
    return torch.Generator().manual_seed((task_seed * MIX) ^ EVAL)
