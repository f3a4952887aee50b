#!/usr/bin/env bash
# The exact commands behind docs/basins.md. Inputs: the reproduction runs of docs/reproduction.md
# (runs/repro/, cpu-small shape N128 d32 k256, batch 1024) and a batch-size sweep made here.
# Cost on this 2-core CPU at one thread: about 25 minutes (the batch-size sweep ran on a lent GPU in 90 s).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
B=${BASINS:-.venv/bin/basins}
S=runs/repro/small_lr_bias        # lr {0.003, 0.01, 0.03} x {bias 0, bias -1 + decay 0.5}, 3 seeds, 2^13 steps
D=runs/repro/small_decay_2p14     # lr {0.003, 0.01} x {bias 0, bias -1 + decay 0.03/0.1/0.5}, 3 seeds, 2^14 steps
K=runs/repro/small_k              # k {32, 64, 128, 256} at lr 0.03, 3 seeds, 2^13 steps
O=runs/basins
mono() { echo "$S/lr=0.03__bias_init=0__bias_decay=0__seed=$1"; }   # mono/N 0.43-0.51
poly() { echo "$S/lr=0.003__bias_init=0__bias_decay=0__seed=$1"; }  # mono/N 0.02-0.07

# batch-size sweep at lr 0.01 (batch 1024 is in $S): the "noisier SGD" question
.venv/bin/models sweep --preset cpu-small --lr 0.01 --grid batch=256,4096 --seeds 0,1,2 --out runs/bsweep

# 1-2. seed pairs and mono-vs-poly pairs along the straight line, naive and aligned
$B interpolate "$(mono 0)" "$(mono 1)" --out $O/seeds_mono --force
$B interpolate "$(poly 0)" "$(poly 1)" --out $O/seeds_poly --force
$B interpolate "$(mono 0)" "$(poly 0)" --out $O/mono_poly --force
$B interpolate "$(mono 0)" "$(poly 0)" --method activation --out $O/mono_poly_act --force
$B interpolate "$D/lr=0.003__bias_init=-1__bias_decay=0.1__seed=0" "$D/lr=0.003__bias_init=0__bias_decay=0__seed=0" \
    --out $O/bias_pair --force

# 3. maps: 24 runs each (276 pairs)
$B map $S/*/ runs/bsweep/*/ --out $O/map_lr_bias_batch --force
$B map --sweep $D --out $O/map_decay_2p14 --force
for k in 32 64 128 256; do $B map $K/k=${k}__seed=* --points 33 --eval-size 65536 --out $O/width_k$k --force; done

# curves: is a pair that a line does not connect connected by a trained curve?
$B curve "$(poly 0)" "$(poly 1)" --steps 4096 --out $O/curve_poly_seeds --force
$B curve "$(mono 0)" "$(poly 0)" --steps 4096 --out $O/curve_mono_poly --force

# 4. hop, both directions at one lr, with the seed siblings defining each side's mono/N range
$B hop "$(mono 0)" "$(poly 0)" --both --lr 0.01 --steps 4096 --peers "$(mono 1),$(mono 2),$(poly 1),$(poly 2)" \
    --out $O/hop_mono_poly

# 5. connectivity-based fine-tuning from polysemantic starts (and a monosemantic one for contrast),
#    each with its control: the same Adam steps on the task alone, no barrier steps
for s in 0 1 2; do
  $B cbft "$(poly $s)" --steps 2048 --finetune 1024 --out $O/cbft_poly_s$s --force
  $B cbft "$(poly $s)" --steps 2048 --finetune 1024 --control --out $O/cbft_poly_s${s}_control --force
done
$B cbft "$(mono 0)" --steps 2048 --finetune 1024 --out $O/cbft_mono_s0 --force
$B cbft "$(mono 0)" --steps 2048 --finetune 1024 --control --out $O/cbft_mono_s0_control --force
