#!/usr/bin/env bash
# STE matching, REPAIR and the loss plane on the seed-pair and mono-vs-poly findings of docs/basins.md
# (cpu-small, 2^13 steps: mono = lr 0.03, poly = lr 0.003, bias 0, seeds 0 and 1), then the summary
# docs/basins_ste_repair.json. About 15 minutes on 2 cores. Run from the repository root.
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
M=.venv/bin/models; B=.venv/bin/basins
R=${ROOT:-runs/ste_repair}
$M sweep --preset cpu-small --grid lr=0.003,0.03 --seeds 0,1 --workers 2 --out $R/runs
mono() { echo "$R/runs/lr=0.03__seed=$1"; }
poly() { echo "$R/runs/lr=0.003__seed=$1"; }
for method in weight ste; do
  $B interpolate "$(mono 0)" "$(mono 1)" --method $method --repair --out $R/seeds_mono_$method --force
  $B interpolate "$(poly 0)" "$(poly 1)" --method $method --repair --out $R/seeds_poly_$method --force
  $B interpolate "$(mono 0)" "$(poly 0)" --method $method --repair --out $R/mono_poly_$method --force
done
$B curve "$(poly 0)" "$(poly 1)" --steps 4096 --out $R/curve_poly_seeds --force
$B plane "$(poly 0)" "$(poly 1)" --curve $R/curve_poly_seeds --out $R/plane_poly_seeds --force
$B plane "$(mono 0)" "$(poly 0)" "$(mono 1)" --out $R/plane_mono_poly_mono --force
.venv/bin/python docs/basins_ste_repair.py $R --json docs/basins_ste_repair.json
