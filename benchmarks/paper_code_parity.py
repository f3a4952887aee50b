"""Does our trainer land where the paper's own training loop lands, and by the same path?

Same task (P), same recipe, 3 seeds per side. The paper's loop (paper_code.py) and ours draw different
random numbers, so the comparison is of distributions over seeds: eval loss on our fixed eval set, and the
monosemantic count, dead count and mean bias at every log2 checkpoint, all measured by our code on both
sets of weights. A quantity "differs" at a checkpoint when the two seed ranges are disjoint.

Usage:
  python benchmarks/paper_code_parity.py --presets cpu-small --lrs 0.003,0.03 --out docs/parity_bias0.json
  python benchmarks/paper_code_parity.py --presets cpu-small,cpu-medium --lrs 0.01 --bias-init -1 \
      --decays 0.03,0.5 --out docs/parity_bias.json --png docs/figures/parity_bias.png
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models.config import TrainConfig, preset  # noqa: E402
from models.evaluate import eval_loss  # noqa: E402
from models.metric import measure  # noqa: E402
from models.tasks import Task  # noqa: E402
from models.train import train_run  # noqa: E402

QUANTITIES = ("mono", "dead", "mean_bias")


def _point(params: dict, single: torch.Tensor, step: int) -> dict:
    m = measure(params, single, "relu")
    return {"step": step, "mono": m.mono_count, "dead": m.dead_count, "mean_bias": float(params["b1"].mean())}


def _one(args) -> dict:
    which, name, cfg = args
    torch.set_num_threads(1)
    task = Task(cfg)
    single = task.single_feature_inputs()
    if which == "paper":
        from paper_code import paper_train, params_of

        model, _, snapshots = paper_train(task.P, cfg.eps, cfg.k, cfg.batch, cfg.steps, cfg.lr,
                                          float(cfg.bias_init), cfg.bias_decay, seed=cfg.seed)
        p = params_of(model)
        path = [_point(params_of(m), single, 2**i) for i, m in enumerate(snapshots)]
    else:
        from models import load_run

        with tempfile.TemporaryDirectory() as d:
            train_run(cfg, Path(d) / "r", plots=False)
            run = load_run(Path(d) / "r")
            metrics = run.metrics()
        p = run.params
        path = [{"step": m["step"], **{q: m[q] for q in QUANTITIES}} for m in metrics if "mono" in m]
    end = _point(p, single, cfg.steps)
    return {"impl": which, "preset": name, "lr": cfg.lr, "bias_init": cfg.bias_init, "bias_decay": cfg.bias_decay,
            "seed": cfg.seed, "eval_loss": eval_loss(p, cfg), "mono_per_N": end["mono"] / cfg.n_features,
            "dead": end["dead"], "mean_bias": end["mean_bias"], "trajectory": path}


def _stats(vals: list[float]) -> dict:
    return {"mean": statistics.mean(vals), "min": min(vals), "max": max(vals)}


def _disjoint(a: dict, b: dict) -> bool:
    return a["max"] < b["min"] or b["max"] < a["min"]


def summarise(rows: list[dict]) -> list[dict]:
    """Per cell (preset, lr, bias, decay): each side's seed statistics at the end and at every checkpoint,
    and the checkpoints at which a quantity's seed ranges are disjoint."""
    cells = sorted({(r["preset"], r["lr"], r["bias_init"], r["bias_decay"]) for r in rows})
    out = []
    for cell in cells:
        side = {}
        for impl in ("paper", "ours"):
            rs = [r for r in rows if (r["preset"], r["lr"], r["bias_init"], r["bias_decay"]) == cell
                  and r["impl"] == impl]
            steps = sorted(set.intersection(*[{t["step"] for t in r["trajectory"]} for r in rs]))
            side[impl] = {"seeds": len(rs), **{f: _stats([r[f] for r in rs])
                                                for f in ("eval_loss", "mono_per_N", "dead", "mean_bias")},
                          "trajectory": [{"step": s, **{q: _stats([next(t[q] for t in r["trajectory"] if t["step"] == s)
                                                                    for r in rs]) for q in QUANTITIES}}
                                         for s in steps]}
        paper = {t["step"]: t for t in side["paper"]["trajectory"]}
        differs = {q: [t["step"] for t in side["ours"]["trajectory"] if t["step"] in paper
                       and _disjoint(t[q], paper[t["step"]][q])] for q in QUANTITIES}
        end_differs = [f for f in ("eval_loss", "mono_per_N", "dead", "mean_bias")
                       if _disjoint(side["paper"][f], side["ours"][f])]
        out.append({"preset": cell[0], "lr": cell[1], "bias_init": cell[2], "bias_decay": cell[3], **side,
                    "differs_at_steps": differs, "differs_at_end": end_differs})
    return out


def plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axs = plt.subplots(3, len(summary), figsize=(4.2 * len(summary), 9), squeeze=False)
    for j, c in enumerate(summary):
        n = preset(c["preset"])["n_features"]
        for i, (q, scale, label) in enumerate((("mono", n, "monosemantic neurons / N"), ("dead", n, "dead neurons / N"),
                                                ("mean_bias", 1, "mean b1"))):
            ax = axs[i][j]
            for impl, colour in (("paper", "C3"), ("ours", "C0")):
                tr = c[impl]["trajectory"]
                x = np.log2([t["step"] for t in tr])
                ax.plot(x, [t[q]["mean"] / scale for t in tr], "o-", ms=2.5, color=colour,
                        label=f"{'paper loop' if impl == 'paper' else 'our trainer'} ({c[impl]['seeds']} seeds)")
                ax.fill_between(x, [t[q]["min"] / scale for t in tr], [t[q]["max"] / scale for t in tr],
                                color=colour, alpha=0.2, lw=0)
            ax.set(xlabel="log2 step", ylabel=label)
            if i == 0:
                ax.set_title(f"{c['preset']}, lr {c['lr']:g}, bias {c['bias_init']:g}, decay {c['bias_decay']:g}",
                             fontsize=9)
                ax.legend(fontsize=7)
    fig.suptitle("the paper's training loop against ours: mean and seed range at every checkpoint", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="cpu-small")
    ap.add_argument("--lrs", default="0.003,0.03")
    ap.add_argument("--bias-init", type=float, default=0.0)
    ap.add_argument("--decays", default="0")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="docs/parity_bias0.json")
    ap.add_argument("--png", default=None)
    a = ap.parse_args()
    jobs = []
    for name in a.presets.split(","):
        base = TrainConfig(**preset(name), device="cpu")
        base = base.replace(steps=a.steps) if a.steps else base
        for lr in a.lrs.split(","):
            for decay in a.decays.split(","):
                for s in a.seeds.split(","):
                    cfg = base.replace(lr=float(lr), bias_init=a.bias_init, bias_decay=float(decay), seed=int(s))
                    jobs += [("paper", name, cfg), ("ours", name, cfg)]
    jobs.sort(key=lambda j: -j[2].n_features)  # the longest first, so the pool ends together
    with ProcessPoolExecutor(a.workers, mp_context=mp.get_context("spawn")) as pool:
        rows = list(pool.map(_one, jobs))
    summary = summarise(rows)
    for c in summary:
        for impl in ("paper", "ours"):
            s = c[impl]
            print(f"{c['preset']} lr={c['lr']:g} bias={c['bias_init']:g} decay={c['bias_decay']:g} {impl:5s}: "
                  f"loss {s['eval_loss']['mean']:.4f} [{s['eval_loss']['min']:.4f}, {s['eval_loss']['max']:.4f}] "
                  f"mono/N {s['mono_per_N']['mean']:.3f} [{s['mono_per_N']['min']:.3f}, {s['mono_per_N']['max']:.3f}] "
                  f"dead {s['dead']['mean']:.1f} bias {s['mean_bias']['mean']:+.3f}")
        print(f"  differs at end: {c['differs_at_end'] or 'nothing'}; at steps: {c['differs_at_steps']}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"command": " ".join(sys.argv), "summary": summary, "runs": rows},
                                      indent=1) + "\n")
    print(f"wrote {a.out}")
    if a.png:
        plot(summary, Path(a.png))
        print(f"wrote {a.png}")


if __name__ == "__main__":
    main()
