"""The paper-shape tables of docs/pruning.md ("paper shape"): every run of docs/pruning_paper_experiments.sh
with its sparsity, mono/N, dead count, eval loss and the convergence columns of docs/science.md section 7,
the features a monosemantic neuron serves (mono/N counts neurons, so it can pass 1 while features go
unserved), the per-neuron tracking of the IMP ticket and both controls (pruning_tables.neuron_summary),
prune-and-grow by method and sparsity, and wide sparse against narrow dense at equal non-zero weights.
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


def run_row(d: Path, method: str, level: int | None, group: str = "") -> dict:
    """One finished run dir: its mask's counts, results and convergence."""
    from models.runs import convergence, is_converged, load_run, read_metrics
    from pruning.imp import run_masks
    from pruning.masks import sparsity_record

    run = load_run(d)
    conv = convergence(read_metrics(d / "metrics.jsonl"))
    s = run.summary
    return {"dir": str(d), "method": method, "level": level, "group": group or method, "k": run.config.k,
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
    for group in ("grow", "wide"):
        rows += sorted((run_row(g.parent, json.loads(g.read_text())["method"], None, group)
                        for g in (root / group).glob("*/grow.json") if (g.parent / "summary.json").exists()),
                       key=lambda r: (r["method"], r["sparsity"]))
    narrow = root / "narrow" / "lr=0.01__seed=0"
    if (narrow / "summary.json").exists():
        rows.append(run_row(narrow, "dense", 0, "narrow"))
    return {"command": f"bash docs/pruning_paper_experiments.sh  # ends with: python docs/pruning_paper_tables.py "
                       f"{root} --json docs/pruning_paper.json", "runs": rows, "neurons": neurons}


def conv_cells(r: dict) -> list[str]:
    return [f"{100 * r['loss_rel_change_last_eighth']:+.2f}%", f"{r['mono_change_last_doubling']:+d}",
            "yes" if r["converged"] else "no"]


LABEL = {"dense": "dense", "imp": "IMP ticket", "reinit": "reinit control", "random-mask": "random-mask control",
         "rigl": "RigL", "static": "static mask", "set": "SET"}


def run_name(r: dict) -> str:
    """The row label every table uses: method, IMP level, and which comparison group the run belongs to."""
    name = LABEL[r["method"]] + (f", level {r['level']}" if r["level"] else "")
    return name + {"dense": " start", "wide": " (wide)", "narrow": f" k {r['k']} (narrow)"}.get(r["group"], "")


def grow_table(runs: list[dict]) -> str:
    """Prune-and-grow by sparsity: one row per sparsity, mono/N, loss, dead and converged per method."""
    methods = ("rigl", "set", "static")
    grow = {(r["method"], round(r["sparsity"], 4)): r for r in runs if r["group"] == "grow"}
    rows = []
    for sp in sorted({k[1] for k in grow}):
        cells = [grow.get((m, sp)) for m in methods]
        fmt = lambda f: [f(c) if c else "" for c in cells]  # noqa: E731
        rows.append([f"{pct(sp)} ({next(c for c in cells if c)['remaining']:,})",
                     *fmt(lambda c: f"{c['mono_per_N']:.3f}"), *fmt(lambda c: f"{c['final_loss']:.4f}"),
                     *fmt(lambda c: c["dead_count"]), *fmt(lambda c: "yes" if c["converged"] else "no")])
    return md(("sparsity (non-zero weights)", *[f"{q}: {LABEL[m]}" for q in ("mono/N", "loss", "dead", "converged")
                                                 for m in methods]), rows)


def width_table(runs: list[dict]) -> str:
    """Wide sparse against narrow dense at equal non-zero weights, with the dense start for scale."""
    pick = [r for r in runs if r["group"] in ("wide", "narrow")] + [r for r in runs if r["group"] == "dense"]
    return md(("run", "k", "non-zero weights", "mono/N", "mono", "features served", "dead", "eval loss",
               "converged"),
              [[run_name(r), r["k"], f"{r['remaining']:,}", f"{r['mono_per_N']:.3f}", r["mono_count"], r["features_served"],
                r["dead_count"], f"{r['final_loss']:.4f}", "yes" if r["converged"] else "no"] for r in pick])


def tables(s: dict) -> str:
    out = []
    head = ("run", "weights left", "mono/N", "mono", "features served (2+)", "dead", "eval loss",
            "loss change, last eighth", "mono change, last doubling", "converged")
    rows = []
    for r in s["runs"]:
        rows.append([run_name(r), f"{pct(1 - r['sparsity'])} ({r['remaining']:,})", f"{r['mono_per_N']:.3f}",
                     r["mono_count"], f"{r['features_served']} ({r['features_served_twice']})", r["dead_count"],
                     f"{r['final_loss']:.4f}", *conv_cells(r)])
    out.append(md(head, rows))
    out += ["\nprune-and-grow by sparsity:", grow_table(s["runs"]),
            "\nwide sparse vs narrow dense at equal non-zero weights:", width_table(s["runs"])]
    for chain, n in s["neurons"].items():
        out.append(f"\nneurons, {LABEL[chain]} (k {n['k']}, levels {n['levels']}):")
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
