"""The paper-shape tables of docs/pruning.md ("paper shape"): every run of docs/pruning_paper_experiments.sh
with its sparsity, mono/N, dead count, eval loss and the convergence columns of docs/science.md section 7,
the features a monosemantic neuron serves (mono/N counts neurons, so it can pass 1 while features go
unserved), and the per-neuron tracking of the IMP ticket and both controls (pruning_tables.neuron_summary).
One seed, so the tables give values, not ranges, and no verdict here says "holds".

    python docs/pruning_paper_tables.py runs/paper/pruning --json docs/pruning_paper.json
    python docs/pruning_paper_tables.py --from-json docs/pruning_paper.json      # the tables again
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from pruning_tables import md, neuron_summary, pct
from summary_json import add_arguments, load_or_write

CHAINS = ("imp", "reinit", "random-mask")
NEURON_STEPS = ("stays mono, same feature", "switches feature", "mono -> poly", "poly -> mono", "stays poly", "dies")


def run_row(d: Path, method: str, level: int | None) -> dict:
    """One finished run dir: its mask's counts, results and convergence."""
    from models.runs import convergence, is_converged, load_run, read_metrics
    from pruning.imp import run_masks
    from pruning.masks import sparsity_record

    run = load_run(d)
    conv = convergence(read_metrics(d / "metrics.jsonl"))
    s = run.summary
    return {"dir": str(d), "method": method, "level": level, "k": run.config.k,
            **{k: v for k, v in sparsity_record(run_masks(run)).items() if k in ("remaining", "sparsity")},
            **{k: s[k] for k in ("mono_count", "mono_per_N", "dead_count", "final_loss", "wall_s")},
            "features_served": s["feature_histogram"]["1"] + s["feature_histogram"]["2+"],
            "features_served_twice": s["feature_histogram"]["2+"],
            **conv, "converged": is_converged(conv, s["mono_count"])}


def summarize(root: Path) -> dict:
    rows = [run_row(root / "dense" / "lr=0.01__seed=0", "dense", 0)]
    neurons = {}
    for chain in CHAINS:
        d = root / chain / "mono_s0"
        levels = sorted(d.glob("level_*"))
        rows += [run_row(lv, chain, int(lv.name.split("_")[1])) for lv in levels[1:]
                 if (lv / "summary.json").exists()]
        neurons[chain] = neuron_summary(json.loads((d / "neurons.json").read_text()))
    for g in sorted((root / "grow").iterdir()):
        rows.append(run_row(g, json.loads((g / "grow.json").read_text())["method"], None))
    return {"command": f"bash docs/pruning_paper_experiments.sh  # ends with: python docs/pruning_paper_tables.py "
                       f"{root} --json docs/pruning_paper.json", "runs": rows, "neurons": neurons}


def conv_cells(r: dict) -> list[str]:
    return [f"{100 * r['loss_rel_change_last_eighth']:+.2f}%", f"{r['mono_change_last_doubling']:+d}",
            "yes" if r["converged"] else "no"]


def tables(s: dict) -> str:
    out = []
    head = ("run", "weights left", "mono/N", "mono", "features served (2+)", "dead", "eval loss",
            "loss change, last eighth", "mono change, last doubling", "converged")
    label = {"dense": "dense start", "imp": "IMP ticket", "reinit": "reinit control",
             "random-mask": "random-mask control", "rigl": "RigL", "static": "static mask", "set": "SET"}
    rows = []
    for r in s["runs"]:
        name = label[r["method"]] + (f", level {r['level']}" if r["level"] else "")
        rows.append([name, f"{pct(1 - r['sparsity'])} ({r['remaining']:,})", f"{r['mono_per_N']:.3f}",
                     r["mono_count"], f"{r['features_served']} ({r['features_served_twice']})", r["dead_count"],
                     f"{r['final_loss']:.4f}", *conv_cells(r)])
    out.append(md(head, rows))
    for chain, n in s["neurons"].items():
        out.append(f"\nneurons, {label[chain]} (k {n['k']}, levels {n['levels']}):")
        out.append(md(("step", *NEURON_STEPS, "mono after", "level-0 mono still on their feature"),
                      [[f"{t['from']}->{t['to']} ({pct(n['survival'][i + 1]['remaining_fraction'])})",
                        *[t["counts"].get(x, 0) for x in NEURON_STEPS], n["survival"][i + 1]["mono"],
                        f"{n['survival'][i + 1]['level0_mono_still_same_feature']} of {n['level0_mono']}"]
                       for i, t in enumerate(n["transitions"])]))
        b = n["by_level0_state"]
        out.append(f"level-0 mono neurons ({b['mono']['neurons']}) at the last level: alive "
                   f"{b['mono']['alive_at_last']}, mono {b['mono']['mono_at_last']}, on the same feature "
                   f"{b['mono']['mono_same_feature_at_last']}, poly {b['mono']['poly_at_last']}; level-0 poly "
                   f"neurons ({b['poly']['neurons']}): alive {b['poly']['alive_at_last']}, mono "
                   f"{b['poly']['mono_at_last']}; features level 0 -> last: {n['features_first_to_last']}; "
                   f"dead at last {n['dead_at_last']} (without inputs {n['dead_without_inputs_at_last']})")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap, "root")
    a = ap.parse_args()
    print(tables(load_or_write(a, lambda: summarize(a.root))))


if __name__ == "__main__":
    main()
