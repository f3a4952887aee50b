"""The paper-shape tables of docs/pruning.md ("paper shape"): every run of docs/pruning_paper_experiments.sh
with its sparsity, mono/N, dead count, eval loss and the convergence columns of docs/science.md section 7,
the features a monosemantic neuron serves (mono/N counts neurons, so it can pass 1 while features go
unserved), the per-neuron tracking of the IMP ticket and both controls (pruning_tables.neuron_summary),
prune-and-grow by method and sparsity, and wide sparse against narrow dense at equal non-zero weights.
Every seed found is a row of its own (run names end in _s<seed>). The lottery table gives, per level, each
arm's seed mean and range, and a verdict only where both arms have 3 seeds: "lower"/"higher" when the ranges
are disjoint, "no clear effect" when they overlap or touch.

    python docs/pruning_paper_tables.py runs/paper/pruning --json docs/pruning_paper.json
    python docs/pruning_paper_tables.py --from-json docs/pruning_paper.json      # the tables and figure again

--merge OLD.json keeps OLD's rows (and neuron summaries) of runs not summarized now, so seeds run in
different sessions, whose run dirs are not all on one disk, meet in one summary; each row keeps its dir.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from pruning_tables import cell, disjoint, md, neuron_summary, pct, stats
from summary_json import add_arguments, load_or_write

FIG = Path(__file__).resolve().parent / "figures"
MIN_SEEDS = 3  # a verdict needs this many seeds on each side

CHAINS = ("imp", "reinit", "random-mask")
NEURON_STEPS = ("stays mono, same feature", "switches feature", "mono -> poly", "poly -> mono", "stays poly", "dies")


def run_row(d: Path, method: str, level: int | None, group: str = "") -> dict:
    """One finished run dir: its seed, its mask's counts, results and convergence."""
    from models.runs import convergence, is_converged, load_run, read_metrics
    from pruning.imp import run_masks
    from pruning.masks import sparsity_record

    run = load_run(d)
    conv = convergence(read_metrics(d / "metrics.jsonl"))
    s = run.summary
    return {"dir": str(d), "method": method, "level": level, "group": group or method, "k": run.config.k,
            "seed": run.config.seed,
            **{k: v for k, v in sparsity_record(run_masks(run)).items() if k in ("remaining", "sparsity")},
            **{k: s[k] for k in ("mono_count", "mono_per_N", "dead_count", "final_loss", "wall_s")},
            "features_served": s["feature_histogram"]["1"] + s["feature_histogram"]["2+"],
            "features_served_twice": s["feature_histogram"]["2+"],
            **conv, "converged": is_converged(conv, s["mono_count"])}


def finished(pattern: str, root: Path) -> list[Path]:
    """The run dirs under root matching pattern that have finished, in seed order."""
    return sorted((d for d in root.glob(pattern) if (d / "summary.json").exists()),
                  key=lambda d: int(d.name.rsplit("=", 1)[1]))


def summarize(root: Path) -> dict:
    rows = [run_row(d, "dense", 0) for d in finished("dense/lr=0.01__seed=*", root)]
    neurons = {}
    for chain in CHAINS:
        for d in sorted((root / chain).glob("mono_s*[0-9]")):
            levels = sorted(d.glob("level_*"))
            rows += [run_row(lv, chain, int(lv.name.split("_")[1])) for lv in levels[1:]
                     if (lv / "summary.json").exists()]
            neurons[f"{chain}/{d.name}"] = neuron_summary(json.loads((d / "neurons.json").read_text()))
    for group in ("grow", "wide"):
        rows += sorted((run_row(g.parent, json.loads(g.read_text())["method"], None, group)
                        for g in (root / group).glob("*/grow.json") if (g.parent / "summary.json").exists()),
                       key=lambda r: (r["seed"], r["method"], r["sparsity"]))
    rows += [run_row(d, "dense", 0, "narrow") for d in finished("narrow/lr=0.01__seed=*", root)]
    return {"command": f"bash docs/pruning_paper_experiments.sh  # ends with: python docs/pruning_paper_tables.py "
                       f"{root} --json docs/pruning_paper.json", "runs": rows, "neurons": neurons}


ORDER = ("dense", "imp", "reinit", "random-mask", "grow", "wide", "narrow")


def row_key(r: dict) -> tuple:
    """Table order: comparison group, method, sparsity, level, then seed."""
    return (ORDER.index(r["group"]), r["method"], round(r["sparsity"], 4), r["level"] or 0, r.get("seed", 0))


def merge(new: dict, old: dict, old_path: Path) -> dict:
    """new plus old's rows of runs new does not have (same group, method, level, k, sparsity and seed) and
    old's neuron summaries of chains new does not have. Rows written before the seed column are seed 0,
    neuron keys written before seeds ("imp") are that chain's seed 0 ("imp/mono_s0")."""
    have = {row_key(r) + (r["k"],) for r in new["runs"]}
    kept = [{**r, "seed": r.get("seed", 0)} for r in old["runs"] if row_key(r) + (r["k"],) not in have]
    neurons = {(k if "/" in k else f"{k}/mono_s0"): v for k, v in old["neurons"].items()}
    return {**new, "command": f"{new['command']} --merge {old_path}",
            "merged_from": {"path": str(old_path), "rows": len(kept)},
            "runs": sorted(new["runs"] + kept, key=row_key),
            "neurons": dict(sorted({**neurons, **new["neurons"]}.items()))}


