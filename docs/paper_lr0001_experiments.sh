#!/usr/bin/env bash
# The lr 0.001 screen of docs/paper_part_4x_experiments.sh (LAMB, bias 0, one seed: mono/N 0.04 at 2^16 steps,
# loss still falling) extended to 2^17 steps: does the lower rate settle polysemantic (mono/N <= 0.1)?
#   bash docs/paper_lr0001_experiments.sh     # ~40 min on one core here
set -euo pipefail
export OMP_NUM_THREADS=1
P=${OUT:-runs/paper}
STEPS=${STEPS:-32768}   # smaller only for a smoke test (then also OUT, FIG, JSON)
FIG=${FIG:-docs/figures}; JSON=${JSON:-docs}
mkdir -p "$FIG" "$JSON"
run=$P/screen_lr0001/lr=0.001__seed=0; ext=$P/screen_lr0001_2x/lr=0.001__seed=0
[ -f $ext/summary.json ] || .venv/bin/models extend $run --steps $((4 * STEPS)) --threads 1 --quiet --out $ext
.venv/bin/python docs/paper_shape_tables.py $P/part_4x/*/ $run $ext --script docs/paper_lr0001_experiments.sh \
    --json $JSON/paper_lr0001.json --figure "$(cd "$FIG" && pwd)/paper_lr0001.png" \
    --title "Paper shape: LAMB lr 0.001 to 2^17 steps (one seed), against lr 0.003 at 2^17"
