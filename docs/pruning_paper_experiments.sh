#!/usr/bin/env bash
# The paper-shape runs behind the "paper shape" section of docs/pruning.md, sized to what 2 CPU cores ran
# in two sessions (docs/pruning_experiments.sh with PRESET=cpu runs the full design: ~65 CPU-hours).
#   bash docs/pruning_paper_experiments.sh     # two chains at once, one torch thread each: ~4 h here
# Shape: preset cpu (N 512, d 64, k 1024, eps 1/64, batch 1024), bf16, bias 0, 2^15 steps per run (17-25
# min on one thread here), from the converged monosemantic start of docs/basins.md (lr 0.01, mono/N 1.01),
# seed 0 (the same run, bitwise: eval loss 0.8985083624720573, 519 mono neurons).
# What the full design has and this does not (docs/pruning.md lists each cut):
#   IMP: 2 rounds at rate 0.65 (35%, then 12.25% of each layer left) instead of 10 at rate 0.2 (10.7%);
#        one seed; no IMP from a polysemantic start (no converged one exists at this shape, docs/basins.md);
#   prune-and-grow and width: one seed (SET, RigL, static at 80 / 90 / 95%; wide sparse = k 1024 at 75%
#        with RigL and with a static mask against narrow dense = k 256, both 0.25 x (1024 x 64 + 512 x 1024)
#        = 147,456 non-zero weights).
# Every command skips what is finished (a sweep its finished cells, prune imp its finished levels,
# prune grow a finished run), so a killed script runs again, and a finished one only redoes the tables.
set -euo pipefail
export OMP_NUM_THREADS=1
P=${OUT:-runs/paper/pruning}
PRESET=${PRESET:-cpu}; STEPS=${STEPS:-32768}   # smaller only for a smoke test
FIG=${FIG:-docs/figures}
BIN=.venv/bin
Q="--threads 1 --quiet"
T="--preset $PRESET --precision bf16 --bias-init 0 --lr 0.01 --steps $STEPS --seed 0"
START=$P/dense/lr=0.01__seed=0
mkdir -p "$P"

grow() {  # METHOD SPARSITY [DIR]: one sparse-from-scratch run
  $BIN/prune grow --method $1 --sparsity $2 $T --out $P/${3:-grow}/mono_$1_sp$2_s0 $Q
}
chain_a() {  # the start, IMP and its reinit control, then sparse runs
  $BIN/models sweep --preset $PRESET --precision bf16 --bias-init 0 --steps $STEPS --grid lr=0.01 --seeds 0 \
      --workers 1 --out $P/dense
  $BIN/prune imp $START --rounds 2 --rate 0.65 --scope layer --rewind init --out $P/imp/mono_s0 $Q
  touch $P/imp/mono_s0.done
  $BIN/prune imp --control reinit --ticket $P/imp/mono_s0 --rounds 2 --out $P/reinit/mono_s0 $Q
  grow set 0.9; grow rigl 0.75 wide; grow rigl 0.8; grow set 0.95; grow static 0.75 wide
}
chain_b() {  # sparse runs, the narrow dense model, then (once IMP is done) the random-mask control
  grow rigl 0.9; grow static 0.9
  $BIN/models sweep --preset $PRESET --precision bf16 --bias-init 0 --steps $STEPS --k 256 --grid lr=0.01 \
      --seeds 0 --workers 1 --out $P/narrow
  grow rigl 0.95; grow static 0.95; grow static 0.8; grow set 0.8
  until [ -f $P/imp/mono_s0.done ]; do sleep 20; done
  $BIN/prune imp --control random-mask --ticket $P/imp/mono_s0 --out $P/random-mask/mono_s0 $Q
}
chain_a & A=$!
chain_b & B=$!
wait $A; wait $B

# per-neuron tracking, then the comparisons (each writes FILE.png and FILE.json)
for d in $P/imp/mono_s0 $P/reinit/mono_s0 $P/random-mask/mono_s0; do
  $BIN/prune neurons $d > $d/neurons.txt
done
cp $P/imp/mono_s0/neurons.png $FIG/pruning_paper_neurons_mono_s0.png
$BIN/prune compare $P/imp/mono_s0 $P/reinit/mono_s0 $P/random-mask/mono_s0 \
    --title "IMP vs its controls at the paper shape, monosemantic start (lr 0.01)" \
    --out $FIG/pruning_paper_imp_mono.png
$BIN/prune compare $P/grow/mono_* $P/imp/mono_s0 \
    --title "SET and RigL vs a static mask, paper shape (lr 0.01; IMP for reference)" \
    --out $FIG/pruning_paper_grow_mono.png
$BIN/prune compare $P/wide/mono_* $P/narrow/lr=0.01__seed=0 $P/dense/lr=0.01__seed=0 --x count \
    --title "wide sparse (k 1024, 75%) vs narrow dense (k 256) at equal non-zero weights, paper shape" \
    --out $FIG/pruning_paper_width_mono.png
$BIN/python docs/pruning_paper_tables.py $P --json docs/pruning_paper.json   # every table of the section
echo "done: figures and their JSON in $FIG/pruning_paper_*; runs in $P"
