"""Batched-instances training: E runs of one shape trained as one stacked model, each into its own run dir.

Weights are stacked along a leading instance dim and the per-instance losses summed, so each instance's
gradient is exactly its own run's; each keeps its own config, data stream and run dir (train_run's files,
resume state included, so either trainer resumes the other's runs). It pays for tiny models on a CPU and for
many small ones on a GPU (benchmarks/README.md), so it is not the default.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch

from . import runs, seeds
from .bias_decay import BiasDecay
from .config import ConfigError, TrainConfig
from .model import NONLINEARITY, PARAM_NAMES, matmul_precision
from .optim import make_optimizer
from .rundir import ResumeState, RunDir
from .train import (PROGRESS_EVERY, SAVE_EVERY, LossLog, checkpoint_entry, finish_run, is_checkpoint, lr_at,
                    resolve_device, start_run)

# what every instance of a batch must share: the shapes, the loop, the optimizer and the device
SHARED_FIELDS = ("task", "n_features", "d_embed", "k", "nonlinearity", "optimizer", "schedule",
                 "schedule_period", "batch", "steps", "device", "precision", "bias_decay_mode")


def batch_key(cfg: TrainConfig) -> tuple:
    """Configs with equal keys can train as instances of one batch."""
    return tuple(getattr(cfg, f) for f in SHARED_FIELDS)


def batched_loss_and_grads(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                           l1: torch.Tensor | None, nonlinearity: str = "relu", precision: str = "fp32"
                           ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per-instance task losses (E,) and the gradients of sum_e (loss_e + l1_e sum|h_e| / B).

    x: E x B x d, y: E x B x out, l1: None or (E,). Instance e's gradient is that of its own loss alone,
    since the other terms do not depend on its weights. ReLU by hand (models.model.relu_loss_and_grads
    with a leading dim, bf16 in its second layer as there), the others by autograd (under bf16 autocast)."""
    W1, b1, W2 = params["W1"], params["b1"], params["W2"]
    B = x.shape[1]
    if nonlinearity == "relu":
        cd = torch.bfloat16 if precision == "bf16" else W2.dtype
        with torch.no_grad():
            h = torch.baddbmm(b1.unsqueeze(1), x, W1.transpose(1, 2)).relu_()
            hc, W2c = h.to(cd), W2.to(cd)
            diff = torch.bmm(hc, W2c.transpose(1, 2)).float().sub_(y)
            loss = diff.square().sum((1, 2)) / B
            g_out = diff.mul_(2.0 / B).to(cd)
            g_W2 = torch.bmm(g_out.transpose(1, 2), hc).float()
            g_h = torch.bmm(g_out, W2c).float()
            if l1 is not None:
                g_h.add_(l1.view(-1, 1, 1) / B)  # d|h|/dh = 1 where h > 0; the mask below zeroes the rest
            g_pre = torch.ops.aten.threshold_backward(g_h, h, 0)
            return loss, {"W1": torch.bmm(g_pre.transpose(1, 2), x), "b1": g_pre.sum(1), "W2": g_W2}
    for p in params.values():
        p.grad = None
    with matmul_precision(precision, x.device):
        h = NONLINEARITY[nonlinearity](torch.baddbmm(b1.unsqueeze(1), x, W1.transpose(1, 2)))
        loss = (torch.bmm(h, W2.transpose(1, 2)).float() - y).square().sum((1, 2)) / B
    total = loss.sum()
    if l1 is not None:
        total = total + (l1 * h.float().abs().sum((1, 2))).sum() / B
    total.backward()
    return loss.detach(), {n: p.grad for n, p in params.items()}


def check_batch(cfgs: list[TrainConfig], run_dirs: list[Path]) -> None:
    """Refuse a batch whose instances cannot share one loop (one-line ConfigErrors)."""
    if not cfgs or len(cfgs) != len(run_dirs):
        raise ConfigError("a batch needs one run dir per config, and at least one")
    differ = [f for f, *vals in zip(SHARED_FIELDS, *map(batch_key, cfgs)) if len(set(vals)) > 1]
    if differ:
        raise ConfigError(f"batched instances must share {', '.join(differ)}")
    if len({d.resolve() for d in run_dirs}) != len(run_dirs):
        raise ConfigError("two instances of a batch have the same run dir")


def train_batched(cfgs: list[TrainConfig], run_dirs: list[str | Path], *, resume: bool = False,
                  force: bool = False, on_progress: Callable[[int, list[float]], None] | None = None,
                  stop_after: int | None = None, plots: bool | str = True) -> list[dict]:
    """Train E runs as one stacked model; returns their summaries (empty after stop_after).

    Each instance's run dir gets what train_run would write. Instances resumed together must stand at
    the same step."""
    dirs = [RunDir(d) for d in run_dirs]
    check_batch(cfgs, [d.path for d in dirs])
    device = resolve_device(cfgs[0].device)
    resumed = [d.check(c, resume=resume, force=force) for d, c in zip(dirs, cfgs)]
    states = [d.load_state() if r else None for d, r in zip(dirs, resumed)]
    at = sorted({0 if s is None else s.step for s in states})
    if len(at) > 1:
        raise runs.RunError(f"batched instances stand at different steps ({', '.join(map(str, at))}); "
                            "resume them one by one")
    try:
        for d, c in zip(dirs, cfgs):
            d.claim(c, resume=resume, force=force)
        return _train_batched(cfgs, dirs, device, states, at[0], on_progress, stop_after, plots)
    finally:
        for d in dirs:
            d.release()


