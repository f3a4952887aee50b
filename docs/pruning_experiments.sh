#!/usr/bin/env bash
# The runs behind docs/pruning.md: every command that makes its numbers and figures.
#
#   JOBS=16 bash docs/pruning_experiments.sh          # the findings at 2^13 steps (cpu-small, seeds 0 1 2)
#   JOBS=2 STEPS=2048 DEVICE=cpu bash docs/pruning_experiments.sh    # what docs/pruning.md ran (2^11 steps,
#                                                       # 33 min on 2 cores; 391 s on a lent 16-core VM)
#   PRESET=tiny STEPS=512 ROUNDS=3 SEEDS=0 K_NARROW=32 ROOT=/tmp/prune_smoke FIG=/tmp/prune_smoke/fig \
#       JOBS=1 bash docs/pruning_experiments.sh         # the smoke version: every command, ~7 minutes
#   PRESET=cpu STEPS=32768 PRECISION=bf16 LR_MONO=0.01 K_NARROW=256 ROOT=runs/paper/pruning \
#       FIG=docs/figures/paper JOBS=16 bash docs/pruning_experiments.sh   # the paper shape (issue 15), with
#       # the starts of docs/paper_shape_experiments.sh copied to runs/paper/pruning/dense first (not run:
#       # ~65 CPU-hours; docs/pruning_paper_experiments.sh is the one-seed cut of it that was run)
#
# Every step skips what is finished (models sweep skips finished cells, prune imp finished levels,
# prune grow a finished run), so a killed script simply runs again. JOBS commands run at once
# (xargs -P), each on one torch thread.
#
# Starts (docs/reproduction.md, cpu-small = N 128, d 32, k 256, eps 1/32, batch 1024, 2^13 steps):
#   monosemantic start: --lr 0.03  --bias-init 0  (mono/N ~0.47 there)
#   polysemantic start: --lr 0.003 --bias-init 0  (mono/N ~0.04)
# IMP: 10 rounds at rate 0.2 per layer (scope layer), rewound to init, so level r keeps exactly
#   round(n (1 - 0.2)^r) of each layer (10.7% after 10 rounds). No --rate-out: Frankle & Carbin pruned
#   the output layer of LeNet-300-100 at half the rate because it was tiny (1,000 of 266,000 weights)
#   and every output connection mattered; here W2 (N x k = 32,768) holds 80% of the prunable weights and
#   W1 (k x d = 8,192) is the small layer, so neither plays that role, and one rate keeps both layers on
#   the same law, which the random-mask control then matches by construction.
# Controls follow each IMP: reinit (the ticket's mask, a fresh init), random-mask (a random mask with
#   the ticket's per-layer counts, the same rewound init).
# Prune-and-grow: SET, RigL and static at sparsity 0.8, 0.9, 0.95, uniform layer densities, RigL
#   defaults (update every 100 steps, alpha 0.3 cosine-decayed, no updates after 75% of training).
# Equal non-zero weights: k=256 at 75% sparsity (RigL and static) against dense k=64: both have
#   0.25 * (256*32 + 128*256) = 64*32 + 128*64 = 10,240 non-zero weights.
#
# Cost: a cpu-small run of 2^13 steps takes ~50 s on one thread of this 2-core CPU (docs/reproduction.md)
# and ~40 s on the 16-core Xeon VM lent to this task, where one IMP level measured 1.04x a dense run and
# a RigL run 0.98x a static one (benchmarks/README.md); a k=64 run costs ~0.4 of a k=256 one. Runs: 6
# dense starts, 60 IMP levels, 120 control levels, 54 grow runs, 12 wide sparse runs and 6 narrow dense
# ones: ~255 run-equivalents, ~3.5 CPU-hours, plus ~80 command start-ups (~3 s each). Wall time with
# JOBS=16: ~25 minutes (critical path: an IMP chain of 10 levels, then a control chain of 10, ~8
# minutes each, plus the sweeps, tracking and plots). With JOBS=2: ~2 hours. The smoke version above
# took 7 minutes with JOBS=1 here (and ~4 minutes for two seeds with JOBS=16 on the lent VM).
set -euo pipefail

JOBS=${JOBS:-2}
PRESET=${PRESET:-cpu-small}
STEPS=${STEPS:-8192}
ROUNDS=${ROUNDS:-10}
SEEDS=${SEEDS:-"0 1 2"}
K_NARROW=${K_NARROW:-64}   # a quarter of the preset's k: same non-zero weights as the preset's k at 75%
DEVICE=${DEVICE:-auto}      # cpu to keep a lent GPU machine's jobs on its cores
PRECISION=${PRECISION:-fp32}
ROOT=${ROOT:-runs/pruning}
FIG=${FIG:-docs/figures}
BIN=${BIN:-$(dirname "$(command -v prune || echo .venv/bin/prune)")}
MODELS="$BIN/models"
PRUNE="$BIN/prune"
Q="--threads 1 --quiet"
declare -A LR=([mono]=${LR_MONO:-0.03} [poly]=${LR_POLY:-0.003})
SEEDLIST=$(echo "$SEEDS" | tr ' ' ',')
mkdir -p "$ROOT" "$FIG"

