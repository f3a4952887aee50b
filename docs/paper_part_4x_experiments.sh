#!/usr/bin/env bash
# The partly monosemantic start of docs/basins.md section 8 (LAMB lr 0.003, bias 0) at its third doubling:
# does it converge at mono/N ~0.2, and where does it sit among the monosemantic runs?
#   - lr 0.003 extended from 2^16 (docs/paper_recipes_experiments.sh) to 2^17 steps, 3 seeds (`models extend`:
#     equal to a 2^17-step run; it trains only the second half);
#   - a one-seed screen of lr 0.001 at 2^16 steps: does a lower rate settle less monosemantic still?
#   - seed pairs and the mono-vs-part pair at 2^17, weight and activation matching; a one-bend curve between
#     the part seeds; a map of the 13 runs (the 9 of the recipes map, the 2^17 runs, the lr 0.001 screen).
#   bash docs/paper_part_4x_experiments.sh     # ~2 h on 2 cores here (two runs at once, ~26 steps/s each)
# Re-running skips finished runs and resumes an interrupted one.
set -euo pipefail
export OMP_NUM_THREADS=1
P=${OUT:-runs/paper}
PRESET=${PRESET:-cpu}; STEPS=${STEPS:-32768}   # smaller only for a smoke test (then also OUT, FIG, JSON)
FIG=${FIG:-docs/figures}; JSON=${JSON:-docs}
mkdir -p "$FIG" "$JSON"
O=$P/basins_part_4x
B=".venv/bin/basins"
part2=$P/part_2x/lr=0.003__seed; part4=$P/part_4x/lr=0.003__seed; mono=$P/starts/lr=0.01__seed

jobs=()
for s in 0 1 2; do
  [ -f $part4=$s/summary.json ] || jobs+=(".venv/bin/models extend $part2=$s --steps $((4 * STEPS)) \
--threads 1 --quiet --out $part4=$s")
done
[ -f $P/screen_lr0001/lr=0.001__seed=0/summary.json ] || jobs+=(".venv/bin/models sweep --preset $PRESET \
--precision bf16 --workers 1 --bias-init 0 --grid lr=0.001 --seeds 0 --steps $((2 * STEPS)) --out $P/screen_lr0001")
# two at a time, each on one thread
[ ${#jobs[@]} -eq 0 ] || printf '%s\0' "${jobs[@]}" | xargs -0 -P 2 -I{} bash -c {}

$B interpolate $mono=0 $mono=1 --method activation --out $O/seeds_mono_act --force
$B interpolate $part4=0 $part4=1 --out $O/seeds_part4x --force
$B interpolate $part4=0 $part4=1 --method activation --out $O/seeds_part4x_act --force
$B interpolate $mono=0 $part4=0 --out $O/mono_part4x --force
$B interpolate $mono=0 $part4=0 --method activation --out $O/mono_part4x_act --force
$B curve $part4=0 $part4=1 --steps 4096 --out $O/curve_part4x_seeds --force
$B map $mono=*/ $P/bias_m01/*/ $part2=*/ $part4=*/ $P/screen_lr0001/*/ --workers 2 --out $O/map_part4x --force

.venv/bin/python docs/paper_shape_tables.py $P/starts $P/part_2x $P/part_4x/*/ $P/screen_lr0001 \
    --script docs/paper_part_4x_experiments.sh --json $JSON/paper_part_4x.json \
    --figure "$(cd "$FIG" && pwd)/paper_part_4x.png" \
    --title "Paper shape: lr 0.003 to 2^17 steps, lr 0.001 to 2^16, against the lr 0.01 starts"
.venv/bin/python docs/basins_tables.py $O --script docs/paper_part_4x_experiments.sh \
    --json $JSON/basins_paper_part_4x.json
cp $O/map_part4x/map.png $FIG/basins_paper_map_part4x.png
for r in seeds_part4x mono_part4x seeds_mono_act; do cp $O/$r/interpolation.png $FIG/basins_paper_$r.png; done
cp $O/curve_part4x_seeds/curve.png $FIG/basins_paper_curve_part4x_seeds.png
