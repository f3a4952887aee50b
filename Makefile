# Two set-up commands (README): `make demo` and `make test`, each installing what it needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := runs/demo

.PHONY: install demo test bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, by exact pin, with pip: the local CPU wheel (uv/poetry do not see it)
install: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"

# the whole suite on the tiny preset (~2 min): mono (lr 0.03) and poly (lr 0.003) runs, the barrier between
# them, IMP for 3 rounds with its random-mask control, and the comparison; every figure's path is printed
MONO := $(DEMO)/runs/lr=0.03__seed=0
POLY := $(DEMO)/runs/lr=0.003__seed=0
demo: install
	$(BIN)/models sweep --preset tiny --steps 2048 --grid lr=0.003,0.03 --seeds 0,1 --workers 2 --out $(DEMO)/runs
	$(BIN)/models table $(DEMO)/runs
	$(BIN)/basins interpolate $(MONO) $(POLY) --out $(DEMO)/interpolate --force
	$(BIN)/prune imp $(MONO) --rounds 3 --out $(DEMO)/imp --quiet
	$(BIN)/prune imp --control random-mask --ticket $(DEMO)/imp --out $(DEMO)/random-mask --quiet
	$(BIN)/prune compare $(DEMO)/imp $(DEMO)/random-mask --out $(DEMO)/compare.png \
	    --title "IMP vs a random mask, from the lr 0.03 run"
	@echo "figures:"; find $(DEMO) -name "*.png" -not -path "*/level_*" | sort | sed 's/^/  /'

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/train_step.py

clean:
	rm -rf $(VENV) *.egg-info
