"""The paper's Table 1 batches as named sweeps at paper scale (batch 8192, 2^17 steps, LAMB, restarting
cosine), one sweep per batch, for a GPU or a cluster.

Each value's source is in its spec's `source`: [code] the authors' plotting script
(adamjermyn/toy_model_interpretability learning_rate_sweep.py: the LR batches' rates and biases);
[table] Table 1's fixed values as transcribed in a public reproduction (jbloomAus/toy_model_interpretability
README); [script] that reproduction's ranges of the "Variable" columns (generate_data_jermyn_2022.py);
[assumed] where no source gives a value (LR5 and RP1's rates: LR1's list). Where sources disagree (LR3's
decay: 0.003 in the script, 0.03 in the table and in the authors' file names) the authors' value is used;
the transcription's second "B3" row (two variable columns, no values) is left out.
"""
from __future__ import annotations

from .config import ConfigError, TrainConfig, preset

# Table 1's variable ranges
LRS = [0.001, 0.003, 0.005, 0.007, 0.01, 0.03]  # [code] learning_rate_sweep.py
BIASES = [round(-2 + 0.3 * i, 10) for i in range(11)]  # [script] np.linspace(-2, 1, 11): -2, -1.7, ..., 1
EPSES = [2.0 ** -(1 + 0.4 * i) for i in range(11)]  # [script] 2**-np.linspace(1, 5, 11): 1/2 .. 1/32
KS = [2 ** i for i in range(4, 11)]  # [script] 16 .. 1024
POWERS = [10.0 ** -i for i in range(1, 8)]  # [script] 1e-1 .. 1e-7 (L1 strength of RG1, decay of D1)

_T, _C, _S = "[table]", "[code]", "[script]"

PAPER_SWEEPS: dict[str, dict] = {
    "LR1": dict(fixed=dict(), grid=dict(lr=LRS),
                source=f"{_T} decoder, uniform, bias 0, decay 0; lrs {_C}"),
    "LR2": dict(fixed=dict(freq="power_law"), grid=dict(lr=LRS),
                source=f"{_T} decoder, power law, bias 0, decay 0; lrs {_C}"),
    "LR3": dict(fixed=dict(bias_init=-1.0, bias_decay=0.03), grid=dict(lr=LRS),
                source=f"{_T}+{_C} bias -1, decay 0.03 (the reproduction's script says 0.003; the authors' file names say 0.03); lrs {_C}"),
    "LR4": dict(fixed=dict(freq="power_law", bias_init=-1.0, bias_decay=0.03), grid=dict(lr=LRS),
                source=f"{_T}+{_C} power law, bias -1, decay 0.03; lrs {_C}"),
    "LR5": dict(fixed=dict(task="abs", k=2048, bias_init=-1.0, bias_decay=0.03), grid=dict(lr=LRS),
                source=f"{_T} abs task, k 2048, bias -1, decay 0.03; lrs [assumed] = LR1's"),
    "B1": dict(fixed=dict(eps=1 / 16, lr=0.003, bias_decay=0.03), grid=dict(bias_init=BIASES),
               source=f"{_T} eps 1/16, lr 0.003, decay 0.03; biases {_S}"),
    "B2": dict(fixed=dict(eps=1 / 32, lr=0.003, bias_decay=0.003), grid=dict(bias_init=BIASES),
               source=f"{_T} eps 1/32, lr 0.003, decay 0.003; biases {_S}"),
    "B3": dict(fixed=dict(eps=1 / 64, lr=0.003, bias_decay=0.003), grid=dict(bias_init=BIASES),
               source=f"{_T} eps 1/64, lr 0.003, decay 0.003; biases {_S}"),
    "B4": dict(fixed=dict(eps=1 / 128, lr=0.003, bias_decay=0.003), grid=dict(bias_init=BIASES),
               source=f"{_T} eps 1/128, lr 0.003, decay 0.003; biases {_S}"),
    "B5": dict(fixed=dict(eps=1 / 256, lr=0.003, bias_decay=0.003), grid=dict(bias_init=BIASES),
               source=f"{_T} eps 1/256, lr 0.003, decay 0.003; biases {_S}"),
    "E1": dict(fixed=dict(lr=0.003, bias_init=-1.0, bias_decay=0.03), grid=dict(eps=EPSES),
               source=f"{_T} lr 0.003, bias -1, decay 0.03; eps {_S}"),
    "E2": dict(fixed=dict(lr=0.003, bias_init=-1.0, bias_decay=0.01), grid=dict(eps=EPSES),
               source=f"{_T} lr 0.003, bias -1, decay 0.01; eps {_S}"),
    "E3": dict(fixed=dict(lr=0.003, bias_init=-1.0, bias_decay=0.003), grid=dict(eps=EPSES),
               source=f"{_T} lr 0.003, bias -1, decay 0.003; eps {_S}"),
    "E4": dict(fixed=dict(lr=0.003, bias_init=-1.0, bias_decay=0.001), grid=dict(eps=EPSES),
               source=f"{_T} lr 0.003, bias -1, decay 0.001; eps {_S}"),
    "K0": dict(fixed=dict(lr=0.007), grid=dict(k=KS),
               source=f"{_T} lr 0.007, bias 0, decay 0; k {_S}"),
    "K1": dict(fixed=dict(lr=0.007, bias_init=-1.0, bias_decay=0.03), grid=dict(k=KS),
               source=f"{_T} lr 0.007, bias -1, decay 0.03; k {_S}"),
    "K2": dict(fixed=dict(freq="power_law", lr=0.007, bias_init=-1.0, bias_decay=0.03), grid=dict(k=KS),
               source=f"{_T} power law, lr 0.007, bias -1, decay 0.03; k {_S}"),
    "RG1": dict(fixed=dict(lr=0.005, bias_init=-1.0, bias_decay=0.03), grid=dict(l1=POWERS),
                source=f"{_T} lr 0.005, bias -1, decay 0.03; L1 strengths {_S}"),
    "RP1": dict(fixed=dict(task="reprojector", bias_init=-1.0, bias_decay=0.03), grid=dict(lr=LRS),
                source=f"{_T} re-projector, bias -1, decay 0.03; lrs [assumed] = LR1's"),
    "D1": dict(fixed=dict(task="abs", k=2048, lr=0.007, bias_init=-1.0), grid=dict(bias_decay=POWERS),
               source=f"{_T} abs task, k 2048, lr 0.007, bias -1; decays {_S}"),
}
BASE_PRESET = "paper"  # N 512, d 64, k 1024, eps 1/64, batch 8192, 2^17 steps, LAMB, restarting cosine


