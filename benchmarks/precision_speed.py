"""--precision bf16 against fp32, in one process so the ratios are fair: the GEMM rates (the step's largest
GEMM with fp32 and with bf16 operands: this machine's limit for the work), the training step
(models.train.train_step) at the paper shape (N 512, d 64, k 1024) at batch 1024 and 8192 and at the
cpu-small shape, each step's share spent in the sampler, and the bf16 step as a fraction of the bf16 GEMM
ceiling. Rounds are interleaved; medians are reported.

Usage: python benchmarks/precision_speed.py [--threads 2] [--steps 40] [--rounds 3] [--out ...json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from models.config import TrainConfig, preset
from models.optim import make_optimizer
from models.seeds import DATA, generator
from models.train import start_run, train_step


def gemm_rate(dtype: torch.dtype, m: int, k: int, n: int, reps: int = 5) -> float:
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * m * k * n / best / 1e9


def step_time(cfg: TrainConfig, steps: int) -> tuple[float, float]:
    """Seconds per training step, and seconds per step spent sampling the batch."""
    _, task, init = start_run(cfg, torch.device("cpu"))
    params = {n: t.clone().requires_grad_(True) for n, t in init.items()}
    opt, gen = make_optimizer(cfg.optimizer, params), generator(cfg.seed, DATA)
    for s in range(3):
        train_step(cfg, params, opt, task, gen, s, {})
    t = time.perf_counter()
    for s in range(steps):
        train_step(cfg, params, opt, task, gen, s, {})
    per_step = (time.perf_counter() - t) / steps
    t = time.perf_counter()
    for _ in range(steps):
        task.sample(cfg.batch, gen)
    return per_step, (time.perf_counter() - t) / steps


def flops(cfg: TrainConfig) -> float:
    d, k, n = cfg.d_embed, cfg.k, cfg.out_dim
    return 4 * cfg.batch * d * k + 6 * cfg.batch * k * n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results_precision.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    shapes = {"paper B1024": dict(preset("cpu"), batch=1024), "paper B8192": dict(preset("cpu"), batch=8192),
              "cpu-small B1024": preset("cpu-small")}
    raw: dict[str, list] = {}
    for _ in range(args.rounds):
        for name, kw in shapes.items():
            for p in ("fp32", "bf16"):
                cfg = TrainConfig(**kw, device="cpu", precision=p)
                raw.setdefault(f"{name} {p}", []).append(step_time(cfg, args.steps))
        raw.setdefault("gemm fp32", []).append(gemm_rate(torch.float32, 8192, 1024, 512))
        raw.setdefault("gemm bf16", []).append(gemm_rate(torch.bfloat16, 8192, 1024, 512))
    med = {k: (statistics.median(v) if not isinstance(v[0], tuple) else
               tuple(statistics.median(x[i] for x in v) for i in range(2))) for k, v in raw.items()}
    out = {"threads": args.threads, "steps": args.steps, "rounds": args.rounds,
           "gemm_gflops": {"fp32": med["gemm fp32"], "bf16": med["gemm bf16"],
                           "bf16_over_fp32": med["gemm bf16"] / med["gemm fp32"]}, "shapes": {}}
    for name, kw in shapes.items():
        cfg = TrainConfig(**kw, device="cpu")
        f32, b16 = med[f"{name} fp32"], med[f"{name} bf16"]
        out["shapes"][name] = {
            "fp32_steps_per_s": 1 / f32[0], "bf16_steps_per_s": 1 / b16[0], "bf16_over_fp32": f32[0] / b16[0],
            "sampler_share_fp32": f32[1] / f32[0], "sampler_share_bf16": b16[1] / b16[0],
            "bf16_step_gflops": flops(cfg) / b16[0] / 1e9,
            "bf16_step_fraction_of_bf16_gemm": flops(cfg) / b16[0] / 1e9 / med["gemm bf16"]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
