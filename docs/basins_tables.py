"""The small summary behind docs/basins.md's tables, read from the result dirs that basins_experiments.sh
writes (runs/basins/...): per interpolation its endpoint losses and barriers, per curve its line and curve
statistics, per map its runs' mono/N, every aligned pair barrier and the basin counts per tolerance.
Whatever has not been run is listed under "missing".

    python docs/basins_tables.py runs/basins --json docs/basins_small.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

INTERPOLATIONS = ("seeds_mono", "seeds_poly", "mono_poly", "mono_poly_act", "bias_pair")
CURVES = ("curve_poly_seeds", "curve_mono_poly")
MAPS = ("map_lr_bias_batch", "map_decay_2p14", "width_k32", "width_k64", "width_k128", "width_k256")
OTHERS = ("hop_mono_poly", "cbft_poly_s0", "cbft_poly_s1", "cbft_poly_s2", "cbft_mono_s0")


def _interpolation(r: dict) -> dict:
    keys = ("barrier_naive", "barrier_naive_rel", "barrier_aligned", "barrier_aligned_rel", "barrier_aligned_mean",
            "barrier_aligned_mean_rel", "endpoint_loss_a", "endpoint_loss_b")
    mid = len(r["alphas"]) // 2
    return {"a": Path(r["a"]).name, "b": Path(r["b"]).name, "method": r["method"], **{k: r[k] for k in keys},
            "mono_aligned_at_half": None if r["mono_aligned"] is None else r["mono_aligned"][mid]}


def _map(r: dict) -> dict:
    n = len(r["runs"])
    pairs = [{"a": r["runs"][i]["name"], "b": r["runs"][j]["name"], "aligned_rel": r["aligned_rel"][i][j],
              "naive_rel": r["naive_rel"][i][j]} for i in range(n) for j in range(i + 1, n)]
    return {"runs": [{k: x[k] for k in ("name", "mono_per_N", "dead_count", "final_loss")} for x in r["runs"]],
            "pairs": pairs, "basins_by_tol": r["basins_by_tol"],
            "basins": [{k: b[k] for k in ("size", "mono_per_N_range", "max_barrier_rel_within")} | {
                "members": [r["runs"][i]["name"] for i in b["members"]]} for b in r["basins"]],
            "points": r["points"], "eval_size": r["eval_size"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--json", type=Path, required=True)
    a = ap.parse_args()
    out: dict = {"command": "bash docs/basins_experiments.sh; python docs/basins_tables.py runs/basins --json "
                            "docs/basins_small.json", "interpolations": {}, "curves": {}, "maps": {}, "missing": []}
    for name in INTERPOLATIONS:
        p = a.root / name / "interpolation.json"
        if p.exists():
            out["interpolations"][name] = _interpolation(json.loads(p.read_text()))
        else:
            out["missing"].append(name)
    for name in CURVES:
        p = a.root / name / "curve.json"
        if p.exists():
            r = json.loads(p.read_text())
            out["curves"][name] = {"a": Path(r["a"]).name, "b": Path(r["b"]).name, "steps": r["steps"],
                                   "line": r["line"], "curve": r["curve"]}
        else:
            out["missing"].append(name)
    for name in MAPS:
        p = a.root / name / "map.json"
        if p.exists():
            out["maps"][name] = _map(json.loads(p.read_text()))
        else:
            out["missing"].append(name)
    out["missing"] += [n for n in OTHERS if not (a.root / n).is_dir()]
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
    print("missing:", ", ".join(out["missing"]) or "none")


if __name__ == "__main__":
    main()
