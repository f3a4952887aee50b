"""Training-step speed at the paper shape (N 512, d 64, k 1024), against the matmul peak and the paper's code.

Measures, in one process so the ratios are fair:
  - the fp32 matmul rate (peak: the best of a square 2048 GEMM and the step's own largest GEMM);
  - our train_run at batch 1024 and 8192: steps/s and achieved model GFLOP/s as a fraction of peak;
  - the sampler's share of a step;
  - the same step written the way the paper's code does it (dense Bernoulli mask, nn.Sequential,
    torch_optimizer's Lamb, a state-dict round trip for bias decay every step, a deepcopy per
    checkpoint, a second forward for the L1 term), as the baseline.
Usage: python benchmarks/train_step.py [--threads 2] [--steps 192] [--out benchmarks/results_train_step.json]
"""
from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import torch

from models.config import TrainConfig
from models.tasks import Task
from models.train import train_run

N, D, K = 512, 64, 1024


def model_flops(batch: int) -> float:
    """forward 2B(dk + kN); backward dW2 2BkN, dH 2BkN, dW1 2Bdk (no input gradient)."""
    return 4 * batch * D * K + 6 * batch * K * N


def timed(fn, reps: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def matmul_peak() -> dict:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    sq = 2 * 2048**3 / timed(lambda: a @ b, 10) / 1e9
    h, w = torch.randn(8192, K), torch.randn(K, N)
    step_gemm = 2 * 8192 * K * N / timed(lambda: h @ w, 10) / 1e9
    return {"square_2048_gflops": sq, "step_gemm_8192x1024x512_gflops": step_gemm, "peak_gflops": max(sq, step_gemm)}


def ours(batch: int, steps: int) -> dict:
    cfg = TrainConfig(n_features=N, d_embed=D, k=K, eps=1 / 64, batch=batch, steps=steps, lr=0.003,
                      bias_init=-1.0, bias_decay=0.03, device="cpu")
    with tempfile.TemporaryDirectory() as d:
        s = train_run(cfg, Path(d) / "r")
    task = Task(cfg)
    g = torch.Generator().manual_seed(0)
    sampler_s = timed(lambda: task.sample(batch, g), 20)
    step_s = 1 / s["steps_per_s"]
    return {"batch": batch, "steps_per_s": s["steps_per_s"], "gflops": model_flops(batch) / step_s / 1e9,
            "sampler_ms": sampler_s * 1e3, "sampler_fraction": sampler_s / step_s}


def paper_style(batch: int, steps: int, l1: float = 0.0) -> dict:
    """The paper code's step (model3.py), on the CPU: what our loop replaces."""
    import torch_optimizer

    embedder = Task(TrainConfig(n_features=N, d_embed=D)).P
    model = torch.nn.Sequential(torch.nn.Linear(D, K), torch.nn.ReLU(), torch.nn.Linear(K, N, bias=False))
    opt = torch_optimizer.Lamb(model.parameters(), lr=0.003)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=512, eta_min=0)
    losses, models = [], []

    def run(n):
        for i in range(n):
            opt.zero_grad(set_to_none=True)
            v = torch.rand(batch, N) * torch.bernoulli(torch.full((batch, N), 1 / 64))
            x = v @ embedder.T
            out = model(x)
            loss = torch.sum((out - v) ** 2) / batch
            if l1:  # the paper's L1 variant re-runs the first layer to get the activations
                loss = loss + l1 * model[:2](x).abs().sum() / batch
            loss.backward()
            opt.step()
            sched.step()
            state = model.state_dict()
            state["0.bias"] *= 1 - 0.03 * 0.003
            model.load_state_dict(state)
            if i % 16 == 0:
                losses.append(float(loss))
            if i & (i + 1) == 0:
                models.append(copy.deepcopy(model))

    run(2)
    t0 = time.perf_counter()
    run(steps)
    sps = steps / (time.perf_counter() - t0)
    return {"batch": batch, "steps_per_s": sps, "gflops": model_flops(batch) / 1e9 * sps}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=192)
    ap.add_argument("--out", default="benchmarks/results_train_step.json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    peak = matmul_peak()
    res = {"threads": a.threads, "torch": torch.__version__, **peak, "ours": [], "paper_style": []}
    for batch, steps in ((1024, a.steps), (8192, max(16, a.steps // 8))):
        o, p = ours(batch, steps), paper_style(batch, steps)
        o["fraction_of_peak"] = o["gflops"] / peak["peak_gflops"]
        p["fraction_of_peak"] = p["gflops"] / peak["peak_gflops"]
        o["speedup_vs_paper_style"] = o["steps_per_s"] / p["steps_per_s"]
        res["ours"].append(o)
        res["paper_style"].append(p)
        print(f"B={batch}: ours {o['steps_per_s']:.2f} steps/s = {o['gflops']:.1f} GFLOP/s "
              f"({100 * o['fraction_of_peak']:.0f}% of peak {peak['peak_gflops']:.0f}); sampler "
              f"{100 * o['sampler_fraction']:.1f}% of a step; paper-style {p['steps_per_s']:.2f} steps/s; "
              f"speedup {o['speedup_vs_paper_style']:.2f}x")
    l1 = paper_style(1024, max(16, a.steps // 2), l1=0.01)
    res["paper_style_l1"] = l1
    print(f"paper-style with the L1 re-forward at B=1024: {l1['steps_per_s']:.2f} steps/s")
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
