"""Every training hyperparameter in one dataclass, validated in one place, plus named presets.

A run is fully described by its TrainConfig (saved as config.json); two runs with equal
task fields share a task (the same P, Q and evaluation set) and can be compared by basins/.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields

TASKS = ("decoder", "reprojector", "abs")
FREQS = ("uniform", "power_law")
NONLINEARITIES = ("relu", "gelu", "solu")
OPTIMIZERS = ("lamb", "adam")
SCHEDULES = ("restart-cosine", "cosine", "constant")
DEVICES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """A bad hyperparameter; its message is one line meant for the user."""


@dataclass(frozen=True)
class TrainConfig:
    # task (drawn from task_seed; shared by every run with equal task fields)
    task: str = "decoder"
    n_features: int = 512
    d_embed: int = 64
    eps: float = 1 / 64
    freq: str = "uniform"
    task_seed: int = 0
    # model
    k: int = 1024
    nonlinearity: str = "relu"
    bias_init: float | str = 0.0  # offset ADDED to the default init, or "data"
    data_bias_margin: float = 0.01  # with bias_init="data": max pre-activation sits this far below 0
    # training
    optimizer: str = "lamb"
    lr: float = 0.003
    schedule: str = "restart-cosine"
    schedule_period: int = 512  # T_max of the paper's CosineAnnealingLR: lr reaches 0 at T_max, is back at lr at 2*T_max
    bias_decay: float = 0.0  # b1 *= 1 - bias_decay * lr after each step in the first half
    l1: float = 0.0  # L1 penalty on hidden activations: l1 * sum|h| / batch
    batch: int = 1024
    steps: int = 8192
    seed: int = 0  # init and data order
    device: str = "auto"
    preset: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ConfigError(msg)

        need(self.task in TASKS, f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        need(self.freq in FREQS, f"unknown --freq {self.freq!r}; choose one of {', '.join(FREQS)}")
        need(self.nonlinearity in NONLINEARITIES,
             f"unknown --nonlinearity {self.nonlinearity!r}; choose one of {', '.join(NONLINEARITIES)}")
        need(self.optimizer in OPTIMIZERS, f"unknown --optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        need(self.schedule in SCHEDULES, f"unknown --schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        need(self.device in DEVICES, f"unknown --device {self.device!r}; choose one of {', '.join(DEVICES)}")
        for name in ("n_features", "d_embed", "k", "batch", "steps", "schedule_period"):
            v = getattr(self, name)
            need(isinstance(v, int) and not isinstance(v, bool) and v > 0,
                 f"--{name.replace('_', '-')} must be a positive integer, got {v!r}")
        need(0 < self.eps <= 1, f"--eps must be in (0, 1], got {self.eps}")
        need(self.lr > 0 and math.isfinite(self.lr), f"--lr must be positive, got {self.lr}")
        need(self.bias_decay >= 0 and self.bias_decay * self.lr < 1,
             f"--bias-decay must be >= 0 with bias_decay*lr < 1, got {self.bias_decay}")
        need(self.l1 >= 0, f"--l1 must be >= 0, got {self.l1}")
        need(self.data_bias_margin >= 0, f"data_bias_margin must be >= 0, got {self.data_bias_margin}")
        need(self.d_embed <= self.n_features,
             f"--d-embed ({self.d_embed}) must not exceed --n-features ({self.n_features}): P is built from an SVD")
        if isinstance(self.bias_init, str):
            need(self.bias_init == "data", f"--bias-init must be a number or 'data', got {self.bias_init!r}")
        else:
            need(math.isfinite(self.bias_init), f"--bias-init must be finite, got {self.bias_init}")
        for name in ("seed", "task_seed"):
            v = getattr(self, name)
            need(isinstance(v, int) and 0 <= v < 2**63, f"--{name.replace('_', '-')} must be a non-negative integer")

    @property
    def out_dim(self) -> int:
        return self.d_embed if self.task == "reprojector" else self.n_features

    def task_key(self) -> dict:
        """The fields that fix the task tensors and the evaluation set."""
        return {f: getattr(self, f) for f in ("task", "n_features", "d_embed", "eps", "freq", "task_seed")}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**d)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def parse_bias_init(text: str) -> float | str:
    if text == "data":
        return "data"
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--bias-init must be a number or 'data', got {text!r}") from None


def coerce(name: str, text: str):
    """Parse a command-line value for TrainConfig field `name` (used by sweeps and --set style flags)."""
    types = {f.name: f.type for f in fields(TrainConfig)}
    if name not in types or name == "preset":
        raise ConfigError(f"unknown hyperparameter {name!r}; known: {', '.join(n for n in types if n != 'preset')}")
    kind = types[name]
    if name == "bias_init":
        return parse_bias_init(text)
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ConfigError(f"{name} needs a{'n integer' if kind == 'int' else ' number'}, got {text!r}") from None
    return text


# Presets: named overrides of TrainConfig defaults. "paper" is the paper's exact recipe (GPU scale);
# the cpu-* presets are the CPU-budget shapes used in docs/reproduction.md.
PRESETS: dict[str, dict] = {
    "paper": dict(n_features=512, d_embed=64, k=1024, eps=1 / 64, batch=8192, steps=2**17,
                  optimizer="lamb", schedule="restart-cosine", lr=0.003, bias_init=0.0, bias_decay=0.0),
    "paper-mono": dict(n_features=512, d_embed=64, k=1024, eps=1 / 64, batch=8192, steps=2**17,
                       optimizer="lamb", schedule="restart-cosine", lr=0.003, bias_init=-1.0, bias_decay=0.03),
    # paper shape, 1/8 of the batch and 1/16 of the steps: about 4 minutes on 2 CPU threads
    "cpu": dict(n_features=512, d_embed=64, k=1024, eps=1 / 64, batch=1024, steps=2**13),
    # the two CPU reproduction shapes (docs/reproduction.md): k = 2N as in the paper, 2^13 steps at batch
    # 1024; about 1 and 4 minutes a run on one thread. Bias decay there is scaled by the step ratio
    # (0.03 * 2^17 / 2^13 = 0.48 -> 0.5) so biases shrink as much over the run as in the paper's.
    "cpu-small": dict(n_features=128, d_embed=32, k=256, eps=1 / 32, batch=1024, steps=2**13),
    "cpu-medium": dict(n_features=256, d_embed=32, k=512, eps=1 / 32, batch=1024, steps=2**13),
    # tiny: seconds, for the demo and tests
    "tiny": dict(n_features=64, d_embed=16, k=128, eps=1 / 16, batch=256, steps=2**10),
}


def preset(name: str) -> dict:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])
