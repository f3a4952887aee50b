#!/usr/bin/env bash
# The paper-shape runs behind the "paper shape" section of docs/pruning.md, sized to what 2 CPU cores ran
# in a few sessions (docs/pruning_experiments.sh with PRESET=cpu runs the full design: ~65 CPU-hours).
#   bash docs/pruning_paper_experiments.sh     # seed 0, two chains at once, one torch thread each: ~4 h here
#   SEEDS="1 2" PARTS=lottery MERGE=docs/pruning_paper.json bash docs/pruning_paper_experiments.sh
#       # seeds 1 and 2 of the lottery (dense start, IMP, reinit, random mask; a seed a core, level by level),
#       # merged with the committed summary, whose seed-0 run dirs were on another session's disk
#   ROUNDS=10 RATE=0.2 OUT=runs/paper/pruning_r10 bash docs/pruning_paper_experiments.sh   # the issue's IMP
# Shape: preset cpu (N 512, d 64, k 1024, eps 1/64, batch 1024), bf16, bias 0, 2^15 steps per run (17-25
# min on one thread here), from the converged monosemantic start of docs/basins.md (lr 0.01, mono/N 1.01),
# per seed (seed 0 the same run, bitwise: eval loss 0.8985083624720573, 519 mono neurons).
# What the full design has and this does not (docs/pruning.md lists each cut):
#   IMP: 2 rounds at rate 0.65 (35%, then 12.25% of each layer left) instead of 10 at rate 0.2 (10.7%);
#        no IMP from a polysemantic start (no converged one exists at this shape, docs/basins.md);
#   prune-and-grow and width: seed 0 only (SET, RigL, static at 80 / 90 / 95%; wide sparse = k 1024 at 75%
#        with RigL and with a static mask against narrow dense = k 256, both 0.25 x (1024 x 64 + 512 x 1024)
#        = 147,456 non-zero weights).
# Every command skips what is finished (a sweep its finished cells, prune imp its finished levels,
# prune grow a finished run), so a killed script runs again, and a finished one only redoes the tables.
set -euo pipefail
export OMP_NUM_THREADS=1
P=${OUT:-runs/paper/pruning}
PRESET=${PRESET:-cpu}; STEPS=${STEPS:-32768}   # smaller only for a smoke test
SEEDS=${SEEDS:-0}; ROUNDS=${ROUNDS:-2}; RATE=${RATE:-0.65}
PARTS=${PARTS:-"lottery grow"}   # lottery: IMP and its two controls; grow: SET / RigL / static and width
FIG=${FIG:-docs/figures}   # FIG, JSON and OUT elsewhere for a smoke test
BIN=.venv/bin
Q="--threads 1 --quiet"
T="--preset $PRESET --precision bf16 --bias-init 0 --lr 0.01 --steps $STEPS"
D="--preset $PRESET --precision bf16 --bias-init 0 --steps $STEPS --grid lr=0.01 --seeds ${SEEDS// /,}"
mkdir -p "$P" "$FIG"   # FIG is made absolute for the tables at the end
has() { [[ " $PARTS " == *" $1 "* ]]; }

lottery() {  # SEED: level by level, the IMP ticket, then its reinit and random-mask controls at that level
  for r in $(seq 1 $ROUNDS); do
    $BIN/prune imp $P/dense/lr=0.01__seed=$1 --rounds $r --rate $RATE --scope layer --rewind init \
        --out $P/imp/mono_s$1 $Q
    $BIN/prune imp --control reinit --ticket $P/imp/mono_s$1 --rounds $r --out $P/reinit/mono_s$1 $Q
    $BIN/prune imp --control random-mask --ticket $P/imp/mono_s$1 --out $P/random-mask/mono_s$1 $Q
  done
}
grow() {  # SEED METHOD SPARSITY [DIR]: one sparse-from-scratch run
  $BIN/prune grow --method $2 --sparsity $3 $T --seed $1 --out $P/${4:-grow}/mono_$2_sp$3_s$1 $Q
}
grow_a() {
  grow $1 set 0.9; grow $1 rigl 0.75 wide; grow $1 rigl 0.8; grow $1 set 0.95; grow $1 static 0.75 wide
}
grow_b() {
  grow $1 rigl 0.9; grow $1 static 0.9; grow $1 rigl 0.95; grow $1 static 0.95; grow $1 static 0.8; grow $1 set 0.8
}

# the dense starts (and, for the width comparison, the narrow dense models, k 256), two cells at a time
$BIN/models sweep $D --workers 2 --out $P/dense
has grow && $BIN/models sweep $D --k 256 --workers 2 --out $P/narrow
# then the chains (a seed's lottery, its two halves of the grow runs), two at a time, one per core
CHAINS=()
for S in $SEEDS; do
  if has lottery; then CHAINS+=("lottery $S"); fi
  if has grow; then CHAINS+=("grow_a $S" "grow_b $S"); fi
done
for c in "${CHAINS[@]}"; do
  while (($(jobs -rp | wc -l) >= 2)); do wait -n; done   # a failed chain stops the script here
  $c &
done
for pid in $(jobs -p); do wait $pid; done

# per-neuron tracking, then the comparisons (each writes FILE.png and FILE.json)
if has lottery; then
  for S in $SEEDS; do for c in imp reinit random-mask; do
    $BIN/prune neurons $P/$c/mono_s$S > $P/$c/mono_s$S/neurons.txt
  done; done
  [ -d $P/imp/mono_s0 ] && cp $P/imp/mono_s0/neurons.png $FIG/pruning_paper_neurons_mono_s0.png
  $BIN/prune compare $P/imp/mono_s? $P/reinit/mono_s? $P/random-mask/mono_s? \
      --title "IMP vs its controls at the paper shape, monosemantic start (lr 0.01)" \
      --out $FIG/pruning_paper_imp_mono.png
fi
if has grow; then
  $BIN/prune compare $P/grow/mono_* $P/imp/mono_s? \
      --title "SET and RigL vs a static mask, paper shape (lr 0.01; IMP for reference)" \
      --out $FIG/pruning_paper_grow_mono.png
  $BIN/prune compare $P/wide/mono_* $P/narrow/lr=0.01__seed=* $P/dense/lr=0.01__seed=* --x count \
      --title "wide sparse (k 1024, 75%) vs narrow dense (k 256) at equal non-zero weights, paper shape" \
      --out $FIG/pruning_paper_width_mono.png
fi
# every table of the section; MERGE=docs/pruning_paper.json keeps that summary's rows of runs not on disk here
$BIN/python docs/pruning_paper_tables.py $P ${MERGE:+--merge $MERGE} --json ${JSON:-docs/pruning_paper.json} \
    --figure "$(cd "$FIG" && pwd)/pruning_paper_lottery.png"
echo "done: figures and their JSON in $FIG/pruning_paper_*; runs in $P"