def lottery(runs: list[dict]) -> list[dict]:
    """Per IMP level and arm (ticket, reinit, random mask): the seeds, mono/N and loss as (mean, min, max),
    dead mean and converged count; level 0 is the dense start, shared by all three."""
    def arm_cell(level: int, arm: str, rs: list[dict]) -> dict:
        return {"level": level, "arm": arm, "remaining_fraction": 1 - rs[0]["sparsity"],
                "seeds": sorted(r.get("seed", 0) for r in rs),
                **{f: stats([r[f] for r in rs]) for f in ("mono_per_N", "final_loss")},
                "dead": stats([r["dead_count"] for r in rs]), "converged": sum(r["converged"] for r in rs)}
    dense = [r for r in runs if r["group"] == "dense"]
    out = [arm_cell(0, "dense", dense)] if dense else []
    for lv in sorted({r["level"] for r in runs if r["group"] in CHAINS}):
        for arm in CHAINS:
            rs = [r for r in runs if r["group"] == arm and r["level"] == lv]
            if rs:
                out.append(arm_cell(lv, arm, rs))
    return out


def verdict(a: dict, b: dict, field: str) -> str:
    """a's field against b's over seeds: lower / higher (disjoint ranges) or no clear effect (overlapping or
    touching), and only with MIN_SEEDS on each side."""
    if min(len(a["seeds"]), len(b["seeds"])) < MIN_SEEDS:
        return f"({len(a['seeds'])} v {len(b['seeds'])} seeds: no verdict)"
    return {"<": "lower", ">": "higher", "~": "no clear effect"}[disjoint(a[field], b[field])]


def lottery_table(runs: list[dict]) -> str:
    cells = lottery(runs)
    rows = [[f"{c['level']} ({pct(c['remaining_fraction'])})",
             LABEL[c["arm"]] + (" start" if c["arm"] == "dense" else ""),
             ",".join(map(str, c["seeds"])), cell(c["mono_per_N"]), cell(c["final_loss"], ".4f"),
             f"{c['dead'][0]:.0f}", f"{c['converged']} of {len(c['seeds'])}"] for c in cells]
    out = [md(("level (weights left)", "arm", "seeds", "mono/N mean [range]", "eval loss mean [range]",
               "dead (mean)", "converged"), rows)]
    by = {(c["level"], c["arm"]): c for c in cells}
    vrows = []
    for lv in sorted({c["level"] for c in cells if c["arm"] == "imp"}):
        t = by[(lv, "imp")]
        vs = [by.get((lv, arm)) for arm in ("reinit", "random-mask")] + [by.get((0, "dense"))]
        vrows.append([f"{lv} ({pct(t['remaining_fraction'])})",
                      *[verdict(t, o, f) if o else "" for o in vs for f in ("final_loss", "mono_per_N")]])
    out += ["\nthe ticket against each (its seed range against theirs):",
            md(("level", "loss vs reinit", "mono/N vs reinit", "loss vs random mask", "mono/N vs random mask",
                "loss vs dense start", "mono/N vs dense start"), vrows)]
    return "\n".join(out)


