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
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from models.config import TrainConfig
from paper_code import paper_train
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


def best(fn, reps: int, trials: int = 5) -> float:
    """Fastest of several timings: the peak is what the hardware can do, not its average."""
    return min(timed(fn, reps) for _ in range(trials))


def matmul_peak() -> dict:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    sq = 2 * 2048**3 / best(lambda: a @ b, 4) / 1e9
    h, w = torch.randn(8192, K), torch.randn(K, N)
    step_gemm = 2 * 8192 * K * N / best(lambda: h @ w, 4) / 1e9
    return {"square_2048_gflops": sq, "step_gemm_8192x1024x512_gflops": step_gemm, "peak_gflops": max(sq, step_gemm)}


def ours(batch: int, steps: int, autograd: bool = False) -> dict:
    """Steady-state steps of models.train.train_step (the loop body of train_run, without its I/O).

    autograd=True: the same update with the ReLU gradients from autograd on the whole batch (how
    train_step handles GeLU/SoLU), to measure what the hand-written chunked ReLU step buys."""
    from models.model import hidden, init_params
    from models.optim import make_optimizer
    from models.tasks import task_loss
    from models.train import lr_at

    cfg = TrainConfig(n_features=N, d_embed=D, k=K, eps=1 / 64, batch=batch, steps=2**17, lr=0.003,
                      bias_init=-1.0, bias_decay=0.03, device="cpu")
    task = Task(cfg)
    params = {n: t.requires_grad_(True) for n, t in init_params(cfg, torch.Generator().manual_seed(0)).items()}
    opt = make_optimizer("lamb", params)
    gen = torch.Generator().manual_seed(1)
    it = iter(range(10**9))

    def autograd_step(step):
        x, y = task.sample(batch, gen)
        loss = task_loss(hidden(params, x) @ params["W2"].t(), y)
        for p in params.values():
            p.grad = None
        loss.backward()
        opt.step(lr_at(cfg, step))
        with torch.no_grad():
            params["b1"].mul_(1 - cfg.bias_decay * cfg.lr)

    if autograd:
        step_s = timed(lambda: autograd_step(next(it)), steps)
    else:
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
    """The paper code's step (benchmarks/paper_code.py), timed over `steps` after a warm-up."""
    embedder = Task(TrainConfig(n_features=N, d_embed=D)).P
    paper_train(embedder, 1 / 64, K, batch, 2, 0.003, -1.0, 0.03, l1)
    t0 = time.perf_counter()
    paper_train(embedder, 1 / 64, K, batch, steps, 0.003, -1.0, 0.03, l1)
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
            r[batch] = {"ours": ours(batch, steps), "autograd": ours(batch, steps, autograd=True),
                        "paper": paper_style(batch, steps)}
        r["paper_l1"] = paper_style(1024, max(16, a.steps // 2), l1=0.01)
        r["whole_run_1024"] = whole_run(a.whole_run_steps)
        rounds.append(r)
    res = {"threads": a.threads, "torch": torch.__version__, "rounds": a.rounds,
           "peak_gflops": med(r["peak"]["peak_gflops"] for r in rounds), "batches": {}}
    for batch in (1024, 8192):
        o = [r[batch]["ours"] for r in rounds]
        p = [r[batch]["paper"] for r in rounds]
        ag = [r[batch]["autograd"] for r in rounds]
        row = {"ours_steps_per_s": med(x["steps_per_s"] for x in o),
               "ours_gflops": med(x["gflops"] for x in o),
               "fraction_of_peak": med(x["gflops"] / r["peak"]["peak_gflops"] for x, r in zip(o, rounds)),
               "sampler_fraction": med(x["sampler_fraction"] for x in o),
               "paper_style_steps_per_s": med(x["steps_per_s"] for x in p),
               "speedup_vs_paper_style": med(x["steps_per_s"] / y["steps_per_s"] for x, y in zip(o, p)),
               "autograd_steps_per_s": med(x["steps_per_s"] for x in ag),
               "speedup_vs_autograd": med(x["steps_per_s"] / y["steps_per_s"] for x, y in zip(o, ag))}
        res["batches"][batch] = row
        print(f"B={batch}: ours {row['ours_steps_per_s']:.2f} steps/s = {row['ours_gflops']:.1f} GFLOP/s "
              f"({100 * row['fraction_of_peak']:.0f}% of the same round's matmul peak, median "
              f"{res['peak_gflops']:.0f}); sampler {100 * row['sampler_fraction']:.1f}% of a step; paper-style "
              f"{row['paper_style_steps_per_s']:.2f} steps/s; speedup {row['speedup_vs_paper_style']:.2f}x; "
              f"vs the autograd whole-batch step {row['speedup_vs_autograd']:.2f}x")
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