def _fmt(v) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def spec(name: str) -> dict:
    """One batch: base preset, fixed values, grid axes, default seeds and where the values come from."""
    key = name.upper()
    if key not in PAPER_SWEEPS:
        raise ConfigError(f"unknown paper sweep {name!r}; choose one of {', '.join(PAPER_SWEEPS)}")
    s = PAPER_SWEEPS[key]
    return dict(name=key, base=BASE_PRESET, fixed=dict(s["fixed"]), grid={a: list(v) for a, v in s["grid"].items()},
                zip={}, seeds=[0], source=s["source"])


def sweep_args(name: str, overrides: dict | None = None) -> tuple[TrainConfig, list[str], list[str]]:
    """(base config, --grid specs, --zip specs) of a batch, as `models sweep` and sweep.expand take them.
    overrides (e.g. {"steps": 4096} or {"device": "cuda"}) replace fixed values; a swept axis cannot be overridden."""
    s = spec(name)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    clash = sorted(set(overrides) & (set(s["grid"]) | set(s["zip"])))
    if clash:
        raise ConfigError(f"{s['name']} sweeps {', '.join(clash)}; it cannot also be fixed")
    base = TrainConfig(**(preset(s["base"]) | s["fixed"] | overrides), preset=s["base"])
    grid = [f"{a}={','.join(map(_fmt, v))}" for a, v in s["grid"].items()]
    zipped = [f"{a}={','.join(map(_fmt, v))}" for a, v in s["zip"].items()]
    return base, grid, zipped


def cells(name: str, seeds: list[int] | None = None, overrides: dict | None = None):
    """The cells of a batch: the same list `models sweep` would train for it."""
    from .sweep import expand

    base, grid, zipped = sweep_args(name, overrides)
    return expand(base, grid, zipped, list(seeds) if seeds else spec(name)["seeds"])


def command_line(name: str, out: str, seeds: list[int] | None = None) -> str:
    """The equivalent `models sweep` command (to run a batch with any sweep option or backend)."""
    s = spec(name)
    flags = [f"--{k.replace('_', '-')} {_fmt(v)}" for k, v in s["fixed"].items()]
    axes = [f"--grid {g}" for g in sweep_args(name)[1]] + [f"--zip {z}" for z in sweep_args(name)[2]]
    seed_s = ",".join(map(str, seeds or s["seeds"]))
    return " ".join(["models sweep", f"--preset {s['base']}", *axes, f"--seeds {seed_s}", f"--out {out}", *flags])
