"""The paper's Table 1 batches as named sweeps at paper scale (one sweep per batch, for a GPU or a cluster).

Jermyn, Schiefer & Hubinger (arXiv 2211.09169), Table 1 "Training parameters and model architectures",
lists each batch's task, activation, feature distribution, N, m (our d), k, eps, learning rate, decay
rate, bias offset and L1 strength, with one column "Variable" per batch. Every batch trains at the
`paper` preset's recipe: batch 8192, 2^17 steps, LAMB, restarting cosine (the paper's data files are
named `..._batch_13_steps_17_...`: 2^13 and 2^17).

Sources, in order of authority (`source` of each spec says which one each value comes from):
- [code] the authors' own plotting script, adamjermyn/toy_model_interpretability `learning_rate_sweep.py`:
  the learning rates of the LR batches (0.001, 0.003, 0.005, 0.007, 0.01, 0.03), and bias -1 with decay
  0.03 for the negative-bias LR sweeps (uniform and power law), bias 0 / decay 0 for LR1 and LR2.
- [table] Table 1's fixed values as transcribed in jbloomAus/toy_model_interpretability README.md
  ("Table 1: Training parameters and model architectures"), a public reproduction of the paper. We could
  not read the paper's PDF itself here, so every fixed value below is from that transcription.
- [script] the ranges of the "Variable" columns, from the same reproduction's
  `generate_data_jermyn_2022.py`, which writes them next to each batch name: bias offsets
  np.linspace(-2, 1, 11); eps 2**-np.linspace(1, 5, 11); k 2**4 .. 2**10; L1 strength and decay
  10**-1 .. 10**-7. These are a reproducer's reading, not a number printed in Table 1.
- [assumed] LR5 and RP1: Table 1 says "Variable" learning rate and no source gives the values; we use
  the LR1-LR4 list. Marked in their `source`.

Disagreements, and what we chose: that script gives LR3 decay 0.003 while the transcribed table says
0.03; the authors' own script loads LR3's data as `init_bias_-1.0_decay_0.03`, so LR3 uses 0.03. The
transcription has a second row named "B3" (GeLU, variable learning rate AND bias offset, decay 0.03);
it is left out: its name clashes and its two variable columns have no stated values. The paper's k
sweeps start at 16; `k` here is the hidden width (k), not the L1 strength.

The paper trained one run per value; `seeds` defaults to (0,). A spec expands through
models.sweep.expand into exactly the cells `models sweep` trains, so every sweep backend runs it.
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
