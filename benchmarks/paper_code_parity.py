"""Does our trainer land where the paper's own training loop lands? Same task (P), same recipe, 3 seeds each.

The paper's loop (paper_code.py) and ours draw different random numbers, so the comparison is of
distributions over seeds: eval loss on our fixed eval set and the monosemantic count, both measured
by our code on both sets of weights.
Usage: python benchmarks/paper_code_parity.py [--preset cpu-small] [--lrs 0.003,0.03] [--seeds 0,1,2]
       [--steps 8192] [--out benchmarks/results_parity.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from models.config import TrainConfig, preset
from models.evaluate import eval_loss
from models.metric import measure
from models.tasks import Task
from models.train import train_run


def _one(args):
    which, cfg = args
    torch.set_num_threads(1)
    task = Task(cfg)
    if which == "paper":
        from paper_code import paper_train, params_of

        model, _, _ = paper_train(task.P, cfg.eps, cfg.k, cfg.batch, cfg.steps, cfg.lr, float(cfg.bias_init),
                                  cfg.bias_decay, seed=cfg.seed)
        p = params_of(model)
    else:
        with tempfile.TemporaryDirectory() as d:
            train_run(cfg, Path(d) / "r")
            from models import load_run

            p = load_run(Path(d) / "r").params
    m = measure(p, task.single_feature_inputs(), "relu")
    return {"impl": which, "lr": cfg.lr, "seed": cfg.seed, "eval_loss": eval_loss(p, cfg),
            "mono_per_N": m.mono_count / cfg.n_features, "dead": m.dead_count}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="cpu-small")
    ap.add_argument("--lrs", default="0.003,0.03")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results_parity.json")
    a = ap.parse_args()
    base = TrainConfig(**preset(a.preset), device="cpu")
    if a.steps:
        base = base.replace(steps=a.steps)
    jobs = [(which, base.replace(lr=float(lr), seed=int(s))) for lr in a.lrs.split(",")
            for s in a.seeds.split(",") for which in ("paper", "ours")]
    import multiprocessing as mp

    with ProcessPoolExecutor(a.workers, mp_context=mp.get_context("spawn")) as pool:
        rows = list(pool.map(_one, jobs))
    summary = []
    for lr in sorted({r["lr"] for r in rows}):
        for impl in ("paper", "ours"):
            rs = [r for r in rows if r["lr"] == lr and r["impl"] == impl]
            line = {"lr": lr, "impl": impl, "seeds": len(rs)}
            for f in ("eval_loss", "mono_per_N", "dead"):
                vals = [r[f] for r in rs]
                line[f] = {"mean": statistics.mean(vals), "min": min(vals), "max": max(vals)}
            summary.append(line)
            print(f"lr={lr:g} {impl:5s}: eval loss {line['eval_loss']['mean']:.4f} "
                  f"[{line['eval_loss']['min']:.4f}, {line['eval_loss']['max']:.4f}]  mono/N "
                  f"{line['mono_per_N']['mean']:.3f} [{line['mono_per_N']['min']:.3f}, {line['mono_per_N']['max']:.3f}]"
                  f"  dead {line['dead']['mean']:.1f}")
    Path(a.out).write_text(json.dumps({"config": base.to_dict(), "summary": summary, "runs": rows}, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
