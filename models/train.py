"""The training loop: the paper's recipe (LAMB, restarting cosine, bias decay: models.bias_decay), resumable.

A step samples a sparse batch, takes the loss (+ L1 on hidden activations) and its gradients, applies the
optimizer at lr(step), then decays b1 (in the first half, by default). Checkpoints (weights + the metric) follow updates
1, 2, 4, 8, ...; the resume state is saved at each and every SAVE_EVERY steps, so a resumed run equals the
uninterrupted one bit for bit at the same thread count. The files are written by models.rundir.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import torch

from . import runs, seeds
from .bias_decay import BiasDecay
from .config import TrainConfig, require
from .evaluate import run_summary
from .metric import measure
from .model import PARAM_NAMES, hidden, init_params, matmul_precision, relu_loss_and_grads
from .optim import make_optimizer
from .rundir import ResumeState, RunDir
from .tasks import Task, make_task_tensors, task_loss

LOG_EVERY = 16
SAVE_EVERY = 1024
PROGRESS_EVERY = 64


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate for the update applied at `step` (0-based).

    restart-cosine is what the paper's code ran: CosineAnnealingLR(T_max=512) stepped past T_max, i.e.
    lr * (1 + cos(pi * step / 512)) / 2, which falls to 0 at 512 and climbs back to lr at 1024.
    cosine anneals once over the run; constant is constant.
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
    x, _ = task.sample(cfg.batch, seeds.generator(cfg.seed, seeds.DATA_BIAS, task.device))
    top = (x @ params["W1"].t()).max(dim=0).values
    return -top - cfg.data_bias_margin


def start_run(cfg: TrainConfig, device: torch.device, start_params: dict[str, torch.Tensor] | None = None
              ) -> tuple[dict[str, torch.Tensor], Task, dict[str, torch.Tensor]]:
    """A fresh run's task tensors, task and initial weights on `device` (start_params replace the drawn init)."""
    task_tensors = make_task_tensors(cfg)
    task = Task(cfg, device, task_tensors)
    init = init_params(cfg, torch.Generator().manual_seed(cfg.seed))
    if start_params is not None:
        init = {n: start_params[n].detach().clone().float().cpu() for n in PARAM_NAMES}
    init = {n: t.to(device) for n, t in init.items()}
    if cfg.bias_init == "data" and start_params is None:
        init["b1"] = data_bias(init, task, cfg)
    return task_tensors, task, init


def checkpoint_entry(params: dict[str, torch.Tensor], single: torch.Tensor, nonlinearity: str, step: int) -> dict:
    """The metrics.jsonl line of a checkpoint: mono and dead counts (None where undefined) and mean bias."""
    mono = measure(params, single, nonlinearity)
    return {"step": step, "mono": None if mono is None else mono.mono_count,
            "dead": None if mono is None else mono.dead_count, "mean_bias": float(params["b1"].mean())}


