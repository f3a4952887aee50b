"""Speed of the basins subsystem, against the goals of its issue:

1. weight matching of two trained k=4096 models under 0.2 s (score matrix + exact assignment);
2. a 33-point interpolation at most 1.5x the cost of 33 plain eval forwards (blended first layer);
3. a basin map over 24 runs (276 pairs) under a minute.

Ratios are taken inside one process with variants interleaved; absolute times are the median of rounds.
Usage: python benchmarks/basins_speed.py [--threads 2] [--rounds 3] [--k4096 DIR] [--map-runs DIR]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def timed(fn, repeat=1):
    t0 = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - t0) / repeat, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--k4096", default="runs/bench_k4096", help="a sweep dir holding two trained k=4096 runs")
    ap.add_argument("--map-runs", default="runs/repro/small_decay_2p14", help="a sweep dir with >= 24 runs of one task")
    ap.add_argument("--out", default="benchmarks/results_basins.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from basins.align import _assign, align, weight_score
    from basins.interpolate import path_losses
    from basins.map import barrier_matrix
    from models.evaluate import eval_loss
    from models.runs import is_finished, list_runs, load_run
    from models.tasks import eval_set

    big = [load_run(p) for p in list_runs(args.k4096) if is_finished(p)][:2]
    small = [load_run(p) for p in list_runs(args.map_runs) if is_finished(p)][:24]
    assert len(big) == 2 and len(small) == 24, (len(big), len(small))
    pa, pb = big[0].params, big[1].params

    res = {"threads": args.threads, "rounds": args.rounds, "k4096_runs": [str(r.path) for r in big],
           "map_runs": args.map_runs, "rows": []}
    for rnd in range(args.rounds):
        row = {}
        # 1. weight matching, k = 4096: the score matrix and the assignment separately
        row["match_score_s"], score = timed(lambda: weight_score(pa, pb))
        row["match_assign_s"], _ = timed(lambda: _assign(score))
        row["match_total_s"], _ = timed(lambda: align(pa, pb, "weight"))

        # 2. 33-point interpolation vs 33 plain eval forwards: k=256 on the full 2^16 eval set,
        #    k=4096 on 2^14 samples (the ratio is what counts; the full set takes minutes there)
        for name, (ra, rb), size in (("k256", (small[0], small[1]), 65536), ("k4096", tuple(big), 16384)):
            cfg = ra.config
            eval_set(cfg, "cpu", size)  # build the cached eval set outside the timings
            alphas = [i / 32 for i in range(33)]
            row[f"interp33_{name}_s"], _ = timed(lambda: path_losses(ra.params, rb.params, alphas,
                                                                   *eval_set(cfg, "cpu", size), cfg.nonlinearity))
            row[f"forward33_{name}_s"], _ = timed(lambda: [eval_loss(ra.params, cfg, size=size) for _ in range(33)])
            row[f"interp_over_forwards_{name}"] = row[f"interp33_{name}_s"] / row[f"forward33_{name}_s"]

        # 3. the map over 24 runs (276 pairs; 9 points, 2^14 eval samples: basins map's defaults)
        row["map24_s"], _ = timed(lambda: barrier_matrix(small, points=9, eval_size=16384))
        res["rows"].append(row)
        print(f"round {rnd}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)

    res["median"] = {k: statistics.median(r[k] for r in res["rows"]) for k in res["rows"][0]}
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res["median"], indent=1))


if __name__ == "__main__":
    main()
