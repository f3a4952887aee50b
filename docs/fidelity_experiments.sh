#!/usr/bin/env bash
# bf16 against fp32 on the reproduction cells of one shape (docs/reproduction.md, effects a, b, c), 3 seeds
# each; then the comparison table (docs/fidelity_SHAPE.json). Run from the repository root:
#   bash docs/fidelity_experiments.sh                 # small (cpu-small) + one paper-shape cell, ~50 min
#   SHAPE=medium bash docs/fidelity_experiments.sh    # medium (cpu-medium), ~60 min
set -euo pipefail
OUT=${OUT:-runs/fidelity}
W=${WORKERS:-2}
SHAPE=${SHAPE:-small}
if [ "$SHAPE" = small ]; then WIDTHS=32,64,128; else WIDTHS=64,128,256; fi
for p in fp32 bf16; do
  .venv/bin/models sweep --preset cpu-$SHAPE --precision $p --grid lr=0.003,0.01,0.03 --zip bias_init=0,-1 \
      --zip bias_decay=0,0.5 --seeds 0,1,2 --workers $W --out $OUT/${SHAPE}_lr_bias_$p
  .venv/bin/models sweep --preset cpu-$SHAPE --precision $p --lr 0.03 --grid k=$WIDTHS --seeds 0,1,2 \
      --workers $W --out $OUT/${SHAPE}_k_$p
done
if [ "$SHAPE" = small ]; then
  # one cell at the paper shape (N 512, d 64, k 1024; batch 1024, 2^13 steps, lr 0.01, bias 0), both precisions
  .venv/bin/models sweep --preset cpu --lr 0.01 --grid precision=fp32,bf16 --seeds 0,1,2 --workers $W \
      --out $OUT/paper_shape_lr0.01
fi
.venv/bin/python docs/fidelity_table.py $OUT --shape $SHAPE --json docs/fidelity_$SHAPE.json
