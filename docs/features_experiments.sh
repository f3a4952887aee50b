#!/usr/bin/env bash
# The runs behind docs/features.md, all on the cpu-small task shape (N 128, d 32, eps 1/32, batch 1024,
# 2^13 steps), 3 seeds, fp32:
# - findings 1 and 3, fewer neurons than features on the decoder: k = N/8 .. 2N, uniform and power-law
#   frequencies, the monosemantic recipe (lr 0.03) and a polysemantic one (lr 0.003), bias 0; and the
#   power-law cells again at 2^14 steps (several had not converged at 2^13);
# - finding 2, the paper's effects on the reprojector and absolute-value tasks: (a) lr, (b) bias -1 with
#   decay 0.5 against bias 0 at each lr, (c) k = 32 .. 256 at lr 0.03 (docs/reproduction.md's design).
# Then the tables.
#   bash docs/features_experiments.sh           # 60 + 30 + 54 runs, ~55 min on 2 cores
set -euo pipefail
OUT=${OUT:-runs/features}
W=${WORKERS:-2}
M=".venv/bin/models sweep --preset cpu-small --seeds 0,1,2 --workers $W"
$M --bias-init 0 --grid k=16,32,64,128,256 --grid freq=uniform,power_law --grid lr=0.03,0.003 \
    --out $OUT/decoder_k_freq
$M --bias-init 0 --freq power_law --steps 16384 --grid k=16,32,64,128,256 --grid lr=0.03,0.003 \
    --out $OUT/decoder_power_law_2p14
for t in reprojector abs; do
  $M --task $t --grid lr=0.003,0.01,0.03 --zip bias_init=0,-1 --zip bias_decay=0,0.5 --out $OUT/${t}_lr_bias
  $M --task $t --bias-init 0 --lr 0.03 --grid k=32,64,128 --out $OUT/${t}_k
done
.venv/bin/python docs/features_tables.py $OUT/decoder_k_freq --json docs/features_decoder.json
.venv/bin/python docs/features_tables.py $OUT/decoder_power_law_2p14 --json docs/features_decoder_2p14.json --no-figures
.venv/bin/python docs/features_tasks_table.py $OUT --json docs/features_tasks.json
