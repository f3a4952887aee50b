"""bf16 against fp32 on the reproduction cells: per cell the 3-seed means and ranges of the monosemantic
count, the dead count and the eval loss in both precisions, whether bf16 is within the acceptance bounds
(mono and dead: max(10%, 3 neurons) of fp32's mean; loss: 1%), and each effect's verdict in each precision.

    python docs/fidelity_table.py runs/fidelity --json docs/fidelity_small.json
    python docs/fidelity_table.py runs/fidelity --shape medium --json docs/fidelity_medium.json

reads OUT/SHAPE_lr_bias_{fp32,bf16} and OUT/SHAPE_k_{fp32,bf16} (docs/fidelity_experiments.sh) and prints
the markdown table that docs/reproduction.md shows.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.sweep import load_sweep

FIELDS = ("mono_count", "dead_count", "final_loss", "mono_per_N")


def cells(sweep_dir: Path) -> dict[tuple, dict]:
    """Per cell (its swept values), mean / min / max over seeds of FIELDS."""
    sw = load_sweep(sweep_dir)
    groups: dict[tuple, list[dict]] = {}
    for r in sw["cells"]:
        if r.get("state") == "finished":
            groups.setdefault(tuple((a, r[a]) for a in sw["axes"]), []).append(r)
    out = {}
    for key, rows in groups.items():
        out[key] = {"seeds": len(rows), **{f: {"mean": sum(r[f] for r in rows) / len(rows),
                                               "min": min(r[f] for r in rows), "max": max(r[f] for r in rows)}
                                           for f in FIELDS}}
    return out


def within(a: dict, b: dict) -> dict:
    """bf16 (b) against fp32 (a): the acceptance bounds of the precision issue."""
    def count_ok(f):
        return abs(b[f]["mean"] - a[f]["mean"]) <= max(0.10 * a[f]["mean"], 3)
    return {"mono": count_ok("mono_count"), "dead": count_ok("dead_count"),
            "loss": abs(b["final_loss"]["mean"] - a["final_loss"]["mean"]) <= 0.01 * a["final_loss"]["mean"]}


def effect(hi: dict, lo: dict, loss_bound: float | None) -> str:
    """'holds' when hi's mono/N seed range lies above lo's (disjoint) and, with a bound, hi's mean loss is
    at most (1 + bound) x lo's; 'reversed' when the ranges are disjoint the other way; else 'no clear effect'."""
    m_hi, m_lo = hi["mono_per_N"], lo["mono_per_N"]
    if m_hi["min"] > m_lo["max"]:
        if loss_bound is not None and hi["final_loss"]["mean"] > (1 + loss_bound) * lo["final_loss"]["mean"]:
            return "more monosemantic, loss above the bound"
        return "holds"
    if m_hi["max"] < m_lo["min"]:
        return "reversed"
    return "no clear effect"


SHAPES = {"small": ("cpu-small (N 128, d 32, k 256 unless swept)", (32, 64, 128)),
          "medium": ("cpu-medium (N 256, d 32, k 512 unless swept)", (64, 128, 256))}


def verdicts(lr_bias: dict, k: dict, widths: tuple[int, ...]) -> dict:
    def at(lr, bias):
        return lr_bias[(("lr", lr), ("bias_init", bias), ("bias_decay", 0.5 if bias else 0.0))]
    out = {"a: lr 0.03 vs 0.003 at bias 0": effect(at(0.03, 0.0), at(0.003, 0.0), 0.05)}
    for lr in (0.003, 0.01, 0.03):
        out[f"b: bias -1 vs 0 at lr {lr:g}"] = effect(at(lr, -1.0), at(lr, 0.0), 0.05)
    ladder = [k[(("k", w),)] for w in widths] + [at(0.03, 0.0)]
    steps = [effect(b, a, None) for a, b in zip(ladder, ladder[1:])]
    name = " -> ".join(str(w) for w in (*widths, 2 * widths[-1]))
    out[f"c: k {name} at lr 0.03"] = "holds" if all(s == "holds" for s in steps) else \
        "; ".join(f"{w}->{2 * w}: {s}" for w, s in zip(widths, steps))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="small")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    shape, widths = SHAPES[args.shape]
    data = {p: {"lr_bias": cells(args.out / f"{args.shape}_lr_bias_{p}"), "k": cells(args.out / f"{args.shape}_k_{p}")}
            for p in ("fp32", "bf16")}
    rows = []
    for part in ("lr_bias", "k"):
        for key, a in data["fp32"][part].items():
            b = data["bf16"][part][key]
            rows.append({"cell": dict(key), "fp32": a, "bf16": b, "within": within(a, b)})
    paper = args.out / "paper_shape_lr0.01"
    if args.shape == "small" and (paper / "sweep.json").exists():
        by = cells(paper)
        a, b = by[(("precision", "fp32"),)], by[(("precision", "bf16"),)]
        rows.append({"cell": {"paper shape (N 512, k 1024), lr": 0.01}, "fp32": a, "bf16": b, "within": within(a, b)})
    record = {"shape": f"{shape}, 2^13 steps, batch 1024, 3 seeds" + (
                       "; and one paper-shape cell (preset cpu: N 512, d 64, k 1024, eps 1/64) at lr 0.01, bias 0"
                       if args.shape == "small" else ""),
              "bounds": "mono and dead: |bf16 mean - fp32 mean| <= max(10% of fp32's, 3 neurons); loss: 1%",
              "rows": rows, "verdicts": {p: verdicts(data[p]["lr_bias"], data[p]["k"], widths) for p in data},
              "command": f"SHAPE={args.shape} bash docs/fidelity_experiments.sh"}
    args.json.write_text(json.dumps(record, indent=1) + "\n")

    def fmt(c, f, spec):
        return f"{c[f]['mean']:{spec}} [{c[f]['min']:{spec}}, {c[f]['max']:{spec}}]"
    print("| cell | mono fp32 | mono bf16 | dead fp32 | dead bf16 | loss fp32 | loss bf16 | within |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        name = ", ".join(f"{k}={v:g}" for k, v in r["cell"].items())
        ok = "yes" if all(r["within"].values()) else "no: " + ", ".join(k for k, v in r["within"].items() if not v)
        print(f"| {name} | {fmt(r['fp32'], 'mono_count', '.1f')} | {fmt(r['bf16'], 'mono_count', '.1f')} | "
              f"{fmt(r['fp32'], 'dead_count', '.1f')} | {fmt(r['bf16'], 'dead_count', '.1f')} | "
              f"{fmt(r['fp32'], 'final_loss', '.4f')} | {fmt(r['bf16'], 'final_loss', '.4f')} | {ok} |")
    print("\n| effect | fp32 | bf16 |\n|---|---|---|")
    for name in record["verdicts"]["fp32"]:
        print(f"| {name} | {record['verdicts']['fp32'][name]} | {record['verdicts']['bf16'][name]} |")


if __name__ == "__main__":
    main()
