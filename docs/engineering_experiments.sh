#!/usr/bin/env bash
# The runs behind docs/engineering.md: bias decay modes (fixed, per-neuron, adaptive) against bias 0, the
# decay-constant sensitivity, and the L1 route, on one reproduction shape, 3 seeds, 2^13 steps, fp32
# (bf16 fidelity does not hold on every cell: docs/reproduction.md). Then the tables' JSON.
#   bash docs/engineering_experiments.sh                 # small (cpu-small), 144 runs, ~55 min on 2 cores
#   SHAPE=medium bash docs/engineering_experiments.sh    # medium (cpu-medium), ~4x the time
# Every sweep skips its finished cells, so a killed script simply runs again.
set -euo pipefail
OUT=${OUT:-runs/engineering}
W=${WORKERS:-2}
SHAPE=${SHAPE:-small}
M=".venv/bin/models sweep --preset cpu-$SHAPE --seeds 0,1,2 --workers $W"
# 1. effect (b) per mode: bias -1 with each decay constant and mode, against bias 0 (no decay), at each lr
$M --bias-init 0 --bias-decay 0 --grid lr=0.003,0.01,0.03 --out $OUT/${SHAPE}_bias0
$M --bias-init -1 --grid lr=0.003,0.01,0.03 --grid bias_decay=0.03,0.1,0.5 \
    --grid bias_decay_mode=fixed,per-neuron,adaptive --out $OUT/${SHAPE}_modes
# 2. sensitivity to the decay constant at lr 0.01 (0.03, 0.1 and 0.5 are in the sweep above)
$M --bias-init -1 --lr 0.01 --grid bias_decay=0.01,0.3,1 --grid bias_decay_mode=fixed,per-neuron,adaptive \
    --out $OUT/${SHAPE}_sensitivity
# 4. the L1 activation penalty at bias 0, no decay, on the same lrs
$M --bias-init 0 --bias-decay 0 --grid lr=0.003,0.01,0.03 --grid l1=0.0001,0.001,0.01 --out $OUT/${SHAPE}_l1
.venv/bin/python docs/engineering_tables.py $OUT --shape $SHAPE --json docs/engineering_$SHAPE.json
