#!/usr/bin/env bash
# The runs behind docs/features.md finding 1 and 3: fewer neurons than features on the decoder. cpu-small
# task (N 128, d 32, eps 1/32, batch 1024, 2^13 steps), k = N/8 .. 2N, uniform and power-law frequencies,
# the monosemantic recipe (lr 0.03) and a polysemantic one (lr 0.003), bias 0, 3 seeds, fp32. Then the
# per-feature tables (every run's final weights and its log2-spaced checkpoints).
#   bash docs/features_experiments.sh           # 60 runs, ~15 min on 2 cores
set -euo pipefail
OUT=${OUT:-runs/features}
W=${WORKERS:-2}
.venv/bin/models sweep --preset cpu-small --bias-init 0 --grid k=16,32,64,128,256 --grid freq=uniform,power_law \
    --grid lr=0.03,0.003 --seeds 0,1,2 --workers $W --out $OUT/decoder_k_freq
.venv/bin/python docs/features_tables.py $OUT/decoder_k_freq --json docs/features_decoder.json
