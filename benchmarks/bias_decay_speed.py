"""What each --bias-decay-mode costs per training step, in one process so the ratios are fair: the steady-state
models.train.train_step at the cpu-small and paper shapes (batch 1024), bias -1 with decay 0.1, for the
fixed, per-neuron and adaptive modes (the adaptive window shortened to 64 steps so its measurement runs
inside the timed steps). Rounds are interleaved and the modes' order rotates; medians are reported. Goal: < 2% of a step.
A whole step's time is noisy here (+-5% between rounds), so each mode's own work is also timed directly: the
decay's apply() per step, amortised over the real adaptive window (one lr cycle, 1024 steps), as a share of
the fixed mode's step.

Usage: python benchmarks/bias_decay_speed.py [--threads 2] [--steps 200] [--rounds 5] [--out ...json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from models.bias_decay import BiasDecay
from models.config import BIAS_DECAY_MODES, TrainConfig, preset
from models.optim import make_optimizer
from models.seeds import DATA, generator
from models.train import start_run, train_step


def step_time(cfg: TrainConfig, steps: int) -> float:
    _, task, init = start_run(cfg, torch.device("cpu"))
    params = {n: t.clone().requires_grad_(True) for n, t in init.items()}
    opt, gen = make_optimizer(cfg.optimizer, params), generator(cfg.seed, DATA)
    decay = BiasDecay(cfg, 1 - cfg.bias_decay * cfg.lr, params)
    for s in range(5):
        train_step(cfg, params, opt, task, gen, s, {}, decay=decay)
    t = time.perf_counter()
    for s in range(5, 5 + steps):
        train_step(cfg, params, opt, task, gen, s, {}, decay=decay)
    return (time.perf_counter() - t) / steps


def apply_time(cfg: TrainConfig, calls: int) -> float:
    """Seconds per BiasDecay.apply call over `calls` consecutive steps (the adaptive measurement included
    once per window), on the run's initial weights; per-neuron gets a batch's dead mask (half the neurons)."""
    _, _, init = start_run(cfg, torch.device("cpu"))
    params = {n: t.clone() for n, t in init.items()}
    decay = BiasDecay(cfg, 1 - cfg.bias_decay * cfg.lr, params)
    dead = torch.arange(cfg.k) % 2 == 0
    t = time.perf_counter()
    for s in range(calls):
        decay.apply(s, params, dead)
    return (time.perf_counter() - t) / calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default="benchmarks/results_bias_decay.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    shapes = {"cpu-small B1024": preset("cpu-small"), "paper B1024": dict(preset("cpu"), batch=1024)}
    raw: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for name, kw in shapes.items():
            for mode in BIAS_DECAY_MODES[r % 3:] + BIAS_DECAY_MODES[:r % 3]:  # the order rotates per round
                cfg = TrainConfig(**{**kw, "steps": 4 * args.steps}, device="cpu", bias_init=-1.0, bias_decay=0.1,
                                  bias_decay_mode=mode, schedule_period=32)
                raw.setdefault(f"{name} {mode}", []).append(step_time(cfg, args.steps))
    out = {"threads": args.threads, "steps": args.steps, "rounds": args.rounds, "shapes": {}}
    for name, kw in shapes.items():
        fixed = statistics.median(raw[f"{name} fixed"])
        out["shapes"][name] = {mode: {"ms_per_step": 1e3 * statistics.median(raw[f"{name} {mode}"]),
                                      "over_fixed": statistics.median(raw[f"{name} {mode}"]) / fixed}
                               for mode in BIAS_DECAY_MODES}
        for mode in BIAS_DECAY_MODES:  # the mode's own work at the real window (schedule_period 512: 1024 steps)
            cfg = TrainConfig(**{**kw, "steps": 8192}, device="cpu", bias_init=-1.0, bias_decay=0.1,
                              bias_decay_mode=mode)
            us = 1e6 * statistics.median(apply_time(cfg, 4096) for _ in range(args.rounds))
            out["shapes"][name][mode].update(apply_us_per_step=us, apply_share_of_step=us / (1e6 * fixed))
        print(name, {m: f"{v['ms_per_step']:.3f} ms ({v['over_fixed']:.3f}x), apply {v['apply_us_per_step']:.1f} us "
                        f"({100 * v['apply_share_of_step']:.2f}%)" for m, v in out["shapes"][name].items()})
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
