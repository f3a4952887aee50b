"""The small summary behind docs/basins.md's tables, read from the result dirs that basins_experiments.sh
writes (runs/basins/...): per interpolation its endpoint losses and barriers, per curve its line and curve
statistics, per map its runs' mono/N, every aligned pair barrier and the basin counts per tolerance.
Whatever has not been run is listed under "missing".

    python docs/basins_tables.py runs/basins --json docs/basins_small.json
    python docs/basins_tables.py runs/paper/basins --script docs/paper_shape_experiments.sh \
        --json docs/basins_paper.json                         # the paper-shape section
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

# what each experiments script writes under its ROOT (anything else found there is summarized too)
EXPECTED = {
    "docs/basins_experiments.sh": (
        "seeds_mono", "seeds_poly", "mono_poly", "mono_poly_act", "bias_pair", "curve_poly_seeds", "curve_mono_poly",
        "map_lr_bias_batch", "map_decay_2p14", "width_k32", "width_k64", "width_k128", "width_k256", "hop_mono_poly",
        *(f"{c}{v}" for c in ("cbft_poly_s0", "cbft_poly_s1", "cbft_poly_s2", "cbft_mono_s0") for v in ("", "_control"))),
    "docs/paper_shape_experiments.sh": (
        "seeds_mono", "seeds_part", "mono_part", "mono_part_act", "curve_mono_part", "curve_part_seeds",
        "hop_mono_part", "map_starts_batch"),
    "docs/paper_recipes_experiments.sh": ("map_recipes",),
    "docs/paper_part_4x_experiments.sh": (
        "seeds_mono_act", "seeds_part4x", "seeds_part4x_act", "mono_part4x", "mono_part4x_act", "curve_part4x_seeds",
        "map_part4x"),
}
HOP_DIRECTION_KEYS = ("a", "b", "a_mono_per_N", "b_mono_per_N", "a_loss", "b_loss", "b_mono_range",
                      "smallest_lambda_landed", "smallest_lambda_landed_at_target_loss")
HOP_KEYS = ("lambda", "final_loss", "mono_per_N", "dead_count", "barrier_to_b_rel", "barrier_to_a_rel", "landed",
            "loss_within_tol")
CBFT_KEYS = ("mono_before", "mono_after", "loss_before", "loss_after", "dead_before", "dead_after",
             "barrier_naive", "barrier_naive_rel", "barrier_aligned", "barrier_aligned_rel",
             "features_served_before", "features_served_after")


def _interpolation(r: dict) -> dict:
    keys = ("barrier_naive", "barrier_naive_rel", "barrier_aligned", "barrier_aligned_rel", "barrier_aligned_mean",
            "barrier_aligned_mean_rel", "endpoint_loss_a", "endpoint_loss_b")
    mid = len(r["alphas"]) // 2
    return {"a": Path(r["a"]).name, "b": Path(r["b"]).name, "method": r["method"], **{k: r[k] for k in keys},
            "mono_aligned_at_half": None if r["mono_aligned"] is None else r["mono_aligned"][mid],
            **{k: r[k] for k in ("alphas", "loss_naive", "loss_aligned", "mono_aligned")}}


def _seed_pairs(r: dict) -> list[dict]:
    """Pairs of a map's runs that differ only in the seed: their config, mean mono/N and barriers."""
    fields = r["differing_fields"]
    n, out = len(r["runs"]), []
    for i in range(n):
        for j in range(i + 1, n):
            a, b = r["runs"][i], r["runs"][j]
            if all(a[f] == b[f] for f in fields):
                out.append({"config": {f: a[f] for f in fields},
                            "mean_mono_per_N": (a["mono_per_N"] + b["mono_per_N"]) / 2,
                            "aligned_rel": r["aligned_rel"][i][j], "naive_rel": r["naive_rel"][i][j]})
    return out


def _pair_groups(r: dict) -> list[dict]:
    """A map's pairs grouped by what their two runs differ in (seed and the map's differing fields): how many
    and the range of the aligned and naive barriers, e.g. "seed" (seed siblings) vs "bias_init" (the same
    seed, so the same init and batches, under another recipe)."""
    fields = ["seed", *(f for f in r["differing_fields"] if f != "seed")]
    groups: dict[tuple, list] = {}
    n = len(r["runs"])
    for i in range(n):
        for j in range(i + 1, n):
            key = tuple(f for f in fields if r["runs"][i][f] != r["runs"][j][f])
            groups.setdefault(key, []).append((r["aligned_rel"][i][j], r["naive_rel"][i][j]))
    return [{"differ_in": list(k), "pairs": len(v), "aligned_rel_range": [min(x[0] for x in v), max(x[0] for x in v)],
             "naive_rel_range": [min(x[1] for x in v), max(x[1] for x in v)]} for k, v in sorted(groups.items())]


