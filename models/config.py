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
PRECISIONS = ("fp32", "bf16")
BIAS_DECAY_MODES = ("fixed", "per-neuron", "adaptive")


class ConfigError(ValueError):
    """A bad hyperparameter; its message is one line meant for the user."""


# fields a stored config.json may lack (written before they existed): they take the default
OPTIONAL_FIELDS = {"preset", "precision", "bias_decay_mode"}


def require(ok: bool, msg: str) -> None:
    """The one validator: a ConfigError carrying a one-line message when `ok` is false."""
    if not ok:
        raise ConfigError(msg)


def _opt(default, help: str):
    return field(default=default, metadata={"help": help})


# What a 24 GiB machine can hold: a model, a batch of dense feature vectors and the 2^16-sample eval set.
LIMITS = {"n_features": 16384, "d_embed": 4096, "k": 65536, "batch": 2**17, "steps": 2**24,
          "schedule_period": 2**24}
MAX_ELEMENTS = 2**28  # any one dense tensor (1 GiB of float32): W1 + W2, batch x N


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class TrainConfig:
    task: str = _opt("decoder", "decoder | reprojector | abs")
    n_features: int = _opt(512, "N, number of sparse features")
    d_embed: int = _opt(64, "d, input (embedding) dimension")
    eps: float = _opt(1 / 64, "feature density: the probability a feature is on")
    freq: str = _opt("uniform", "uniform | power_law feature frequencies")
    task_seed: int = _opt(0, "seed of the projection(s) and the eval set")
    k: int = _opt(1024, "hidden neurons")
    nonlinearity: str = _opt("relu", "relu | gelu | solu (x*exp(x))")
    bias_init: float | str = _opt(0.0, "mean bias offset ADDED to the default init, or 'data'")
    data_bias_margin: float = _opt(0.01, "with --bias-init data: the largest pre-activation sits this far below 0")
    optimizer: str = _opt("lamb", "lamb (paper) | adam")
    lr: float = _opt(0.003, "base learning rate")
    schedule: str = _opt("restart-cosine", "restart-cosine (paper) | cosine | constant")
    schedule_period: int = _opt(512, "T_max of restart-cosine: lr is 0 at T_max and back at lr at 2 T_max")
    bias_decay: float = _opt(0.0, "b1 *= 1 - bias_decay * lr after each step in the first half")
    bias_decay_mode: str = _opt("fixed", "fixed (the paper's: every neuron, first half) | per-neuron (neurons "
                                "dead on the batch, whole run) | adaptive (fades as W1, W2 settle)")
    l1: float = _opt(0.0, "L1 penalty on hidden activations: l1 * sum|h| / batch")
    batch: int = _opt(1024, "batch size")
    steps: int = _opt(8192, "training steps")
    seed: int = _opt(0, "seed of the init and the data order")
    device: str = _opt("auto", "auto | cpu | cuda")
    precision: str = _opt("fp32", "fp32 | bf16: the training step's matmuls on bf16 units (fp32 weights, "
                          "accumulation and evaluation)")
    preset: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        need = require
        for name, choices in (("task", TASKS), ("freq", FREQS), ("nonlinearity", NONLINEARITIES),
                              ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("device", DEVICES),
                              ("precision", PRECISIONS), ("bias_decay_mode", BIAS_DECAY_MODES)):
            v = getattr(self, name)
            need(v in choices, f"unknown --{name.replace('_', '-')} {v!r}; choose one of {', '.join(choices)}")
        for name in ("n_features", "d_embed", "k", "batch", "steps", "schedule_period"):
            v = getattr(self, name)
            flag = f"--{name.replace('_', '-')}"
            need(is_int(v) and v > 0, f"{flag} must be a positive integer, got {v!r}")
            need(v <= LIMITS[name], f"{flag} {v} exceeds this suite's limit of {LIMITS[name]} (memory)")
        need(self.k * (self.d_embed + self.out_dim) <= MAX_ELEMENTS and self.batch * self.n_features <= MAX_ELEMENTS,
             f"k * (d + out) and batch * N must each be at most {MAX_ELEMENTS} (1 GiB of float32), got "
             f"{self.k * (self.d_embed + self.out_dim)} and {self.batch * self.n_features}")
        for name in ("eps", "lr", "bias_decay", "l1", "data_bias_margin"):
            v = getattr(self, name)
            need(is_number(v), f"--{name.replace('_', '-')} must be a finite number, got {v!r}")
        need(0 < self.eps <= 1, f"--eps must be in (0, 1], got {self.eps}")
        need(self.lr > 0, f"--lr must be positive, got {self.lr}")
        need(self.bias_decay >= 0 and self.bias_decay * self.lr < 1,
             f"--bias-decay must be >= 0 with bias_decay*lr < 1, got {self.bias_decay}")
        need(self.bias_decay_mode != "per-neuron" or self.nonlinearity == "relu",
             f"--bias-decay-mode per-neuron needs relu (a neuron is dead when no sample activates it), "
             f"got {self.nonlinearity}")
        need(self.l1 >= 0, f"--l1 must be >= 0, got {self.l1}")
        need(self.data_bias_margin >= 0, f"data_bias_margin must be >= 0, got {self.data_bias_margin}")
        need(self.d_embed <= self.n_features,
             f"--d-embed ({self.d_embed}) must not exceed --n-features ({self.n_features}): P is built from an SVD")
        if isinstance(self.bias_init, str):
            need(self.bias_init == "data", f"--bias-init must be a number or 'data', got {self.bias_init!r}")
        else:
            need(is_number(self.bias_init), f"--bias-init must be finite, got {self.bias_init}")
        for name in ("seed", "task_seed"):
            v = getattr(self, name)
            need(is_int(v) and 0 <= v < 2**63, f"--{name.replace('_', '-')} must be an integer in [0, 2^63)")

    @property
    def out_dim(self) -> int:
        return self.d_embed if self.task == "reprojector" else self.n_features

    def task_key(self) -> dict:
        """The fields that fix the task tensors and the evaluation set."""
        return {f: getattr(self, f) for f in ("task", "n_features", "d_embed", "eps", "freq", "task_seed")}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict, strict: bool = False) -> "TrainConfig":
        """From a dict of fields; unknown keys are refused, and with strict=True missing ones too
        (a stored config must state every value, never take today's default)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        missing = sorted(known - set(d) - OPTIONAL_FIELDS) if strict else []
        if missing:
            raise ConfigError(f"missing config keys: {', '.join(missing)}")
        return cls(**d)

    def differs_in(self, other: "TrainConfig") -> list[str]:
        """The fields whose values differ from other's (`preset` is a label, not a value)."""
        theirs = other.to_dict()
        return [k for k, v in self.to_dict().items() if k != "preset" and theirs.get(k) != v]

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def fmt_value(v) -> str:
    """A hyperparameter value as names and labels show it: short, and distinct for distinct floats."""
    if isinstance(v, float):
        short = f"{v:g}"
        return short if float(short) == v else repr(v)
    return str(v)


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
# the cpu-* presets are the CPU-budget shapes of docs/reproduction.md (decays are given per sweep there).
PRESETS: dict[str, dict] = {
    "paper": dict(n_features=512, d_embed=64, k=1024, eps=1 / 64, batch=8192, steps=2**17,
                  optimizer="lamb", schedule="restart-cosine", lr=0.003, bias_init=0.0, bias_decay=0.0),
    "paper-mono": dict(n_features=512, d_embed=64, k=1024, eps=1 / 64, batch=8192, steps=2**17,
                       optimizer="lamb", schedule="restart-cosine", lr=0.003, bias_init=-1.0, bias_decay=0.03),
    # paper shape, 1/8 of the batch and 1/16 of the steps: about 4 minutes on 2 CPU threads
    "cpu": dict(n_features=512, d_embed=64, k=1024, eps=1 / 64, batch=1024, steps=2**13),
    # the two CPU reproduction shapes: k = 2N as in the paper, 2^13 steps at batch 1024
    "cpu-small": dict(n_features=128, d_embed=32, k=256, eps=1 / 32, batch=1024, steps=2**13),
    "cpu-medium": dict(n_features=256, d_embed=32, k=512, eps=1 / 32, batch=1024, steps=2**13),
    # tiny: seconds, for the demo and tests
    "tiny": dict(n_features=64, d_embed=16, k=128, eps=1 / 16, batch=256, steps=2**10),
}


def preset(name: str) -> dict:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])
