"""The training loop: the paper's recipe (LAMB, restarting cosine, bias decay in the first half), resumable.

One step: sample a sparse batch, forward, loss (+ optional L1 on hidden activations), backward,
optimizer step at lr(step), then bias decay b1 *= 1 - decay * base_lr while step < steps / 2.
Checkpoints (weights + the metric) after updates 1, 2, 4, 8, ... as the paper's curves use.
A resume state is saved at every checkpoint and every SAVE_EVERY steps; a resumed run equals the
uninterrupted one bit for bit at the same thread count (all randomness is in saved generators).
"""
from __future__ import annotations

import math
import platform
import shutil
import time
from pathlib import Path
from typing import Callable

import torch

from . import runs
from .config import TrainConfig
from .evaluate import eval_loss
from .metric import measure, single_feature_activations
from .model import hidden, init_params, relu_loss_and_grads
from .optim import make_optimizer
from .tasks import Task, make_task_tensors, task_loss

LOG_EVERY = 16
SAVE_EVERY = 1024
_DATA_STREAM, _BIAS_STREAM = 0x0D47A, 0xB1A5


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate for the update applied at `step` (0-based).

    restart-cosine is what the paper's code ran: CosineAnnealingLR(T_max=512) stepped past T_max, i.e.
    lr * (1 + cos(pi * step / 512)) / 2, which falls to 0 at 512 and climbs back to lr at 1024
    (128 cycles in 2^17 steps). cosine anneals once over the run; constant is constant.
    """
    if cfg.schedule == "constant":
        return cfg.lr
    period = cfg.schedule_period if cfg.schedule == "restart-cosine" else cfg.steps
    return cfg.lr * (1 + math.cos(math.pi * step / period)) / 2


def is_checkpoint(step: int) -> bool:
    """Checkpoints after updates 1, 2, 4, ...: `step` counts updates applied."""
    return step > 0 and step & (step - 1) == 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise runs.RunError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(name)


def data_bias(params: dict[str, torch.Tensor], task: Task, cfg: TrainConfig) -> torch.Tensor:
    """Each neuron's bias set just below minus its largest pre-activation on one batch (bias_init="data")."""
    gen = torch.Generator(device=task.device).manual_seed(cfg.seed * 1_000_003 + _BIAS_STREAM)
    x, _ = task.sample(cfg.batch, gen)
    top = (x @ params["W1"].t()).max(dim=0).values
    return -top - cfg.data_bias_margin


def data_generator(cfg: TrainConfig, device: torch.device) -> torch.Generator:
    """The run's data stream (seeded by cfg.seed alone)."""
    return torch.Generator(device=device).manual_seed(cfg.seed * 1_000_003 + _DATA_STREAM)


def start_run(cfg: TrainConfig, device: torch.device, start_params: dict[str, torch.Tensor] | None = None
              ) -> tuple[dict[str, torch.Tensor], Task, dict[str, torch.Tensor]]:
    """A fresh run's task tensors, task and initial weights on `device` (start_params replace the drawn init)."""
    task_tensors = make_task_tensors(cfg)
    task = Task(cfg, device, task_tensors)
    init = init_params(cfg, torch.Generator().manual_seed(cfg.seed))
    if start_params is not None:
        init = {n: start_params[n].detach().clone().float().cpu() for n in ("W1", "b1", "W2")}
    init = {n: t.to(device) for n, t in init.items()}
    if cfg.bias_init == "data" and start_params is None:
        init["b1"] = data_bias(init, task, cfg)
    return task_tensors, task, init


def resumed_metrics(run_dir: Path, start: int) -> list[dict]:
    """The metrics a run had logged up to its resume state at `start` (later lines are dropped)."""
    return [m for m in runs.read_metrics(run_dir / runs.METRICS) if m["step"] <= start
            and not ("loss" in m and m["step"] >= start)]


def write_checkpoint(run_dir: Path, cfg: TrainConfig, params: dict[str, torch.Tensor], single: torch.Tensor,
                     done: int, metrics: list[dict]) -> int | None:
    """Weights after update `done` to checkpoints/, their metric appended to metrics; returns mono count."""
    runs.write_tensors(run_dir / runs.CHECKPOINTS / f"step_{done:07d}.safetensors", params)
    mono = measure(params, single, cfg.nonlinearity)
    metrics.append({"step": done, "mono": None if mono is None else mono.mono_count,
                    "dead": None if mono is None else mono.dead_count,
                    "mean_bias": float(params["b1"].mean())})
    return None if mono is None else mono.mono_count


