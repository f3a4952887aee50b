"""Writes docs/tutorial.ipynb from the cells below and executes it, so the committed notebook shows its
outputs. `python docs/tutorial_build.py` (about a minute on 2 cores); tests/test_tutorial.py executes
the committed notebook again and fails on any cell's error.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).with_name("tutorial.ipynb")

CELLS = [
    ("md", """# Monosemanticity in toy models: a tour of the suite

Everything the command lines do is a plain function. This notebook trains small models (the `tiny`
preset: N 64 features, d 16, k 128 neurons), sweeps the learning rate, draws the paper's figure,
interpolates between a monosemantic and a polysemantic run, prunes one by IMP, compares it with a
random-mask control, and looks at single neurons through an `nn.Module` hook. It runs in about a
minute on a laptop CPU. Definitions: `docs/science.md`."""),
    ("code", """import torch
from pathlib import Path
from IPython.display import Image, display

torch.set_num_threads(2)
ROOT = Path("tutorial_runs")
STEPS = 1024"""),
    ("md", """## 1. Train one run

A run is a `TrainConfig` (every hyperparameter, defaults from a preset) trained into a run directory:
config, task, init, log2-spaced checkpoints, metrics and a summary."""),
    ("code", """from models import TrainConfig, load_run, train_run
from models.config import preset

mono_cfg = TrainConfig(**{**preset("tiny"), "steps": STEPS, "batch": 128, "lr": 0.03, "device": "cpu"})
summary = train_run(mono_cfg, ROOT / "mono", force=True, plots=False)
{k: summary[k] for k in ("final_loss", "mono_per_N", "dead_count", "mean_bias")}"""),
    ("md", """## 2. A sweep, and runs as a DataFrame

The paper's first effect: a higher learning rate gives more monosemantic neurons. Two rates, two seeds;
finished cells are skipped on a rerun. `models.runs_table` reads every run dir under a path."""),
    ("code", """from models import runs_table
from models.sweep import expand, run_sweep

cells = expand(mono_cfg, ["lr=0.003,0.03"], [], seeds=[0, 1])
table = run_sweep(cells, ROOT / "sweep", workers=2, plots=False)  # figures: section 3
runs_table(ROOT / "sweep")[["run", "lr", "seed", "final_loss", "mono_per_N", "dead_count", "state"]]"""),
    ("md", """## 3. The paper's figure

mono/N, loss and mean bias against log2 step for each learning rate, the final numbers against it, the
bias-by-neuron plot and the single-feature activations."""),
    ("code", """from models.figures import figure

paths = figure(ROOT / "sweep", "lr", ROOT / "lr.png")
display(Image(paths[0], width=900))"""),
    ("md", """## 4. Align and interpolate

Are the monosemantic (lr 0.03) and polysemantic (lr 0.003) runs in one basin? Permute the second run's
hidden units to match the first (weight matching), then measure the loss along the straight line."""),
    ("code", """from basins.interpolate import interpolation_record
from basins.plots import interpolation_plot

mono, poly = load_run(ROOT / "sweep" / "lr=0.03__seed=0"), load_run(ROOT / "sweep" / "lr=0.003__seed=0")
res = interpolation_record(mono, poly, points=17, eval_size=8192, repair=True)
print({k: round(float(res[k]), 4) for k in ("barrier_naive_rel", "barrier_aligned_rel", "barrier_repaired_rel")})
interpolation_plot(res, mono, poly, ROOT / "interpolation.png")
display(Image(ROOT / "interpolation.png", width=800))"""),
    ("md", """## 5. Iterative magnitude pruning, and its control

Two rounds at rate 0.2, rewound to the init; then the same masks' counts drawn at random (the
random-mask control). Every level is a run directory."""),
    ("code", """from pruning.imp import ImpSettings, load_levels, plan_imp, run_imp

imp = plan_imp(ImpSettings(rounds=2), ROOT / "imp", run=ROOT / "sweep" / "lr=0.03__seed=0", plots=False)
run_imp(imp)
control = plan_imp(ImpSettings(rounds=2, control="random-mask"), ROOT / "random-mask", ticket=ROOT / "imp",
                   plots=False)
run_imp(control)
[(r["level"], round(r["remaining_fraction"], 3), round(r["final_loss"], 4), r["mono_count"])
 for r in load_levels(ROOT / "imp")["levels"]]"""),
    ("code", """from pruning.compare import compare
from pruning.plots import compare_plot

rows, record, cfg = compare([ROOT / "imp", ROOT / "random-mask"])
compare_plot(rows, cfg, ROOT / "compare.png", title="IMP vs a random mask")
display(Image(ROOT / "compare.png", width=900))"""),
    ("md", """## 6. Single neurons

Which monosemantic neurons of the dense run keep their feature through pruning (`pruning.neurons.track`),
and the model as an `nn.Module`: a forward hook captures the hidden activations for any hook-based tool."""),
    ("code", """from pruning.neurons import track

data = track(ROOT / "imp")
print("level 0 monosemantic neurons:", data["level0_mono"], "features served:", data["level0_served_features"])"""),
    ("code", """from models import as_module

module = as_module(mono)
captured = {}
module.hidden.register_forward_hook(lambda m, i, o: captured.update(h=o.detach()))
single = mono.task_tensors["P"].t()  # row i: feature i alone at amplitude 1
module(single)
A = captured["h"].t()  # neurons x features: the single-feature activations of the metric
r = A.max(1).values / (1e-10 + A.sum(1))
print(module)
print("monosemantic neurons (r > 0.999):", int((r > 0.999).sum()), "=", mono.summary["mono_count"])"""),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                for kind, src in CELLS]
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 300) -> nbformat.NotebookNode:
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        nb = execute(build(), Path(d))
    nbformat.write(nb, NOTEBOOK)
    print(f"wrote {NOTEBOOK}", file=sys.stderr)
