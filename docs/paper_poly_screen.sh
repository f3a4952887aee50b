#!/usr/bin/env bash
# A screen for a converged polysemantic start at the paper shape (docs/basins.md, section 8, "the
# polysemantic-start screen"): one seed each of recipes other than the LAMB bias-0 lrs of
# docs/paper_shape_experiments.sh, 2^15 steps at batch 1024, fp32 (this session's CPU had no bf16 units).
#   bash docs/paper_poly_screen.sh       # 2 runs side by side, one thread each
#   bias +1 at lr 0.01 (the paper's bias axis, positive end), LAMB
#   Adam at lr 0.001, bias 0 (the optimizer the post says the results are sensitive to)
# then the bias +1 run, still becoming monosemantic at 2^15, extended to 2^16 (`models extend`: equal to a
# 2^16-step run). Run times on this 2-core AVX2 CPU (fp32, ~9 steps/s a run): 64 min, then 55 min.
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=${OUT:-runs/paper}
M=".venv/bin/models sweep --preset cpu --precision fp32 --seeds 0 --steps 32768 --workers 1"
$M --bias-init 1 --grid lr=0.01 --out $P/screen_bias1 &
$M --optimizer adam --bias-init 0 --grid lr=0.001 --out $P/screen_adam &
wait
E=$P/screen_bias1_2p16/lr=0.01__seed=0
[ -f $E/summary.json ] || .venv/bin/models extend $P/screen_bias1/lr=0.01__seed=0 --steps 65536 --out $E \
    --threads 1 --quiet
.venv/bin/python docs/paper_shape_tables.py $P/screen_bias1 $P/screen_adam $E --script docs/paper_poly_screen.sh \
    --json docs/paper_poly_screen.json --figure paper_poly_screen.png --title "Polysemantic-start screen"
