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

# a small real experiment: learning rate x width on the tiny preset, 2 seeds, with plots
demo: install
	$(BIN)/models sweep --preset tiny --steps 2048 --grid lr=0.003,0.01,0.03 --grid k=32,128 \
	    --seeds 0,1 --workers 2 --out $(DEMO)
	$(BIN)/models table $(DEMO)
	@echo "figures: $(DEMO)/sweep.png, $(DEMO)/curves.png and $(DEMO)/*/training.png, sfa.png"

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/train_step.py

clean:
	rm -rf $(VENV) *.egg-info
