"""Every table of docs/pruning.md, printed as markdown from committed JSON: the comparisons that
`prune compare` wrote beside the figures (docs/figures/pruning_*.json) and the per-seed neuron tracking
summary (docs/pruning_neurons.json), which this script builds from the IMP directories' neurons.json.
After the tables come the counts behind each verdict (which seed ranges are disjoint, paired wins).

    python docs/pruning_tables.py runs/pruning --json docs/pruning_neurons.json   # build the summary, print
    python docs/pruning_tables.py                                                # print from committed JSON
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

DOCS = Path(__file__).resolve().parent
FIG = DOCS / "figures"
STARTS = ("mono", "poly")
CONTROLS = ("reinit", "random-mask")
TABLE_LEVELS = (0, 1, 3, 5, 7, 10)


# ------------------------------------------------------------------ the neuron summary
def neuron_summary(d: dict) -> dict:
    """What the tables need of one neurons.json: per-step and first-to-last counts, and by level-0 state."""
    from pruning.neurons import feature_transition, neuron_transition

    state, pref, inw = d["neurons"]["state"], d["neurons"]["preferred"], d["neurons"]["in_weights"]
    serving = d["features"]["serving"]
    last, k = len(state) - 1, d["k"]
    first_last = defaultdict(int)
    for j in range(k):
        first_last[neuron_transition(state[0][j], pref[0][j], state[last][j], pref[last][j])] += 1
    by_state = {}
    for s0 in ("mono", "poly"):
        js = [j for j in range(k) if state[0][j] == s0]
        by_state[s0] = {
            "neurons": len(js),
            "alive_at_last": sum(state[last][j] != "dead" for j in js),
            "mono_at_last": sum(state[last][j] == "mono" for j in js),
            "mono_same_feature_at_last": sum(state[last][j] == "mono" and pref[last][j] == pref[0][j] for j in js),
            "mono_at_1": sum(state[1][j] == "mono" for j in js) if last >= 1 else None,
            "dead_by_6": sum(state[6][j] == "dead" for j in js) if last >= 6 else None,
            "poly_at_last": sum(state[last][j] == "poly" for j in js)}
    redundant = [f for f, ns in enumerate(serving[0]) if len(ns) >= 2]
    feat = defaultdict(int)
    for a, b in zip(serving[0], serving[last]):
        feat[feature_transition(a, b)] += 1
    return {"dir": d["dir"], "method": d["method"], "n_features": d["n_features"], "k": k, "levels": d["levels"],
            "remaining_fraction": d["remaining_fraction"], "level0_mono": d["level0_mono"],
            "level0_served_features": d["level0_served_features"], "survival": d["survival"],
            "transitions": [{"from": t["from"], "to": t["to"], "counts": t["counts"]} for t in d["transitions"]],
            "feature_transitions": [{"from": t["from"], "to": t["to"], "counts": t["counts"]}
                                    for t in d["feature_transitions"]],
            "first_to_last": dict(first_last), "features_first_to_last": dict(feat), "by_level0_state": by_state,
            "dead_at_last": state[last].count("dead"),
            "dead_without_inputs_at_last": sum(s == "dead" and w == 0 for s, w in zip(state[last], inw[last])),
            "redundant_features_level0": len(redundant),
            "redundant_features_served_at_last": sum(bool(serving[last][f]) for f in redundant)}


def build(root: Path, out: Path) -> dict:
    dirs = {}
    for kind in ("imp",):  # the tables track the tickets; controls have their own neurons.json in runs/
        for p in sorted((root / kind).glob("*/neurons.json")):
            dirs[f"{kind}/{p.parent.name}"] = neuron_summary(json.loads(p.read_text()))
    data = {"command": f"JOBS=2 STEPS=2048 DEVICE=cpu bash docs/pruning_experiments.sh; "
                       f"python docs/pruning_tables.py {root} --json {out}", "dirs": dirs}
    out.write_text(json.dumps(data, indent=1) + "\n")
    return data


# ------------------------------------------------------------------ statistics over seeds
def stats(vals):
    vals = [v for v in vals if v is not None]
    return (sum(vals) / len(vals), min(vals), max(vals)) if vals else None


def cell(s, fmt: str = ".3f") -> str:
    return "" if s is None else f"{s[0]:{fmt}} [{s[1]:{fmt}}, {s[2]:{fmt}}]"


def disjoint(a, b) -> str:
    """'<' or '>' when a's range lies wholly below or above b's, '~' when they overlap or touch."""
    return "<" if a[2] < b[1] else ">" if a[1] > b[2] else "~"


def groups(points: list[dict], key) -> dict:
    g = defaultdict(list)
    for p in points:
        g[key(p)].append(p)
    return g


def md(header: tuple, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def pct(f: float) -> str:
    return f"{100 * f:.3g}%"


# ------------------------------------------------------------------ section 1: IMP and its controls
def imp_section(start: str, suffix: str = "") -> None:
    rec = json.loads((FIG / f"pruning_imp_{start}{suffix}.json").read_text())
    by = groups(rec["points"], lambda p: ("imp" if p["method"] == "dense" else p["method"], p["level"]))
    frac = {lv: ps[0]["remaining_fraction"] for (m, lv), ps in by.items()}
    levels = sorted({lv for _, lv in by})

    def s(method, lv, field):
        return stats([p[field] for p in by.get((method, lv), [])])
    print(f"\n### IMP vs controls, {start} start{suffix}\n")
    rows = []
    for lv in (lv for lv in TABLE_LEVELS if lv in levels):
        same = lv == 0
        rows.append([f"{lv} ({pct(frac[lv])})",
                     *[cell(s("imp", lv, "mono_per_N"))] + ["(same run)" if same else cell(s(c, lv, "mono_per_N"))
                                                             for c in CONTROLS],
                     *[cell(s("imp", lv, "final_loss"))] + ["(same run)" if same else cell(s(c, lv, "final_loss"))
                                                             for c in CONTROLS],
                     *[cell(s("imp", lv, "dead_per_k"), ".2f")] + ["(same run)" if same else
                                                                   cell(s(c, lv, "dead_per_k"), ".2f")
                                                                   for c in CONTROLS]])
    print(md(("level (weights left)", "mono/N: IMP ticket", "reinit", "random mask", "loss: IMP ticket", "reinit",
              "random mask", "dead/k: IMP", "reinit", "random mask"), rows))
    print("\nverdict counts (ticket vs X per level: < below, > above, ~ overlapping or touching):")
    dense = {f: s("imp", 0, f) for f in ("mono_per_N", "final_loss")}
    for field in ("final_loss", "mono_per_N"):
        for other in ("dense start", *CONTROLS):
            marks, wins, ties, n = [], 0, 0, 0
            for lv in levels[1:]:
                t = s("imp", lv, field)
                o = dense[field] if other == "dense start" else s(other, lv, field)
                if t is None or o is None:
                    continue
                marks.append(f"{lv}:{disjoint(t, o)}")
                if other != "dense start":
                    seed_of = {p["seed"]: p[field] for p in by[(other, lv)]}
                    for p in by[("imp", lv)]:
                        if p["seed"] in seed_of and p[field] is not None:
                            n += 1
                            wins += p[field] > seed_of[p["seed"]]
                            ties += p[field] == seed_of[p["seed"]]
            paired = f"; paired ticket higher {wins}, equal {ties}, of {n}" if n else ""
            print(f"  {field} vs {other}: {' '.join(marks)}{paired}")


# ------------------------------------------------------------------ section 3: prune-and-grow, width
def grow_section(start: str) -> None:
    rec = json.loads((FIG / f"pruning_grow_{start}.json").read_text())
    by = groups(rec["points"], lambda p: (p["method"], p["level"] if p["level"] is not None
                                          else round(p["sparsity"], 6)))
    methods = ("rigl", "set", "static")
    sps = sorted({key for (m, key) in by if m in methods})

    def s(key, field):
        return stats([p[field] for p in by.get(key, [])])
    print(f"\n### prune-and-grow vs static, {start} start\n")
    rows = []
    for sp in sps:
        remaining = by[(methods[0], sp)][0]["remaining"]
        rows.append([f"{pct(sp)} ({remaining})", *[cell(s((m, sp), "mono_per_N")) for m in methods],
                     *[cell(s((m, sp), "final_loss")) for m in methods],
                     *[cell(s((m, sp), "dead_per_k"), ".2f") for m in methods]])
    for lv in (7, 10):
        if ("imp", lv) in by:
            p0 = by[("imp", lv)][0]
            rows.append([f"IMP level {lv}: {pct(p0['sparsity'])} ({p0['remaining']})",
                         cell(s(("imp", lv), "mono_per_N")), "", "", cell(s(("imp", lv), "final_loss")), "", "",
                         cell(s(("imp", lv), "dead_per_k"), ".2f"), "", ""])
    print(md(("sparsity (non-zero weights)", "mono/N: RigL", "SET", "static", "loss: RigL", "SET", "static",
              "dead/k: RigL", "SET", "static"), rows))
    print("\nverdict counts per sparsity (A vs B: < below, > above, ~ overlapping or touching):")
    for a, b in (("rigl", "static"), ("set", "static"), ("rigl", "set")):
        for field in ("final_loss", "mono_per_N"):
            print(f"  {a} vs {b} {field}: " + " ".join(
                f"{pct(sp)}:{disjoint(s((a, sp), field), s((b, sp), field))}" for sp in sps))
    if ("imp", 7) in by and ("rigl", sps[0]) in by:
        print("  rigl at " + pct(sps[0]) + " vs IMP level 7: " + ", ".join(
            f"{f} {disjoint(s(('rigl', sps[0]), f), s(('imp', 7), f))}" for f in ("mono_per_N", "final_loss")))
    if ("imp", 10) in by and len(sps) > 1:
        print("  rigl at " + pct(sps[1]) + " vs IMP level 10: " + ", ".join(
            f"{f} {disjoint(s(('rigl', sps[1]), f), s(('imp', 10), f))}" for f in ("mono_per_N", "final_loss")))


def width_section(n: int) -> None:
    """The equal-weights comparison; n is the task's N (the compare records hold mono/N only)."""
    print("\n### wide sparse vs narrow dense at equal non-zero weights\n")
    rows, verdicts = [], []
    for start in STARTS:
        rec = json.loads((FIG / f"pruning_width_{start}.json").read_text())
        by = groups(rec["points"], lambda p: (p["method"], p["k"]))
        narrow = min(k for m, k in by if m == "dense")
        named = [(("rigl", 256), "k=256, 75% sparse, RigL"), (("static", 256), "k=256, 75% sparse, static mask"),
                 (("dense", narrow), f"k={narrow} dense"), (("dense", 256), "k=256 dense (4x the weights)")]
        st = {}
        for key, label in named:
            ps = by.get(key, [])
            if not ps:
                continue
            st[key] = {f: stats([p[f] for p in ps]) for f in ("mono_per_N", "final_loss", "dead_per_k")}
            mono_n = stats([p["mono_per_N"] * n for p in ps if p["mono_per_N"] is not None])
            dead_n = stats([p["dead_per_k"] * p["k"] for p in ps])
            rows.append([label, start, cell(st[key]["mono_per_N"]), cell(mono_n, ".1f"),
                         cell(st[key]["final_loss"]), cell(dead_n, ".1f")])
        for a in (("rigl", 256), ("static", 256)):
            verdicts.append(f"  {start}: {a[0]} k=256 vs dense k={narrow}: " + ", ".join(
                f"{f} {disjoint(st[a][f], st[('dense', narrow)][f])}" for f in ("mono_per_N", "final_loss")))
        verdicts.append(f"  {start}: rigl vs static: " + ", ".join(
            f"{f} {disjoint(st[('rigl', 256)][f], st[('static', 256)][f])}" for f in ("mono_per_N", "final_loss")))
    print(md(("equal non-zero weights", "start", "mono/N", "mono neurons", "loss", "dead neurons"), rows))
    print("\nverdict counts:\n" + "\n".join(verdicts))


