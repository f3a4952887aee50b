"""Training-step speed at the paper shape (N 512, d 64, k 1024), against the matmul peak and the paper's code.

Measures, in one process so the ratios are fair:
  - the fp32 matmul rate (peak: the best of a square 2048 GEMM and the step's own largest GEMM);
  - our training step (models.train.train_step) at batch 1024 and 8192: steps/s and achieved model
    GFLOP/s as a fraction of peak; and train_run end to end (with checkpoint I/O) at batch 1024;
  - the sampler's share of a step;
  - the same step written the way the paper's code does it (dense Bernoulli mask, nn.Sequential,
    torch_optimizer's Lamb, a state-dict round trip for bias decay every step, a deepcopy per
    checkpoint, a second forward for the L1 term), as the baseline.
Usage: python benchmarks/train_step.py [--threads 2] [--steps 160] [--rounds 3] [--out ...json]
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from models.config import TrainConfig
from models.tasks import Task
from models.train import train_run, train_step

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
    """Steady-state steps of models.train.train_step (the loop body of train_run, without its I/O)."""
    from models.model import init_params
    from models.optim import make_optimizer

    cfg = TrainConfig(n_features=N, d_embed=D, k=K, eps=1 / 64, batch=batch, steps=2**17, lr=0.003,
                      bias_init=-1.0, bias_decay=0.03, device="cpu")
    task = Task(cfg)
    params = {n: t.requires_grad_(True) for n, t in init_params(cfg, torch.Generator().manual_seed(0)).items()}
    opt = make_optimizer("lamb", params)
    gen = torch.Generator().manual_seed(1)
    it = iter(range(10**9))
    step_s = timed(lambda: train_step(cfg, params, opt, task, gen, next(it), {}), steps)
    sampler_s = timed(lambda: task.sample(batch, gen), 20)
    return {"batch": batch, "steps_per_s": 1 / step_s, "gflops": model_flops(batch) / step_s / 1e9,
            "sampler_ms": sampler_s * 1e3, "sampler_fraction": sampler_s / step_s}


def whole_run(steps: int) -> float:
    """train_run end to end (checkpoints, metric, resume saves; not the final eval) at batch 1024."""
    cfg = TrainConfig(n_features=N, d_embed=D, k=K, eps=1 / 64, batch=1024, steps=steps, lr=0.003, device="cpu")
    with tempfile.TemporaryDirectory() as d:
        return train_run(cfg, Path(d) / "r")["steps_per_s"]


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
                losses.append(float(loss.detach()))
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
    ap.add_argument("--steps", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; medians are reported")
    ap.add_argument("--whole-run-steps", type=int, default=1024)
    ap.add_argument("--out", default="benchmarks/results_train_step.json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    med = statistics.median
    rounds = []
    for _ in range(a.rounds):  # interleave everything so drifts in machine speed hit all alike
        r = {"peak": matmul_peak()}
        for batch, steps in ((1024, a.steps), (8192, max(16, a.steps // 8))):
            r[batch] = {"ours": ours(batch, steps), "paper": paper_style(batch, steps)}
        r["paper_l1"] = paper_style(1024, max(16, a.steps // 2), l1=0.01)
        r["whole_run_1024"] = whole_run(a.whole_run_steps)
        rounds.append(r)
    res = {"threads": a.threads, "torch": torch.__version__, "rounds": a.rounds,
           "peak_gflops": med(r["peak"]["peak_gflops"] for r in rounds), "batches": {}}
    for batch in (1024, 8192):
        o = [r[batch]["ours"] for r in rounds]
        p = [r[batch]["paper"] for r in rounds]
        row = {"ours_steps_per_s": med(x["steps_per_s"] for x in o),
               "ours_gflops": med(x["gflops"] for x in o),
               "fraction_of_peak": med(x["gflops"] / r["peak"]["peak_gflops"] for x, r in zip(o, rounds)),
               "sampler_fraction": med(x["sampler_fraction"] for x in o),
               "paper_style_steps_per_s": med(x["steps_per_s"] for x in p),
               "speedup_vs_paper_style": med(x["steps_per_s"] / y["steps_per_s"] for x, y in zip(o, p))}
        res["batches"][batch] = row
        print(f"B={batch}: ours {row['ours_steps_per_s']:.2f} steps/s = {row['ours_gflops']:.1f} GFLOP/s "
              f"({100 * row['fraction_of_peak']:.0f}% of the same round's matmul peak, median "
              f"{res['peak_gflops']:.0f}); sampler {100 * row['sampler_fraction']:.1f}% of a step; paper-style "
              f"{row['paper_style_steps_per_s']:.2f} steps/s; speedup {row['speedup_vs_paper_style']:.2f}x")
    l1 = med(r["paper_l1"]["steps_per_s"] for r in rounds)
    res["paper_style_l1_steps_per_s"] = l1
    print(f"paper-style with the L1 re-forward at B=1024: {l1:.2f} steps/s")
    w = med(r["whole_run_1024"] for r in rounds)
    res["whole_run_1024_steps_per_s"] = w
    print(f"train_run end to end at B=1024 over {a.whole_run_steps} steps (checkpoints, metric, saves): "
          f"{w:.2f} steps/s = {w / res['batches'][1024]['ours_steps_per_s']:.2f} of the steady-state step rate")
    res["raw_rounds"] = [{str(k): v for k, v in r.items()} for r in rounds]
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
