#!/usr/bin/env bash
# A check of docs/pruning.md's finding 1 at the reproduction's budget (2^13 steps per level), seed 0 only:
# IMP and both controls from the 2^13 reproduction runs (runs/repro/small_lr_bias), two chains at a time.
# About 30 minutes on this 2-core CPU.
set -euo pipefail
P=${PRUNE:-.venv/bin/prune}
S=runs/repro/small_lr_bias
O=runs/pruning_2p13
Q="--threads 1 --quiet"
$P imp "$S/lr=0.03__bias_init=0__bias_decay=0__seed=0" --rounds 10 --rate 0.2 --scope layer --rewind init --out $O/imp/mono_s0 $Q &
$P imp "$S/lr=0.003__bias_init=0__bias_decay=0__seed=0" --rounds 10 --rate 0.2 --scope layer --rewind init --out $O/imp/poly_s0 $Q &
wait
for start in mono poly; do
  $P imp --control reinit --ticket $O/imp/${start}_s0 --rounds 10 --out $O/reinit/${start}_s0 $Q &
  $P imp --control random-mask --ticket $O/imp/${start}_s0 --rounds 10 --out $O/random-mask/${start}_s0 $Q &
  wait
done
for start in mono poly; do
  $P compare $O/imp/${start}_s0 $O/reinit/${start}_s0 $O/random-mask/${start}_s0 \
      --title "IMP vs its controls at 2^13 steps per level, ${start}semantic start, seed 0" \
      --out docs/figures/pruning_imp_${start}_2p13.png
done
