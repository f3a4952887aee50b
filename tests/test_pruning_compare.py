"""pruning.compare: points from IMP, control, grow and dense dirs; mean and range per method and sparsity."""
import json

import pytest

from conftest import tiny
from models import runs
from models.train import train_run
from pruning.compare import aggregate, collect
from pruning.grow import GrowSettings, run_grow
from pruning.imp import ImpSettings, plan_imp, run_imp

CFG = dict(steps=32, batch=64, lr=0.03)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    out = []
    for seed in (0, 1):
        imp = root / f"imp{seed}"
        run_imp(plan_imp(ImpSettings(rounds=2, rate=0.5), imp, config=tiny(**CFG, seed=seed), plots=False))
        ctl = root / f"reinit{seed}"
        run_imp(plan_imp(ImpSettings(rounds=2, control="reinit"), ctl, ticket=imp, plots=False))
        g = root / f"rigl{seed}"
        run_grow(GrowSettings(method="rigl", sparsity=0.75, update_every=8), tiny(**CFG, seed=seed), g, plots=False)
        out += [imp, ctl, g]
    narrow = root / "narrow"
    train_run(tiny(**CFG, k=32), narrow, plots=False)
    return out + [narrow]


def test_points_are_grouped_by_method_and_exact_count(dirs, tmp_path):
    points = collect(dirs)
    dense = [p for p in points if p["method"] == "dense"]
    assert sorted((p["k"], p["seed"]) for p in dense) == [(32, 0), (128, 0), (128, 1)]  # controls' level 0 once
    rows = aggregate(points)
    labels = {(r["label"], r["remaining"]): r for r in rows}
    n = 128 * 16 + 64 * 128
    for label in ("imp k=128", "reinit k=128"):
        for lv in (1, 2):
            r = labels[(label, round(n * 0.5**lv))]
            assert r["seeds"] == [0, 1]
            vals = [p["final_loss"] for p in points if p["method"] == label.split()[0] and p["level"] == lv]
            assert r["final_loss"]["mean"] == pytest.approx(sum(vals) / 2)
            assert r["final_loss"]["min"] == min(vals) and r["final_loss"]["max"] == max(vals)
    assert labels[("rigl k=128", n // 4)]["seeds"] == [0, 1]
    from typer.testing import CliRunner

    from pruning.cli import app

    r = CliRunner().invoke(app, ["compare", *map(str, dirs), "--out", str(tmp_path / "c.png"), "--x", "count"])
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "c.png").stat().st_size > 20_000
    saved = json.loads((tmp_path / "c.json").read_text())
    assert len(saved["rows"]) == len(rows) and saved["x"] == "count"


def test_compare_refuses_what_it_cannot_read(dirs, tmp_path):
    with pytest.raises(runs.RunError, match="not an IMP"):
        collect([tmp_path])
    with pytest.raises(runs.RunError, match="no directory"):
        collect([tmp_path / "nope"])
    other = tmp_path / "other"
    train_run(tiny(**CFG, task_seed=5), other, plots=False)
    with pytest.raises(runs.RunError, match="different tasks"):
        collect([dirs[0], other])
