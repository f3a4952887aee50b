"""The table behind docs/basins.md's "STE matching and REPAIR" section: per pair, the relative Entezari
barrier naive, after weight matching, after STE matching, and each after REPAIR, plus mono/N at alpha 0.5.

    python docs/basins_ste_repair.py runs/ste_repair --json docs/basins_ste_repair.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

PAIRS = {"seeds_mono": "mono seeds (lr 0.03, seed 0 vs 1)", "seeds_poly": "poly seeds (lr 0.003, seed 0 vs 1)",
         "mono_poly": "mono vs poly (seed 0)"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--json", type=Path, required=True)
    a = ap.parse_args()
    rows = []
    for key, label in PAIRS.items():
        row = {"pair": label}
        for method in ("weight", "ste"):
            r = json.loads((a.root / f"{key}_{method}" / "interpolation.json").read_text())
            mid = len(r["alphas"]) // 2
            row["naive"] = r["barrier_naive_rel"]
            row[method] = r["barrier_aligned_rel"]
            row[f"{method}+repair"] = r["barrier_repaired_rel"]
            row[f"mono_mid_{method}"] = r["mono_aligned"][mid]
            row[f"mono_mid_{method}+repair"] = r["mono_repaired"][mid]
            row["mono_ends"] = [r["mono_naive"][0], r["mono_naive"][-1]]
            if method == "ste":
                row["ste_probe_loss"] = [r["alignment"]["objective_before"], r["alignment"]["objective_after"]]
        rows.append(row)
    planes = {}
    for name in ("plane_poly_seeds", "plane_mono_poly_mono"):
        p = json.loads((a.root / name / "plane.json").read_text())
        j = min(range(len(p["xs"])), key=lambda j: abs(p["xs"][j] - p["points"]["B"]["x"] / 2))
        column = [row[j] for row in p["loss"]]  # the grid column nearest the perpendicular bisector of A-B
        i = min(range(len(column)), key=column.__getitem__)
        planes[name] = {"c": p["c"], "points": p["points"], "max_loss": max(map(max, p["loss"])),
                        "min_loss": min(map(min, p["loss"])),
                        "bisector_min": {"x": p["xs"][j], "y": p["ys"][i], "loss": column[i]}}
    a.json.write_text(json.dumps({"command": "bash docs/basins_ste_repair.sh", "barrier": "barrier_rel (Entezari, "
                                  "relative to the endpoints' mean loss)", "rows": rows, "planes": planes}, indent=1) + "\n")
    print("| pair | naive | weight | weight + REPAIR | STE | STE + REPAIR | mono/N at 0.5: weight / + REPAIR |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pair']} | {100 * r['naive']:.1f}% | {100 * r['weight']:.1f}% | {100 * r['weight+repair']:.1f}% | "
              f"{100 * r['ste']:.1f}% | {100 * r['ste+repair']:.1f}% | {r['mono_mid_weight']:.3f} / "
              f"{r['mono_mid_weight+repair']:.3f} |")


if __name__ == "__main__":
    main()