def _begin_or_restore(dirs, cfgs, states, begun, params, opt, decay, gens, device, start):
    """Per instance: the files of a fresh run, or its saved state copied into slot e of the stack.
    Returns each instance's metrics so far and wall time before this process."""
    metrics: list[list[dict]] = [[] for _ in cfgs]
    wall_before = [0.0] * len(cfgs)
    for e, (d, c, st, b) in enumerate(zip(dirs, cfgs, states, begun)):
        if st is None:
            d.begin(c, device, b[0], b[2])
            continue
        with torch.no_grad():
            for n, p in params.items():
                p[e].copy_(st.params[n])
                opt.exp_avg[n][e].copy_(st.opt[f"exp_avg.{n}"])
                opt.exp_avg_sq[n][e].copy_(st.opt[f"exp_avg_sq.{n}"])
        opt.step_count = int(st.opt["step_count"])
        try:
            decay.load_instance_state(e, st.decay)
        except KeyError:
            raise runs.RunError(f"{d.path / runs.RESUME} does not fit this run (bias decay state)") from None
        gens[e].set_state(st.gen)
        wall_before[e] = st.wall_s
        metrics[e] = d.metrics_until(start)
    return metrics, wall_before


def _train_batched(cfgs, dirs, device, states, start, on_progress, stop_after, plots) -> list[dict]:
    cfg0, E = cfgs[0], len(cfgs)
    begun = [start_run(c, device) for c in cfgs]  # (task tensors, task, init) per instance
    tasks = [b[1] for b in begun]
    gens = [seeds.generator(c.seed, seeds.DATA, device) for c in cfgs]
    params = {n: torch.stack([b[2][n] for b in begun]).requires_grad_(True) for n in PARAM_NAMES}
    opt = make_optimizer(cfg0.optimizer, params, instances=True)
    # per-instance constants on the device: no host work inside the step loop
    factor = torch.tensor([1 - c.bias_decay * c.lr for c in cfgs], device=device).view(E, 1)
    decay = BiasDecay(cfg0, factor, params, instances=True)
    metrics, wall_before = _begin_or_restore(dirs, cfgs, states, begun, params, opt, decay, gens, device, start)
    base_lr = torch.tensor([c.lr for c in cfgs], device=device)
    l1 = torch.tensor([c.l1 for c in cfgs], device=device) if any(c.l1 for c in cfgs) else None
    shape = cfg0.replace(lr=1.0)  # the schedule's factor: every instance shares schedule and period
    singles = [t.single_feature_inputs() for t in tasks]
    losses = LossLog(device, instances=E)
    t0 = time.perf_counter()

    def instance(e: int) -> dict[str, torch.Tensor]:
        return {n: p[e].detach() for n, p in params.items()}

    def save_state(step: int):
        losses.flush(metrics)
        wall = time.perf_counter() - t0
        for e, d in enumerate(dirs):
            opt_state = {f"exp_avg.{n}": t[e] for n, t in opt.exp_avg.items()}
            opt_state.update({f"exp_avg_sq.{n}": t[e] for n, t in opt.exp_avg_sq.items()})
            opt_state["step_count"] = torch.tensor(opt.step_count, dtype=torch.int64)
            d.save_state(ResumeState(params=instance(e), opt=opt_state, gen=gens[e].get_state(), step=step,
                                     wall_s=wall_before[e] + wall, decay=decay.instance_state(e)), metrics[e])

    for step in range(start, cfg0.steps):
        xs, ys = zip(*(t.sample(cfg0.batch, g) for t, g in zip(tasks, gens)))
        loss, grads = batched_loss_and_grads(params, torch.stack(xs), torch.stack(ys), l1, cfg0.nonlinearity,
                                             cfg0.precision)
        for n, p in params.items():
            p.grad = grads[n]
        opt.step(base_lr * lr_at(shape, step))
        decay.apply(step, params, grads["b1"] == 0 if cfg0.bias_decay_mode == "per-neuron" else None)
        losses.log(step, loss)
        done = step + 1
        if is_checkpoint(done):
            for e, (d, c) in enumerate(zip(dirs, cfgs)):
                d.write_checkpoint(done, instance(e))
                metrics[e].append(checkpoint_entry(instance(e), singles[e], c.nonlinearity, done))
        if is_checkpoint(done) or done % SAVE_EVERY == 0:
            save_state(done)
        if on_progress is not None and (done % PROGRESS_EVERY == 0 or done == cfg0.steps):
            on_progress(done, loss.tolist())
        if stop_after is not None and done >= stop_after and done < cfg0.steps:
            save_state(done)
            return []

    if not (is_checkpoint(cfg0.steps) or cfg0.steps % SAVE_EVERY == 0):
        save_state(cfg0.steps)  # each run keeps its last state, as train_run's do (models extend)
    losses.flush(metrics)
    elapsed = time.perf_counter() - t0
    rate = (cfg0.steps - start) / elapsed if elapsed > 0 else None
    return [finish_run(d, c, {n: p[e].detach().clone() for n, p in params.items()}, metrics[e], device, tasks[e],
                       {}, wall_s=wall_before[e] + elapsed, steps_per_s=rate, extra={"batched_instances": E},
                       plots=plots, keep_state=True)
            for e, (d, c) in enumerate(zip(dirs, cfgs))]
