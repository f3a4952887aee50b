"""docs/tutorial.ipynb runs top to bottom through the Python API (a cell's error fails the test)."""
import sys
from pathlib import Path

import nbformat

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS))

from tutorial_build import CELLS, NOTEBOOK, build, execute  # noqa: E402


def test_the_committed_notebook_is_the_built_one():
    committed = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in build().cells]
    assert len(committed.cells) == len(CELLS)
    outputs = [c for c in committed.cells if c.cell_type == "code" and c.get("outputs")]
    assert len(outputs) >= 6, "the committed notebook shows its outputs (python docs/tutorial_build.py)"


def test_the_notebook_executes(tmp_path, monkeypatch):
    # one torch thread in the kernel, as in the rest of the suite: two threads on a core another job holds
    # spin-wait each other (the first training cell took 80 s with two threads while one core was busy)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = execute(nbformat.read(NOTEBOOK, as_version=4), tmp_path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert (tmp_path / "tutorial_runs" / "imp" / "levels.json").exists()