class LossLog:
    """Batch losses of every LOG_EVERY-th step, kept on the device until a flush (no host sync per step).
    With `instances` each entry is a vector of E losses, flushed into E metric lists."""

    def __init__(self, device: torch.device, instances: int | None = None):
        shape = (SAVE_EVERY // LOG_EVERY + 1,) + (() if instances is None else (instances,))
        self.buf = torch.zeros(shape, device=device)
        self.steps: list[int] = []

    def log(self, step: int, loss: torch.Tensor) -> None:
        if step % LOG_EVERY == 0:
            self.buf[len(self.steps)] = loss.detach()
            self.steps.append(step)

    def flush(self, metrics: list[dict] | list[list[dict]]) -> None:
        """Move the logged losses into the metrics; a non-finite one stops the run (RunError naming the
        step) before anything is saved, so the run stays unfinished at its last good state."""
        for s, v in zip(self.steps, self.buf[:len(self.steps)].tolist()):
            for e, ve in enumerate(v if isinstance(v, list) else [v]):
                if not math.isfinite(ve):
                    where = f" (instance {e})" if isinstance(v, list) else ""
                    raise runs.RunError(f"the training loss became {ve} at step {s}{where}; the run stops unfinished "
                                        f"at its last saved state (a lower --lr or --l1 may help)")
                (metrics[e] if isinstance(v, list) else metrics).append({"step": s, "loss": ve})
        self.steps.clear()


def train_step(cfg: TrainConfig, params: dict[str, torch.Tensor], opt, task: Task, gen: torch.Generator,
               step: int, masks: dict[str, torch.Tensor], grad_hook: Callable | None = None,
               decay: BiasDecay | None = None) -> torch.Tensor:
    """One update (0-based `step`): sample, loss and gradients, masked gradients, optimizer, bias decay.

    grad_hook(step, params) may add to each p.grad in place before the masks apply (a penalty term,
    e.g. basins' pull toward another model). `decay` carries the bias decay's state (a stateless fixed or
    per-neuron one when None). Returns the task loss (without L1 or the hook's term) of the batch,
    before the update."""
    x, y = task.sample(cfg.batch, gen)
    with matmul_precision(cfg.precision, x.device):
        if cfg.nonlinearity == "relu":
            # row chunks keep a CPU's caches warm; on a GPU one block is 2.4x faster (benchmarks/README.md)
            chunk = x.shape[0] if x.device.type != "cpu" else 1024
            loss, grads = relu_loss_and_grads(params, x, y, cfg.l1, chunk=chunk, precision=cfg.precision)
            for n, p in params.items():
                p.grad = grads[n]
        else:
            h = hidden(params, x, cfg.nonlinearity)
            loss = task_loss(h @ params["W2"].t(), y)
            total = loss + cfg.l1 * h.abs().sum() / cfg.batch if cfg.l1 else loss
            for p in params.values():
                p.grad = None
            total.backward()
    # dead on this batch: no sample activated the neuron, so its task gradient on b1 is exactly zero
    dead = params["b1"].grad == 0 if cfg.bias_decay_mode == "per-neuron" else None
    if grad_hook is not None:
        grad_hook(step, params)
    for n, m in masks.items():
        params[n].grad.mul_(m)
    opt.step(lr_at(cfg, step))
    (decay or BiasDecay(cfg, 1 - cfg.bias_decay * cfg.lr, params)).apply(step, params, dead)
    return loss


def train_run(cfg: TrainConfig, run_dir: str | Path, *, resume: bool = False, force: bool = False,
              start_params: dict[str, torch.Tensor] | None = None,
              masks: dict[str, torch.Tensor] | None = None,
              on_progress: Callable[[int, float | None, int | None], None] | None = None,
              stop_after: int | None = None, grad_hook: Callable | None = None,
              after_step=None, plots: bool | str = True, start_step: int = 0, kind: str = "run") -> dict:
    """Train one run into run_dir and return its summary.

    start_params replaces the drawn init (pruning rewinds through it); masks (bool, same shapes as
    W1/W2) zero the gradient of pruned weights so they stay exactly zero. stop_after ends the process's
    work early with the resume state saved (for tests of --resume). grad_hook(step, params) adds to the
    gradients (see train_step); after_step(done, params, opt, masks) runs after each update and may change
    `masks` in place (prune-and-grow); its state_tensors()/load_state_tensors(), if any, are resume state.
    plots=False skips training.png and sfa.png; "pdf" or "svg" draws them in that format. start_step > 0
    continues a schedule from that step (IMP rewinding to a checkpoint): updates start_step .. steps-1 run
    with their learning rate, decay and data batches, the batches before start_step being drawn and
    skipped. `kind` is what the run dir records as its maker (models.rundir).
    """
    require(0 <= start_step < cfg.steps, f"start step {start_step} is outside the run's {cfg.steps} steps")
    runs.plot_format(plots)  # an unknown format is refused before anything is written
    device = resolve_device(cfg.device)
    with RunDir(run_dir, kind) as rd:
        resuming = rd.claim(cfg, resume=resume, force=force)
        plain = kind == "run" and not masks and grad_hook is None and after_step is None  # models extend continues it
        return _train(rd, cfg, device, resuming, start_params, masks or {}, on_progress, stop_after, grad_hook,
                      after_step, plots, start_step, plain)


def load_resume_state(rd: RunDir, cfg: TrainConfig, init, params, opt, decay, masks, after_step, gen) -> tuple:
    """Load the run dir's saved state into the live objects; returns (step reached, wall time so far)."""
    st = rd.load_state(like=init, steps=cfg.steps)
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(st.params[n])
    try:
        opt.load_state_tensors(st.opt)
        decay.load_state_tensors(st.decay)
        for n in masks:
            masks[n].copy_(st.masks[n])
    except (KeyError, RuntimeError):
        raise runs.RunError(f"{rd.path / runs.RESUME} does not fit this run (optimizer or mask state)") from None
    if hasattr(after_step, "load_state_tensors"):
        after_step.load_state_tensors(st.hook)
    gen.set_state(st.gen)
    return st.step, st.wall_s


def _train(rd: RunDir, cfg: TrainConfig, device: torch.device, resuming: bool, start_params, masks, on_progress,
           stop_after, grad_hook, after_step, plots: bool | str, start_step: int, keep_state: bool) -> dict:
    task_tensors, task, init = start_run(cfg, device, start_params)
    masks = {n: m.to(device=device, dtype=torch.bool) for n, m in masks.items()}
    for n, m in masks.items():
        init[n] = init[n] * m
    params = {n: t.clone().requires_grad_(True) for n, t in init.items()}
    opt = make_optimizer(cfg.optimizer, params)
    decay = BiasDecay(cfg, 1 - cfg.bias_decay * cfg.lr, params)
    gen = seeds.generator(cfg.seed, seeds.DATA, device)
    metrics: list[dict] = []
    start, wall_before = start_step, 0.0
    if resuming:
        start, wall_before = load_resume_state(rd, cfg, init, params, opt, decay, masks, after_step, gen)
        metrics = rd.metrics_until(start)
    else:
        rd.begin(cfg, device, task_tensors, {**init, **{f"mask.{n}": m for n, m in masks.items()}})
        for _ in range(start_step):  # the data order resumes where the schedule does
            task.sample(cfg.batch, gen)

    single = task.single_feature_inputs()
    losses = LossLog(device)
    t0 = time.perf_counter()

    def save_state(step: int):
        losses.flush(metrics)
        hook = after_step.state_tensors() if hasattr(after_step, "state_tensors") else {}
        rd.save_state(ResumeState(params=params, opt=opt.state_tensors(), masks=masks, hook=hook,
                                  decay=decay.state_tensors(),
                                  gen=gen.get_state(), step=step, wall_s=wall_before + time.perf_counter() - t0),
                      metrics)

    last_mono = None
    for step in range(start, cfg.steps):
        loss = train_step(cfg, params, opt, task, gen, step, masks, grad_hook, decay)
        losses.log(step, loss)
        done = step + 1
        if after_step is not None:
            after_step(done, params, opt, masks)
        if is_checkpoint(done):
            p = {n: t.detach() for n, t in params.items()}
            rd.write_checkpoint(done, p)
            metrics.append(checkpoint_entry(p, single, cfg.nonlinearity, done))
            last_mono = metrics[-1]["mono"]
        if is_checkpoint(done) or done % SAVE_EVERY == 0:
            save_state(done)
        if on_progress is not None and (done % PROGRESS_EVERY == 0 or done == cfg.steps):
            on_progress(done, float(loss.detach()), last_mono)
        if stop_after is not None and done >= stop_after and done < cfg.steps:
            save_state(done)
            return {}

    if keep_state and not (is_checkpoint(cfg.steps) or cfg.steps % SAVE_EVERY == 0):
        save_state(cfg.steps)  # the state final_state.safetensors keeps is the one after the last update
    losses.flush(metrics)
    elapsed = time.perf_counter() - t0
    return finish_run(rd, cfg, params, metrics, device, task, masks, wall_s=wall_before + elapsed,
                      steps_per_s=(cfg.steps - start) / elapsed if elapsed > 0 else None, plots=plots,
                      keep_state=keep_state)


def finish_run(rd: RunDir, cfg: TrainConfig, params: dict[str, torch.Tensor], metrics: list[dict],
               device: torch.device, task: Task, masks: dict[str, torch.Tensor], *, wall_s: float,
               steps_per_s: float | None, extra: dict | None = None, plots: bool | str = True,
               keep_state: bool = False) -> dict:
    """Final eval and metric, model.safetensors, plots, then summary.json (which marks the run finished).
    `extra` adds fields to the summary (e.g. how a batched run was trained); keep_state keeps the last resume
    state as final_state.safetensors."""
    p = {n: t.detach() for n, t in params.items()}
    summary, mono = run_summary(p, cfg, task, metrics, device, wall_s=wall_s, steps_per_s=steps_per_s, extra=extra)
    fmt = runs.plot_format(plots)

    def draw(path: Path) -> None:
        from .plots import run_plots

        run_plots(path, p, cfg, task, metrics, mono, fmt)
    return rd.finish({**p, **{f"mask.{n}": m for n, m in masks.items()}}, metrics, summary, draw if fmt else None,
                     keep_state=keep_state)