parallel() { xargs -P "$JOBS" -I{} bash -c '{}'; }  # one command per input line

# 1. Dense starts (both lrs, every seed) and the narrow dense models, as sweeps.
"$MODELS" sweep --preset "$PRESET" --steps "$STEPS" --bias-init 0 --grid lr=${LR[mono]},${LR[poly]} --seeds "$SEEDLIST" \
    --workers "$JOBS" --out "$ROOT/dense" --device "$DEVICE" --precision "$PRECISION"
"$MODELS" sweep --preset "$PRESET" --steps "$STEPS" --bias-init 0 --k "$K_NARROW" --grid lr=${LR[mono]},${LR[poly]} \
    --seeds "$SEEDLIST" --workers "$JOBS" --out "$ROOT/narrow" --device "$DEVICE" --precision "$PRECISION"

# 2. IMP from every dense start, and every sparse-from-scratch run (independent of IMP), in one pool.
{
  for start in mono poly; do for s in $SEEDS; do
    echo "$PRUNE imp $ROOT/dense/lr=${LR[$start]}__seed=$s --rounds $ROUNDS --rate 0.2 --scope layer --rewind init --out $ROOT/imp/${start}_s$s $Q"
  done; done
  for start in mono poly; do for s in $SEEDS; do for method in rigl set static; do for sp in 0.8 0.9 0.95; do
    echo "$PRUNE grow --method $method --sparsity $sp --preset $PRESET --steps $STEPS --lr ${LR[$start]} --bias-init 0 --seed $s --device $DEVICE --precision $PRECISION --out $ROOT/grow/${start}_${method}_sp${sp}_s$s $Q"
  done; done; done; done
  for start in mono poly; do for s in $SEEDS; do for method in rigl static; do
    echo "$PRUNE grow --method $method --sparsity 0.75 --preset $PRESET --steps $STEPS --lr ${LR[$start]} --bias-init 0 --seed $s --device $DEVICE --precision $PRECISION --out $ROOT/wide/${start}_${method}_sp0.75_s$s $Q"
  done; done; done
} | parallel

# 3. The controls of every IMP (they need its finished levels).
{
  for start in mono poly; do for s in $SEEDS; do for control in reinit random-mask; do
    echo "$PRUNE imp --control $control --ticket $ROOT/imp/${start}_s$s --rounds $ROUNDS --out $ROOT/$control/${start}_s$s $Q"
  done; done; done
} | parallel

# 4. Per-neuron tracking of every IMP and control directory.
for d in "$ROOT"/imp/* "$ROOT"/reinit/* "$ROOT"/random-mask/*; do
  echo "$PRUNE neurons $d > $d/neurons.txt"
done | parallel
for start in mono poly; do
  cp "$ROOT/imp/${start}_s0/neurons.png" "$FIG/pruning_neurons_${start}_s0.png"
done

# 5. The comparisons (each writes FILE.png and FILE.json).
for start in mono poly; do
  # Finding 1: is there a ticket, and is it more or less monosemantic than the dense model?
  "$PRUNE" compare "$ROOT"/imp/${start}_s* "$ROOT"/reinit/${start}_s* "$ROOT"/random-mask/${start}_s* \
      --title "IMP vs its controls, ${start}semantic start (lr ${LR[$start]})" --out "$FIG/pruning_imp_${start}.png"
  # Finding 3: prune-and-grow against the static mask (IMP shown for reference)
  "$PRUNE" compare "$ROOT"/grow/${start}_* "$ROOT"/imp/${start}_s* \
      --title "SET and RigL vs a static mask, ${start}semantic start (lr ${LR[$start]})" \
      --out "$FIG/pruning_grow_${start}.png"
  # Finding 3b: at equal non-zero weights, wider and sparser vs narrower and dense
  "$PRUNE" compare "$ROOT"/wide/${start}_* "$ROOT"/narrow/lr=${LR[$start]}__seed=* "$ROOT"/dense/lr=${LR[$start]}__seed=* \
      --x count --title "wide sparse vs narrow dense at equal non-zero weights, ${start}semantic start" \
      --out "$FIG/pruning_width_${start}.png"
done
echo "done: figures and their JSON in $FIG/pruning_*; runs in $ROOT"