def prepare_run_dir(run_dir: Path, cfg: TrainConfig, resume: bool, force: bool) -> bool:
    """Check the run directory may be (re)used; returns True when training should resume from it."""
    if not run_dir.exists():
        return False
    if runs.is_finished(run_dir):
        if not force:
            raise runs.RunError(f"run {run_dir} is finished; pass --force to overwrite it")
        shutil.rmtree(run_dir)
        return False
    if not any(run_dir.iterdir()):
        return False
    if force:
        shutil.rmtree(run_dir)
        return False
    if not resume:
        raise runs.RunError(f"run {run_dir} exists unfinished; pass --resume to continue it or --force to restart")
    stored = runs.read_config(run_dir)
    if stored != cfg:
        diff = [k for k, v in cfg.to_dict().items() if stored.to_dict().get(k) != v and k != "preset"]
        raise runs.RunError(f"--resume with a different config than {run_dir}'s (differs in: {', '.join(diff)})")
    return (run_dir / runs.RESUME).exists()


def config_record(cfg: TrainConfig, device: torch.device) -> dict:
    import numpy

    return {"config": cfg.to_dict(), "versions": {"torch": torch.__version__, "numpy": numpy.__version__,
                                                  "python": platform.python_version()},
            "device": str(device), "threads": torch.get_num_threads()}


def train_step(cfg: TrainConfig, params: dict[str, torch.Tensor], opt, task: Task, gen: torch.Generator,
               step: int, masks: dict[str, torch.Tensor], grad_hook: Callable | None = None) -> torch.Tensor:
    """One update (0-based `step`): sample, loss and gradients, masked gradients, optimizer, bias decay.

    grad_hook(step, params) may add to each p.grad in place before the masks apply (a penalty term,
    e.g. basins' pull toward another model). Returns the task loss (without L1 or the hook's term) of
    the batch, before the update."""
    x, y = task.sample(cfg.batch, gen)
    if cfg.nonlinearity == "relu":
        # row chunks keep a CPU's caches warm; on a GPU one block is 2.4x faster (benchmarks/README.md)
        chunk = x.shape[0] if x.device.type != "cpu" else 1024
        loss, grads = relu_loss_and_grads(params, x, y, cfg.l1, chunk=chunk)
        for n, p in params.items():
            p.grad = grads[n]
    else:
        h = hidden(params, x, cfg.nonlinearity)
        loss = task_loss(h @ params["W2"].t(), y)
        total = loss + cfg.l1 * h.abs().sum() / cfg.batch if cfg.l1 else loss
        for p in params.values():
            p.grad = None
        total.backward()
    if grad_hook is not None:
        grad_hook(step, params)
    for n, m in masks.items():
        params[n].grad.mul_(m)
    opt.step(lr_at(cfg, step))
    if step < cfg.steps / 2 and cfg.bias_decay:
        with torch.no_grad():
            params["b1"].mul_(1 - cfg.bias_decay * cfg.lr)
    return loss


