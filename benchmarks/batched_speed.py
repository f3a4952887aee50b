"""When does batched-instances training pay? Model-steps per second of train_batched (E instances, one
stacked model) over E train_run calls one after another, at one thread (what a sweep worker gets).

Both sides are whole training loops (sampling, loss and gradients, LAMB, loss logging, checkpoints at
steps 1, 2, 4, ...), timed by the runs themselves (summary steps_per_s covers the loop, not the final
eval and plots). Variants are interleaved and the median over rounds is kept. Ratio > 1: batching pays.
Shapes: the presets (tiny, cpu-small, cpu) and a micro model; lr 0.01, seeds 0..E-1.

Usage: python benchmarks/batched_speed.py [--threads 1] [--rounds 3] [--device cpu] [--precision bf16] [--out ...json]
       python benchmarks/batched_speed.py --device cuda --shapes paper --instances 16 --steps 256
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from models.batched import train_batched
from models.config import TrainConfig, preset
from models.train import train_run

SHAPES = {
    "micro": dict(n_features=32, d_embed=8, k=32, eps=1 / 16, batch=256),
    "tiny": preset("tiny"),
    "cpu-small": preset("cpu-small"),
    "cpu": preset("cpu"),
    "paper": preset("paper"),
}


def one_round(cfg: TrainConfig, E: int, root: Path) -> dict:
    cfgs = [cfg.replace(seed=s) for s in range(E)]
    batched = train_batched(cfgs, [root / f"b{s}" for s in range(E)])
    b_rate = E * batched[0]["steps_per_s"]
    singles = [train_run(c, root / f"u{c.seed}")["steps_per_s"] for c in cfgs]
    u_rate = 1 / statistics.mean(1 / r for r in singles)  # E runs back to back
    return {"batched_model_steps_per_s": b_rate, "sequential_model_steps_per_s": u_rate, "ratio": b_rate / u_rate}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--shapes", default="micro,tiny,cpu-small,cpu")
    ap.add_argument("--instances", default="4,16")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default: 512, 128 for cpu/paper)")
    ap.add_argument("--precision", default="fp32", help="fp32 | bf16, both sides")
    ap.add_argument("--out", default="benchmarks/results_batched.json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    results = []
    for shape in a.shapes.split(","):
        fields = {k: v for k, v in SHAPES[shape].items() if k not in ("steps",)}
        steps = a.steps or (128 if shape in ("cpu", "paper") else 512)
        cfg = TrainConfig(**fields, steps=steps, lr=0.01, device=a.device, precision=a.precision)
        for E in map(int, a.instances.split(",")):
            rounds = []
            for r in range(a.rounds):
                with tempfile.TemporaryDirectory() as tmp:
                    rounds.append(one_round(cfg, E, Path(tmp)))
            row = {"shape": shape, "k": cfg.k, "d": cfg.d_embed, "N": cfg.n_features, "batch": cfg.batch,
                   "instances": E, "steps": steps,
                   **{key: statistics.median(x[key] for x in rounds) for key in rounds[0]},
                   "ratio_all_rounds": [round(x["ratio"], 3) for x in rounds]}
            results.append(row)
            print(json.dumps(row), flush=True)
    Path(a.out).write_text(json.dumps({"threads": a.threads, "device": a.device, "precision": a.precision,
                                       "torch": torch.__version__,
                                       "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
