#!/usr/bin/env bash
# Two open points of docs/basins.md, section 8 ("the recipes map"), on the paper shape (preset cpu: N 512,
# d 64, k 1024, eps 1/64, batch 1024, LAMB), bf16, lr 0.01 unless said:
#   - the second highly monosemantic recipe, bias offset -0.1, at 3 seeds (the bias screen ran one, in fp32);
#   - the partly monosemantic lr 0.003 start taken on to 2^16 steps (3 seeds): does it settle, or go on to
#     mono/N ~1 like the lr 0.01 runs?
# then a map of the lr 0.01 bias-0 starts (seed 0 retrained: bitwise the run of section 8; seeds 1-2 copied
# from the pruning starts, bitwise the same runs) with the bias -0.1 seeds and the lr 0.003 2^16 runs.
#   bash docs/paper_recipes_experiments.sh      # 2 workers of one thread: ~2.5 h on 2 cores here
# (~26 steps/s a run: 21 min for 2^15 steps, 42 for 2^16; the map of 9 runs a few minutes)
set -euo pipefail
export OMP_NUM_THREADS=1
P=${OUT:-runs/paper}
PRESET=${PRESET:-cpu}; STEPS=${STEPS:-32768}   # smaller only for a smoke test
FIG=${FIG:-docs/figures}; JSON=${JSON:-docs}   # elsewhere for a smoke test
M=".venv/bin/models sweep --preset $PRESET --precision bf16 --workers 2"
O=$P/basins_recipes
# the lr 0.01 bias-0 starts of seeds 1 and 2 were trained by docs/pruning_paper_experiments.sh with this
# sweep's config (the sweep refuses a copied run dir whose config differs)
mkdir -p $P/starts "$FIG" "$JSON"
for s in 1 2; do
  src=$P/pruning/dense/lr=0.01__seed=$s
  [ -d $P/starts/lr=0.01__seed=$s ] || { [ -d $src ] && cp -r $src $P/starts/; } || true
done

# lr 0.003 to 2^16 (twice a start's steps); bias -0.1; the lr 0.01 bias-0 starts (only seed 0 trains)
$M --bias-init 0 --grid lr=0.003 --seeds 0,1,2 --steps $((2 * STEPS)) --out $P/part_2x
$M --lr 0.01 --grid bias_init=-0.1 --seeds 0,1,2 --steps $STEPS --out $P/bias_m01
$M --bias-init 0 --grid lr=0.01 --seeds 0,1,2 --steps $STEPS --out $P/starts

.venv/bin/basins map $P/starts/lr=0.01__seed=*/ $P/bias_m01/*/ $P/part_2x/*/ --workers 2 \
    --out $O/map_recipes --force
.venv/bin/python docs/paper_shape_tables.py $P/starts $P/bias_m01 $P/part_2x \
    --script docs/paper_recipes_experiments.sh --json $JSON/paper_recipes.json \
    --figure "$(cd "$FIG" && pwd)/paper_recipes.png" \
    --title "Paper-shape recipes: bias 0 and -0.1 at lr 0.01, lr 0.003 to twice the steps"
.venv/bin/python docs/basins_tables.py $O --script docs/paper_recipes_experiments.sh \
    --json $JSON/basins_paper_recipes.json
cp $O/map_recipes/map.png $FIG/basins_paper_map_recipes.png
