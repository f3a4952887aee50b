#!/usr/bin/env bash
# bf16 against fp32 on the reproduction cells of the small shape (docs/reproduction.md, effects a, b, c),
# 3 seeds each; then the comparison table (docs/fidelity_small.json). Run from the repository root.
set -euo pipefail
OUT=${OUT:-runs/fidelity}
W=${WORKERS:-2}
for p in fp32 bf16; do
  .venv/bin/models sweep --preset cpu-small --precision $p --grid lr=0.003,0.01,0.03 --zip bias_init=0,-1 \
      --zip bias_decay=0,0.5 --seeds 0,1,2 --workers $W --out $OUT/small_lr_bias_$p
  .venv/bin/models sweep --preset cpu-small --precision $p --lr 0.03 --grid k=32,64,128 --seeds 0,1,2 \
      --workers $W --out $OUT/small_k_$p
done
.venv/bin/python docs/fidelity_table.py $OUT --json docs/fidelity_small.json
# one cell at the paper shape (N 512, d 64, k 1024; batch 1024, 2^13 steps, lr 0.01, bias 0), both precisions
.venv/bin/models sweep --preset cpu --lr 0.01 --grid precision=fp32,bf16 --seeds 0,1,2 --workers $W \
    --out $OUT/paper_shape_lr0.01