def train_run(cfg: TrainConfig, run_dir: str | Path, *, resume: bool = False, force: bool = False,
              start_params: dict[str, torch.Tensor] | None = None,
              masks: dict[str, torch.Tensor] | None = None,
              on_progress: Callable[[int, float | None, int | None], None] | None = None,
              stop_after: int | None = None, grad_hook: Callable | None = None,
              after_step=None) -> dict:
    """Train one run into run_dir and return its summary.

    start_params replaces the drawn init (pruning rewinds through it); masks (bool, same shapes as
    W1/W2) zero the gradient of pruned weights so they stay exactly zero. stop_after ends the process's
    work early with the resume state saved (for tests of --resume).
    Hooks for the subsystems: grad_hook(step, params) adds to the gradients (see train_step);
    after_step(done, params, opt, masks) runs after each update and may change `masks` in place
    (prune-and-grow). If after_step has state_tensors()/load_state_tensors(), its state is saved with
    the resume state; the masks always are, so a resumed run sees the masks it stopped with.
    """
    run_dir = Path(run_dir)
    do_resume = prepare_run_dir(run_dir, cfg, resume, force)
    device = resolve_device(cfg.device)

    task_tensors, task, init = start_run(cfg, device, start_params)
    masks = {n: m.to(device=device, dtype=torch.bool) for n, m in (masks or {}).items()}
    for n, m in masks.items():
        init[n] = init[n] * m

    params = {n: t.clone().requires_grad_(True) for n, t in init.items()}
    opt = make_optimizer(cfg.optimizer, params)
    gen = data_generator(cfg, device)
    metrics: list[dict] = []
    start, wall_before = 0, 0.0

    if do_resume:
        state = runs.read_tensors(run_dir / runs.RESUME)
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(state[f"param.{n}"])
        opt.load_state_tensors({k[4:]: v for k, v in state.items() if k.startswith("opt.")})
        for n in masks:
            masks[n].copy_(state[f"mask.{n}"])
        if hasattr(after_step, "load_state_tensors"):
            after_step.load_state_tensors({k[5:]: v for k, v in state.items() if k.startswith("hook.")})
        gen.set_state(state["gen"])
        start = int(state["step"])
        wall_before = float(state["wall_s"])
        metrics = resumed_metrics(run_dir, start)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        runs.write_json(run_dir / runs.CONFIG, config_record(cfg, device))
        runs.write_tensors(run_dir / runs.TASK, task_tensors)
        runs.write_tensors(run_dir / runs.INIT, {**init, **{f"mask.{n}": m for n, m in masks.items()}})

    single = task.single_feature_inputs()
    loss_buf = torch.zeros(SAVE_EVERY // LOG_EVERY + 1, device=device)
    pending: list[int] = []  # steps whose loss sits in loss_buf
    t0 = time.perf_counter()

    def flush_losses():
        if pending:
            for s, v in zip(pending, loss_buf[:len(pending)].tolist()):
                metrics.append({"step": s, "loss": v})
            pending.clear()

    def save_state(step: int):
        flush_losses()
        runs.write_metrics(run_dir / runs.METRICS, metrics)
        state = {f"param.{n}": p for n, p in params.items()}
        state.update({f"opt.{k}": v for k, v in opt.state_tensors().items()})
        state.update({f"mask.{n}": m for n, m in masks.items()})
        if hasattr(after_step, "state_tensors"):
            state.update({f"hook.{k}": v for k, v in after_step.state_tensors().items()})
        state["gen"] = gen.get_state()
        state["step"] = torch.tensor(step, dtype=torch.int64)
        state["wall_s"] = torch.tensor(wall_before + time.perf_counter() - t0, dtype=torch.float64)
        runs.write_tensors(run_dir / runs.RESUME, state)

    last_mono = None
    for step in range(start, cfg.steps):
        loss = train_step(cfg, params, opt, task, gen, step, masks, grad_hook)
        if step % LOG_EVERY == 0:
            loss_buf[len(pending)] = loss.detach()
            pending.append(step)
        done = step + 1
        if after_step is not None:
            after_step(done, params, opt, masks)
        if is_checkpoint(done):
            last_mono = write_checkpoint(run_dir, cfg, {n: t.detach() for n, t in params.items()}, single,
                                         done, metrics)
        if is_checkpoint(done) or done % SAVE_EVERY == 0:
            save_state(done)
        if on_progress is not None and (done % 64 == 0 or done == cfg.steps):
            on_progress(done, float(loss.detach()), last_mono)
        if stop_after is not None and done >= stop_after and done < cfg.steps:
            save_state(done)
            return {}

    flush_losses()
    elapsed = time.perf_counter() - t0
    return finish_run(run_dir, cfg, params, metrics, device, task, masks, wall_s=wall_before + elapsed,
                      steps_per_s=(cfg.steps - start) / elapsed if elapsed > 0 else None)


def finish_run(run_dir: Path, cfg: TrainConfig, params: dict[str, torch.Tensor], metrics: list[dict],
               device: torch.device, task: Task, masks: dict[str, torch.Tensor], *, wall_s: float,
               steps_per_s: float | None, extra: dict | None = None) -> dict:
    """Final eval, metric, plots, model.safetensors; summary.json last, which marks the run finished.
    `extra` adds fields to the summary (e.g. how a batched run was trained)."""
    from . import plots

    p = {n: t.detach() for n, t in params.items()}
    runs.write_metrics(run_dir / runs.METRICS, metrics)
    runs.write_tensors(run_dir / runs.MODEL, {**p, **{f"mask.{n}": m for n, m in masks.items()}})
    final_loss = eval_loss(p, cfg, device)
    mono = measure(p, task.single_feature_inputs(), cfg.nonlinearity)
    train_losses = [m["loss"] for m in metrics if "loss" in m]
    summary = {
        "final_loss": final_loss,
        "train_loss_last": sum(train_losses[-16:]) / max(1, len(train_losses[-16:])),
        "mono_count": None if mono is None else mono.mono_count,
        "mono_per_N": None if mono is None else mono.mono_count / cfg.n_features,
        "mono_per_k": None if mono is None else mono.mono_count / cfg.k,
        "dead_count": None if mono is None else mono.dead_count,
        "feature_histogram": None if mono is None else mono.feature_histogram(),
        "mono_per_feature": None if mono is None else mono.per_feature.tolist(),
        "mono_per_neuron": None if mono is None else mono.mono_per_neuron(),
        "r_per_neuron": None if mono is None else [round(v, 6) for v in mono.r.tolist()],
        "mean_bias": float(p["b1"].mean()),
        "metric_note": None if mono is not None else
        f"monosemanticity is not defined for {cfg.nonlinearity}: its activations can be negative",
        "steps": cfg.steps,
        "wall_s": wall_s,
        "steps_per_s": steps_per_s,
        "threads": torch.get_num_threads(),
        "device": str(device),
        **(extra or {}),
    }
    A = single_feature_activations(p, task.single_feature_inputs(), cfg.nonlinearity).cpu()
    plots.training_plot(metrics, cfg, run_dir / "training.png", title=run_dir.name)
    plots.sfa_plot(A, cfg, run_dir / "sfa.png", title=run_dir.name, mono=mono)
    (run_dir / runs.RESUME).unlink(missing_ok=True)
    runs.write_json(run_dir / runs.SUMMARY, summary)
    return summary
