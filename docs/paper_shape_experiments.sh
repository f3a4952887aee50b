#!/usr/bin/env bash
# The paper-shape runs behind the "paper shape" section of docs/basins.md: the discussion's basin
# questions on N 512, d 64, k 1024 (preset `cpu`: eps 1/64, batch 1024, LAMB with the restarting cosine),
# bf16, bias 0, 2^15 steps (a run: ~15.5 min on one thread of this 2-core CPU).
#   bash docs/paper_shape_experiments.sh       # 2 workers: ~2.5 h here
# Starts, 3 seeds each (docs/basins.md, "paper shape", says why these two):
#   mono: lr 0.01   (mono/N ~1, passes the convergence rule of docs/science.md section 7)
#   part: lr 0.003  (partly monosemantic at 2^15 steps and still moving: it does not pass the rule)
# Batch-size sweep (the discussion's "noisier SGD"), lr 0.01, at the starts' number of samples
# (2^15 x 1024): batch 4096 for 2^13 steps, batch 256 for 2^17 steps.
# Every command skips or refuses what is finished, so a killed script runs again (the basins commands
# redo their one result with --force).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
W=${WORKERS:-2}
P=${OUT:-runs/paper}
B=.venv/bin/basins
M=".venv/bin/models sweep --preset cpu --precision bf16 --bias-init 0 --seeds 0,1,2 --workers $W"
S=$P/starts
O=$P/basins
mono() { echo "$S/lr=0.01__seed=$1"; }
part() { echo "$S/lr=0.003__seed=$1"; }

# the starts: 2 lrs x 3 seeds
$M --steps 32768 --grid lr=0.01,0.003 --out $S
# 1-2. seed pairs and the mono-vs-part pair along the straight line, naive and aligned; one-bend curves
$B interpolate "$(mono 0)" "$(mono 1)" --out $O/seeds_mono --force
$B interpolate "$(part 0)" "$(part 1)" --out $O/seeds_part --force
$B interpolate "$(mono 0)" "$(part 0)" --out $O/mono_part --force
$B interpolate "$(mono 0)" "$(part 0)" --method activation --out $O/mono_part_act --force
$B curve "$(mono 0)" "$(part 0)" --steps 4096 --out $O/curve_mono_part --force
$B curve "$(part 0)" "$(part 1)" --steps 4096 --out $O/curve_part_seeds --force
# 4. hop both directions at lr 0.01, the seed siblings defining each side's mono/N range
$B hop "$(mono 0)" "$(part 0)" --both --lr 0.01 --lambdas 0,1e-4,1e-3,1e-2 --steps 2048 \
    --peers "$(mono 1),$(mono 2),$(part 1),$(part 2)" --out $O/hop_mono_part --force
# 3. the batch-size sweep at equal samples, then the map of every start and batch run
$M --lr 0.01 --batch 4096 --steps 8192 --out $P/batch4096
$M --lr 0.01 --batch 256 --steps 131072 --out $P/batch256
$B map $S/*/ $P/batch4096/*/ $P/batch256/*/ --workers "$W" --out $O/map_starts_batch --force

.venv/bin/python docs/paper_shape_tables.py $S $P/batch4096 $P/batch256 --json docs/paper_starts.json
.venv/bin/python docs/basins_tables.py $O --script docs/paper_shape_experiments.sh --json docs/basins_paper.json
# the figures docs/basins.md shows, copied from the result dirs
F=docs/figures
for r in seeds_mono seeds_part mono_part; do cp $O/$r/interpolation.png $F/basins_paper_$r.png; done
for r in curve_mono_part curve_part_seeds; do cp $O/$r/curve.png $F/basins_paper_$r.png; done
cp $O/hop_mono_part/hop.png $F/basins_paper_hop.png
cp $O/map_starts_batch/map.png $F/basins_paper_map.png
