"""Pruning speed claims, as ratios measured inside one process (variants interleaved, median over rounds).

1. One IMP level against a dense run of the same recipe: the wall time of level 1 of run_imp (load
   level 0, magnitude-prune, rewind, masked train_run, levels.json) over a dense train_run. Also the
   steady-state masked train_step against the plain one at 80%, 50% and 10.7% of the weights kept
   (IMP levels 1, ~3 and 10), and the same with the optimizer's sqrt(0) taken out (see below).
2. RigL at update-every 100: the time inside the Grower (the dense-gradient copy at update steps, the
   drop and grow, and the per-step schedule check) as a share of the run's training loop time, the cost
   of one update in steps, and a RigL run's wall time over a static-mask run's.
Shape: cpu-small (N 128, d 32, k 256, batch 1024), lr 0.03, 1 thread.
Usage: python benchmarks/pruning_speed.py [--threads 1] [--steps 2048] [--rounds 3] [--out ...json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from models.config import TrainConfig, preset
from models.optim import make_optimizer
from models.tasks import Task
from models.train import train_run, train_step
from pruning import masks as M
from pruning.grow import Grower, GrowSettings, initial_masks, run_grow
from pruning.imp import ImpSettings, plan_imp, run_imp


def imp_level_vs_dense(cfg: TrainConfig, root: Path, r: int) -> dict:
    t0 = time.perf_counter()
    train_run(cfg, root / f"dense{r}")
    dense = time.perf_counter() - t0
    stamps = {}
    plan = plan_imp(ImpSettings(rounds=1, rate=0.2), root / f"imp{r}", run=root / f"dense{r}")
    run_imp(plan, on_level=lambda level, status: stamps.__setitem__(level, time.perf_counter()))
    return {"dense_run_s": dense, "imp_level_s": stamps[1] - stamps[0], "ratio": (stamps[1] - stamps[0]) / dense}


def masked_step_ratio(cfg: TrainConfig, steps: int, keep_fraction: float, blocks: int = 4) -> dict:
    """Steady-state train_step with masks keeping `keep_fraction` of W1 and W2 over the plain step,
    interleaved blocks, median. "masked, v>0" fills LAMB's second moment of the pruned weights with 1
    (numerically a no-op there: their first moment stays 0, so their update is 0): it isolates the cost
    of sqrt(0) in the optimizer, which is ~7x sqrt of a positive number on this AVX2 build."""
    from models.model import init_params

    task = Task(cfg)
    gen = torch.Generator().manual_seed(1)
    p0 = init_params(cfg, torch.Generator().manual_seed(0))
    shapes = {n: tuple(p0[n].shape) for n in M.PRUNABLE}
    masks = M.random_masks(shapes, M.layer_keep_counts(shapes, 1 - keep_fraction, "uniform"), gen)
    times = {"plain": [], "masked": [], "masked, v>0": []}
    for _ in range(blocks):
        for variant in times:
            m = {} if variant == "plain" else masks
            params = {n: (t * m[n] if n in m else t).clone().requires_grad_(True) for n, t in p0.items()}
            opt = make_optimizer(cfg.optimizer, params)
            if variant == "masked, v>0":
                for n in masks:
                    opt.exp_avg_sq[n][~masks[n]] = 1.0
            for s in range(10):
                train_step(cfg, params, opt, task, gen, s, m)
            t0 = time.perf_counter()
            for s in range(steps):
                train_step(cfg, params, opt, task, gen, s, m)
            times[variant].append((time.perf_counter() - t0) / steps)
    med = {v: statistics.median(t) for v, t in times.items()}
    return {"keep_fraction": keep_fraction, **{f"{v}_step_ms": 1e3 * t for v, t in med.items()},
            "masked_over_plain": med["masked"] / med["plain"],
            "masked_v_positive_over_plain": med["masked, v>0"] / med["plain"]}


class TimedGrower(Grower):
    """A Grower that adds up the time spent in its hooks."""

    spent = 0.0
    update_times: list

    def grad_hook(self, step, params):
        t0 = time.perf_counter()
        super().grad_hook(step, params)
        self.spent += time.perf_counter() - t0

    def __call__(self, done, params, opt, masks):
        t0 = time.perf_counter()
        update = self.is_update(done)
        super().__call__(done, params, opt, masks)
        dt = time.perf_counter() - t0
        self.spent += dt
        if update:
            self.update_times.append(dt)


def rigl_share(cfg: TrainConfig, root: Path, r: int) -> dict:
    s = GrowSettings(method="rigl", sparsity=0.9, update_every=100)
    grower = TimedGrower(s, cfg, root / f"rigl{r}")
    grower.update_times = []
    t0 = time.perf_counter()
    summary = train_run(cfg, root / f"rigl{r}", masks=initial_masks(s, cfg), grad_hook=grower.grad_hook,
                        after_step=grower)
    rigl_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_grow(GrowSettings(method="static", sparsity=0.9), cfg, root / f"static{r}")
    static_wall = time.perf_counter() - t0
    train_s = summary["wall_s"]  # the training loop (without the final eval and plots)
    step_s = train_s / cfg.steps
    return {"updates": len(grower.update_times), "hook_s": grower.spent, "rigl_train_loop_s": train_s,
            "rigl_run_s": rigl_wall,
            "static_run_s": static_wall, "share_of_training": grower.spent / train_s,
            "update_ms": 1e3 * statistics.median(grower.update_times),
            "update_in_steps": statistics.median(grower.update_times) / step_s,
            "rigl_over_static": rigl_wall / static_wall}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_pruning_speed.json")))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = TrainConfig(**(preset("cpu-small") | dict(lr=0.03, steps=a.steps, device="cpu")), preset="cpu-small")
    imp_rows, rigl_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train_run(cfg.replace(steps=16), root / "warmup")  # the eval set, matplotlib: first-call costs
        for r in range(a.rounds):
            imp_rows.append(imp_level_vs_dense(cfg, root, r))
            rigl_rows.append(rigl_share(cfg, root, r))
            print(f"round {r}: IMP level / dense {imp_rows[-1]['ratio']:.3f}; RigL hooks "
                  f"{100 * rigl_rows[-1]['share_of_training']:.2f}% of training", flush=True)
    step = [masked_step_ratio(cfg, 200, f) for f in (0.8, 0.5, 0.107)]  # IMP levels 1, ~3, 10
    med = lambda rows, k: statistics.median(x[k] for x in rows)  # noqa: E731
    result = {
        "date": time.strftime("%Y-%m-%d"), "threads": a.threads, "torch": torch.__version__, "steps": a.steps,
        "shape": "cpu-small N128 d32 k256 batch 1024, lr 0.03",
        "imp_level_over_dense_run": med(imp_rows, "ratio"),
        "masked_step_over_plain_step": {f"keep {r['keep_fraction']}": r["masked_over_plain"] for r in step},
        "masked_step_v_positive_over_plain_step": {f"keep {r['keep_fraction']}": r["masked_v_positive_over_plain"]
                                                   for r in step},
        "rigl_hook_share_of_training": med(rigl_rows, "share_of_training"),
        "rigl_update_in_steps": med(rigl_rows, "update_in_steps"), "rigl_update_ms": med(rigl_rows, "update_ms"),
        "rigl_run_over_static_run": med(rigl_rows, "rigl_over_static"),
        "rounds": {"imp": imp_rows, "rigl": rigl_rows, "step": step},
    }
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=1))


if __name__ == "__main__":
    main()
