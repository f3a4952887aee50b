#!/usr/bin/env bash
# The two ends of the bias axis at the paper shape (docs/basins.md, section 8, "the bias screen"): one seed
# each of LAMB lr 0.01 with the mean bias offset -1 (the paper's lever toward monosemanticity: a candidate
# for the highly monosemantic start by recipe) and +3 (past the screen's +1, which delayed but did not stop
# monosemanticity: a candidate for a converged polysemantic start). 2^15 steps at batch 1024, fp32 (this
# session's CPU had no bf16 units), two workers of one thread each: ~35 min a sweep on a 2-core AVX2 CPU
# (15.7-21.9 steps/s a run).
#   bash docs/paper_bias_screen.sh
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
P=${OUT:-runs/paper}
S=".venv/bin/models sweep --preset cpu --precision fp32 --seeds 0 --steps 32768 --workers 2 --grid lr=0.01"
$S --grid bias_init=-1,3 --out $P/screen_bias_ends
# -1 without decay kills nearly every neuron (1002 of 1024 dead at the end): the milder offsets, same recipe
$S --grid bias_init=-0.3,-0.1 --out $P/screen_bias_neg
.venv/bin/python docs/paper_shape_tables.py $P/screen_bias_ends $P/screen_bias_neg \
    --script docs/paper_bias_screen.sh \
    --json docs/paper_bias_screen.json --figure paper_bias_screen.png \
    --title "Bias screen: LAMB lr 0.01, bias offsets -1 to +3"