# ------------------------------------------------------------------ section 2: neurons
def neuron_section(summary: dict, start: str = "mono") -> None:
    ds = [v for k, v in summary["dirs"].items() if k.startswith(f"imp/{start}_")]
    if not ds:
        return
    names_n = ("stays mono, same feature", "switches feature", "mono -> poly", "poly -> mono", "stays poly", "dies")
    last = ds[0]["levels"][-1]
    print(f"\n### neurons, IMP {start} start ({len(ds)} seeds)\n")
    print(md((f"transition, level 0 -> {last}", *names_n),
             [["neurons per seed (of %d)" % ds[0]["k"],
               *[cell(stats([d["first_to_last"].get(t, 0) for d in ds]), ".1f") for t in names_n]]]))
    print()
    rows = []
    for s0 in ("mono", "poly"):
        tot = {key: sum(d["by_level0_state"][s0][key] or 0 for d in ds) for key in ds[0]["by_level0_state"][s0]}
        n = tot["neurons"]

        def f(key):
            return f"{tot[key]} ({100 * tot[key] / n:.0f}%)" if n else "0"
        rows.append([f"{s0} ({n})", f("alive_at_last"), f("mono_at_last"),
                     f("mono_same_feature_at_last") if s0 == "mono" else "(no level-0 feature)", f("mono_at_1"),
                     f("dead_by_6"), f("poly_at_last")])
    print(md(("level-0 state (neurons, seeds pooled)", f"alive at level {last}", f"mono at level {last}",
              f"mono on its level-0 feature at {last}", "mono at level 1", "dead by level 6", f"poly at {last}"),
             rows))
    print()
    rows = []
    for i, tr in enumerate(ds[0]["transitions"]):
        per = [d["transitions"][i]["counts"] for d in ds]
        surv = [d["survival"][i + 1] for d in ds]
        rows.append([f"{tr['from']}->{tr['to']} ({pct(surv[0]['remaining_fraction'])})",
                     *[cell(stats([c[t] for c in per]), ".1f") for t in names_n if t != "stays poly"],
                     cell(stats([s["mono"] for s in surv]), ".1f"),
                     cell(stats([s["level0_mono_still_same_feature"] / d["level0_mono"] if d["level0_mono"] else None
                                 for s, d in zip(surv, ds)]),
                          ".2f"),
                     cell(stats([s["level0_served_features_still_served"] / d["level0_served_features"]
                                 if d["level0_served_features"] else None for s, d in zip(surv, ds)]), ".2f")])
    print(md(("step (weights left after)", *[t for t in names_n if t != "stays poly"], "mono neurons after",
              "level-0 mono still on their feature", "level-0 served features still served"), rows))
    print()
    names_f = ("kept by a same neuron", "moved to other neurons", "lost", "gained", "unserved")
    print(md((f"features (of {ds[0]['n_features']}), level 0 -> {last}", *names_f),
             [["per seed", *[cell(stats([d["features_first_to_last"].get(t, 0) for d in ds]), ".1f")
                             for t in names_f]]]))
    served = [[s["features_served"] for s in d["survival"]] for d in ds]
    print(f"\nserved features level 0 -> {last}: {cell(stats([s[0] for s in served]), '.1f')} -> "
          f"{cell(stats([s[-1] for s in served]), '.1f')}; dead at {last} / of them without inputs: "
          + ", ".join(f"{d['dead_at_last']}/{d['dead_without_inputs_at_last']}" for d in ds)
          + "; features with 2+ mono neurons at level 0 (pooled): "
          f"{sum(d['redundant_features_level0'] for d in ds)}, served at {last}: "
          f"{sum(d['redundant_features_served_at_last'] for d in ds)}")
    deaths = [[tr["counts"]["dies"] for tr in d["transitions"]] for d in ds]
    print("deaths per step per seed: " + "; ".join(" ".join(map(str, x)) for x in deaths))
    keep, turn = [], []
    for i, _ in enumerate(ds[0]["transitions"]):
        before = [d["survival"][i] for d in ds]
        counts = [d["transitions"][i]["counts"] for d in ds]
        mono = sum(b["mono"] for b in before)
        poly = sum(b["poly"] for b in before)
        keep.append(f"{sum(c['stays mono, same feature'] for c in counts) / mono:.2f}" if mono else "-")
        turn.append(f"{sum(c['poly -> mono'] for c in counts) / poly:.2f}" if poly else "-")
    print("per step, of the mono neurons before it, the share mono on the same feature after (seeds pooled): "
          + " ".join(keep) + "\nper step, of the poly neurons before it, the share mono after: " + " ".join(turn))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, nargs="?", help="runs/pruning: build the neuron summary from it")
    ap.add_argument("--json", type=Path, default=DOCS / "pruning_neurons.json")
    a = ap.parse_args()
    summary = build(a.root, a.json) if a.root else json.loads(a.json.read_text())
    for start in STARTS:
        imp_section(start)
    for start in STARTS:
        if (FIG / f"pruning_imp_{start}_2p13.json").exists():
            imp_section(start, "_2p13")
    for start in STARTS:
        neuron_section(summary, start)
    for start in STARTS:
        grow_section(start)
    width_section(next(iter(summary["dirs"].values()))["n_features"])


if __name__ == "__main__":
    main()