def _map(r: dict) -> dict:
    n = len(r["runs"])
    pairs = [{"a": r["runs"][i]["name"], "b": r["runs"][j]["name"], "aligned_rel": r["aligned_rel"][i][j],
              "naive_rel": r["naive_rel"][i][j]} for i in range(n) for j in range(i + 1, n)]
    return {"runs": [{k: x[k] for k in ("name", "mono_per_N", "dead_count", "final_loss")} for x in r["runs"]],
            "pairs": pairs, "basins_by_tol": r["basins_by_tol"],
            "basins": [{k: b[k] for k in ("size", "mono_per_N_range", "max_barrier_rel_within")} | {
                "members": [r["runs"][i]["name"] for i in b["members"]]} for b in r["basins"]],
            "seed_pairs": _seed_pairs(r), "pair_groups": _pair_groups(r), "points": r["points"],
            "eval_size": r["eval_size"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--script", default="docs/basins_experiments.sh", help="the script that made ROOT")
    a = ap.parse_args()
    out: dict = {"command": f"bash {a.script}; python docs/basins_tables.py {a.root} --json {a.json}",
                 "interpolations": {}, "curves": {}, "maps": {}, "missing": []}
    found = {d.name: d for d in sorted(a.root.iterdir()) if d.is_dir()}
    for name, d in found.items():
        if (d / "interpolation.json").exists():
            out["interpolations"][name] = _interpolation(json.loads((d / "interpolation.json").read_text()))
        elif (d / "curve.json").exists():
            r = json.loads((d / "curve.json").read_text())
            out["curves"][name] = {"a": Path(r["a"]).name, "b": Path(r["b"]).name, "steps": r["steps"],
                                   "line": r["line"], "curve": r["curve"],
                                   **{k: r.get(k) for k in ("t", "loss_line", "loss_curve", "mono_line", "mono_curve")}}
        elif (d / "map.json").exists():
            out["maps"][name] = _map(json.loads((d / "map.json").read_text()))
    out["hops"] = {name: [{k: x[k] for k in HOP_DIRECTION_KEYS} | {"rows": [{k: r[k] for k in HOP_KEYS} for r in x["rows"]]}
                          for x in json.loads((d / "hop.json").read_text())["directions"]]
                   for name, d in found.items() if (d / "hop.json").exists()}
    out["cbft"] = {name: {k: r.get(k) for k in CBFT_KEYS} for name, d in found.items() if (d / "cbft.json").exists()
                   for r in [json.loads((d / "cbft.json").read_text())]}
    out["missing"] = [n for n in EXPECTED.get(a.script, ()) if not any(
        (a.root / n / f).exists() for f in ("interpolation.json", "curve.json", "map.json", "hop.json", "cbft.json"))]
    a.json.write_text(json.dumps(out, indent=1) + "\n")
    for name, r in out["interpolations"].items():
        print(f"{name}: naive {r['barrier_naive']:.4f} ({100 * r['barrier_naive_rel']:.1f}%), aligned "
              f"{r['barrier_aligned']:.4f} ({100 * r['barrier_aligned_rel']:.1f}%), mean-referenced "
              f"{r['barrier_aligned_mean']:.4f}; losses {r['endpoint_loss_a']:.3f} / {r['endpoint_loss_b']:.3f}")
    for name, r in out["curves"].items():
        print(f"{name}: line {r['line']['barrier']:+.4f} ({100 * r['line']['barrier_rel']:.1f}%), curve "
              f"{r['curve']['barrier']:+.4f} ({100 * r['curve']['barrier_rel']:.1f}%), max {r['curve']['max']:.3f}")
    for name, r in out["maps"].items():
        rel = [p["aligned_rel"] for p in r["pairs"]]
        print(f"{name}: {len(r['runs'])} runs, aligned barriers {100 * min(rel):.1f}-{100 * max(rel):.1f}%, "
              "basins aligned/naive " + ", ".join(f"{100 * t['tol']:g}%: {t['basins']}/{t['basins_naive']}"
                                                  for t in r["basins_by_tol"]))
        for g in r["pair_groups"]:
            lo, hi = g["aligned_rel_range"]
            print(f"  differ in {' + '.join(g['differ_in']) or 'nothing'}: {g['pairs']} pairs, aligned "
                  f"{100 * lo:.1f}-{100 * hi:.1f}%, naive {100 * g['naive_rel_range'][0]:.1f}-"
                  f"{100 * g['naive_rel_range'][1]:.1f}%")
    for name, d in ((n, x) for n, xs in out["hops"].items() for x in xs):
        print(f"{name}  {Path(d['a']).name} -> {Path(d['b']).name}: smallest lambda landed {d['smallest_lambda_landed']}; "
              + "; ".join(f"{r['lambda']:g}: mono/N {r['mono_per_N']:.3f} loss {r['final_loss']:.3f} "
                          f"{100 * r['barrier_to_b_rel']:.0f}%/{100 * r['barrier_to_a_rel']:.0f}%" for r in d["rows"]))
    for name, r in out["cbft"].items():
        print(f"{name}: mono/N {r['mono_before']:.3f} -> {r['mono_after']:.3f}, loss {r['loss_before']:.3f} -> "
              f"{r['loss_after']:.3f}, dead {r['dead_after']}, barrier {r['barrier_aligned']:.3f} "
              f"({100 * r['barrier_aligned_rel']:.0f}%)")
    print("missing:", ", ".join(out["missing"]) or "none")


if __name__ == "__main__":
    main()