def lottery_figure(runs: list[dict], out: Path) -> None:
    """Eval loss and mono/N against the weights left: every seed a point, each arm's seed mean a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = lottery(runs)
    dense = next((c for c in cells if c["arm"] == "dense"), None)
    colors = {"imp": "C0", "reinit": "C1", "random-mask": "C2"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, field, ylabel in zip(axes, ("final_loss", "mono_per_N"), ("eval loss", "monosemantic neurons / N")):
        start = [r for r in runs if r["group"] == "dense"]
        ax.scatter([100.0] * len(start), [r[field] for r in start], color="k", s=14, alpha=0.6, label="dense start")
        for arm, color in colors.items():
            pts = [r for r in runs if r["group"] == arm]
            ax.scatter([100 * (1 - r["sparsity"]) for r in pts], [r[field] for r in pts], color=color, s=14,
                       alpha=0.6)
            line = ([dense] if dense else []) + [c for c in cells if c["arm"] == arm]
            per_level = "/".join(str(len(c["seeds"])) for c in line if c["arm"] == arm)
            ax.plot([100 * c["remaining_fraction"] for c in line], [c[field][0] for c in line], "-", color=color,
                    label=f"{LABEL[arm]} ({per_level} seeds by level)")
        ax.set_xscale("log")
        ticks = sorted({100 * c["remaining_fraction"] for c in cells}, reverse=True)
        ax.set_xlim(ticks[0] * 1.05, ticks[-1] * 0.75)
        ax.set_xticks(ticks, [pct(t / 100) for t in ticks])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("weights left (each layer)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("IMP ticket vs reinit and random-mask controls, paper shape (N 512, k 1024), "
                 "monosemantic start: points are seeds, lines seed means", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)


def conv_cells(r: dict) -> list[str]:
    """The convergence columns; n/a where the run is too short to have them (a smoke test's budget)."""
    loss, mono = r["loss_rel_change_last_eighth"], r["mono_change_last_doubling"]
    return ["n/a" if loss is None else f"{100 * loss:+.2f}%", "n/a" if mono is None else f"{mono:+d}",
            "yes" if r["converged"] else "no"]


LABEL = {"dense": "dense", "imp": "IMP ticket", "reinit": "reinit control", "random-mask": "random-mask control",
         "rigl": "RigL", "static": "static mask", "set": "SET"}


def seeds(runs: list[dict]) -> list[int]:
    return sorted({r.get("seed", 0) for r in runs})  # summaries written before the seed column: seed 0


def seed_tag(r: dict, runs: list[dict]) -> str:
    """", seed S" where the runs hold more than one seed, else nothing (the one-seed tables stay as they were)."""
    return f", seed {r.get('seed', 0)}" if len(seeds(runs)) > 1 else ""


def run_name(r: dict, runs: list[dict]) -> str:
    """The row label every table uses: method, IMP level, which comparison group the run belongs to, and its
    seed when there are several."""
    name = LABEL[r["method"]] + (f", level {r['level']}" if r["level"] else "")
    return (name + {"dense": " start", "wide": " (wide)", "narrow": f" k {r['k']} (narrow)"}.get(r["group"], "")
            + seed_tag(r, runs))


def grow_table(runs: list[dict]) -> str:
    """Prune-and-grow by sparsity: one row per sparsity (and seed), mono/N, loss, dead and converged per
    method."""
    methods = ("rigl", "set", "static")
    grow = {(r["method"], round(r["sparsity"], 4), r.get("seed", 0)): r for r in runs if r["group"] == "grow"}
    rows = []
    for sp, seed in sorted({k[1:] for k in grow}):
        cells = [grow.get((m, sp, seed)) for m in methods]
        fmt = lambda f: [f(c) if c else "" for c in cells]  # noqa: E731
        first = next(c for c in cells if c)
        rows.append([f"{pct(sp)} ({first['remaining']:,}){seed_tag(first, runs)}",
                     *fmt(lambda c: f"{c['mono_per_N']:.3f}"), *fmt(lambda c: f"{c['final_loss']:.4f}"),
                     *fmt(lambda c: c["dead_count"]), *fmt(lambda c: "yes" if c["converged"] else "no")])
    return md(("sparsity (non-zero weights)", *[f"{q}: {LABEL[m]}" for q in ("mono/N", "loss", "dead", "converged")
                                                 for m in methods]), rows)


def width_table(runs: list[dict]) -> str:
    """Wide sparse against narrow dense at equal non-zero weights, with the dense start for scale."""
    pick = [r for r in runs if r["group"] in ("wide", "narrow")] + [r for r in runs if r["group"] == "dense"]
    return md(("run", "k", "non-zero weights", "mono/N", "mono", "features served", "dead", "eval loss",
               "converged"),
              [[run_name(r, runs), r["k"], f"{r['remaining']:,}", f"{r['mono_per_N']:.3f}", r["mono_count"],
                r["features_served"], r["dead_count"], f"{r['final_loss']:.4f}", "yes" if r["converged"] else "no"]
               for r in pick])


def tables(s: dict) -> str:
    out = []
    head = ("run", "weights left", "mono/N", "mono", "features served (2+)", "dead", "eval loss",
            "loss change, last eighth", "mono change, last doubling", "converged")
    rows = []
    for r in s["runs"]:
        rows.append([run_name(r, s["runs"]), f"{pct(1 - r['sparsity'])} ({r['remaining']:,})",
                     f"{r['mono_per_N']:.3f}",
                     r["mono_count"], f"{r['features_served']} ({r['features_served_twice']})", r["dead_count"],
                     f"{r['final_loss']:.4f}", *conv_cells(r)])
    out.append(md(head, rows))
    out += ["\nthe lottery, by seed:", lottery_table(s["runs"])]
    out += ["\nprune-and-grow by sparsity:", grow_table(s["runs"]),
            "\nwide sparse vs narrow dense at equal non-zero weights:", width_table(s["runs"])]
    for key, n in s["neurons"].items():  # "imp/mono_s0"; "imp" in summaries written before seeds
        chain, _, start = key.partition("/")
        tag = f", {start}" if len(seeds(s["runs"])) > 1 else ""
        out.append(f"\nneurons, {LABEL[chain]}{tag} (k {n['k']}, levels {n['levels']}):")
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
    ap.add_argument("--merge", type=Path, help="keep this summary's rows of runs not on disk now")
    ap.add_argument("--figure", default="pruning_paper_lottery.png", help="the lottery figure, under docs/figures")
    a = ap.parse_args()

    def build() -> dict:
        new = summarize(a.root)
        s = merge(new, json.loads(a.merge.read_text()), a.merge) if a.merge else new
        return {**s, "lottery": lottery(s["runs"])}
    s = load_or_write(a, build)
    print(tables(s))
    lottery_figure(s["runs"], FIG / a.figure)


if __name__ == "__main__":
    main()
