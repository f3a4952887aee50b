"""Chain sets: several IMP chains (and their controls) fanned out through the executor equal the chains run
one by one in process; bad sets are refused before anything is written."""
import json

import pytest
import torch
from typer.testing import CliRunner

from conftest import tiny
from models import runs
from models.train import train_run
from pruning.cli import app


@pytest.fixture(scope="module")
def starts(tmp_path_factory):
    root = tmp_path_factory.mktemp("starts")
    for s in (0, 1):
        train_run(tiny(steps=16, batch=32, seed=s), root / f"seed{s}", plots=False)
    return root


def _models(imp_dir):
    levels = json.loads((imp_dir / "levels.json").read_text())["levels"]
    return [runs.read_tensors(imp_dir / lv["run"] / runs.MODEL) for lv in levels]


def test_chain_set_and_its_control_equal_chains_run_one_by_one(starts, tmp_path):
    from pruning.imp import ImpSettings, plan_imp, run_imp

    a = [str(starts / "seed0"), str(starts / "seed1")]
    r = CliRunner().invoke(app, ["imp", *a, "--out", str(tmp_path / "set"), "--rounds", "1", "--rate", "0.5",
                                 "--workers", "2", "--quiet"])
    assert r.exit_code == 0, r.output
    assert "2 chains" in r.stdout and "seed1" in r.stdout
    r = CliRunner().invoke(app, ["imp", "--control", "random-mask", "--ticket", str(tmp_path / "set"),
                                 "--out", str(tmp_path / "ctl"), "--workers", "2", "--quiet"])  # rounds: the ticket's
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "ctl").iterdir() if not p.name.startswith(".")) == ["seed0", "seed1"]
    for s in (0, 1):  # the same chains, in this process, one by one
        run_imp(plan_imp(ImpSettings(rounds=1, rate=0.5), tmp_path / f"one{s}", run=starts / f"seed{s}", plots=False))
        run_imp(plan_imp(ImpSettings(rounds=1, control="random-mask"), tmp_path / f"ctl{s}",
                         ticket=tmp_path / f"one{s}", plots=False))
        for got, want in ((tmp_path / "set" / f"seed{s}", tmp_path / f"one{s}"),
                          (tmp_path / "ctl" / f"seed{s}", tmp_path / f"ctl{s}")):
            for mg, mw in zip(_models(got), _models(want), strict=True):
                assert all(torch.equal(mg[n], mw[n]) for n in mw)
    # a finished set reruns as a no-op, and compare reads a whole set
    r = CliRunner().invoke(app, ["imp", *a, "--out", str(tmp_path / "set"), "--rounds", "1", "--rate", "0.5",
                                 "--quiet"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["compare", str(tmp_path / "set"), str(tmp_path / "ctl"),
                                 "--out", str(tmp_path / "c.png")])
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "c.json").read_text())
    assert any(len(row.get("seeds", [])) == 2 for row in (rows if isinstance(rows, list) else rows["rows"]))


def test_bad_chain_sets_are_refused(starts, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "imp.json").write_text("{}")
    cases = [(["imp", str(starts / "seed0"), str(starts / "seed1"), "--out", str(tmp_path / "one")],
              "is one IMP directory"),
             (["imp", "--control", "reinit", "--ticket", str(starts), "--out", str(tmp_path / "x")], "IMP directory"),
             (["imp", str(starts / "seed0"), str(starts / "seed1"), "--control", "reinit", "--ticket",
               str(tmp_path), "--out", str(tmp_path / "x")], "give no RUN"),
             (["imp", str(starts / "seed0"), str(starts / "seed1"), "--lr", "0.1", "--out", str(tmp_path / "x")],
              "train flags"),
             (["imp", str(starts / "seed0"), str(starts / "seed1"), "--backend", "dask", "--out",
               str(tmp_path / "x")], "unknown --backend")]
    for argv, needle in cases:
        r = CliRunner().invoke(app, argv)
        assert r.exit_code == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "x").exists()


def test_grow_set_equals_runs_one_by_one_and_compare_reads_it(tmp_path):
    from pruning.grow import GrowSettings, run_grow

    flags = ["--preset", "tiny", "--steps", "32", "--batch", "32", "--update-every", "8"]
    r = CliRunner().invoke(app, ["grow", "--method", "rigl", "--sparsity", "0.8", *flags, "--seeds", "0,1",
                                 "--workers", "2", "--out", str(tmp_path / "set"), "--quiet"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "set").iterdir() if not p.name.startswith(".")) == ["seed0", "seed1"]
    settings = GrowSettings(method="rigl", sparsity=0.8, update_every=8)
    run_grow(settings, tiny(steps=32, batch=32, seed=1), tmp_path / "one1", plots=False)
    a, b = (runs.read_tensors(d / runs.MODEL) for d in (tmp_path / "set" / "seed1", tmp_path / "one1"))
    assert all(torch.equal(a[n], b[n]) for n in b)
    r = CliRunner().invoke(app, ["compare", str(tmp_path / "set"), "--out", str(tmp_path / "c.png")])
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "c.json").read_text())["rows"]
    assert [len(row["seeds"]) for row in rows if row["method"] == "rigl"] == [2]
    for argv, needle in ((["--seeds", "0,0"], "twice"), (["--seeds", "0", "--seed", "1"], "not both"),
                         (["--seeds", "a"], "comma-separated"),
                         (["--seeds", "0,1", "--out", str(tmp_path / "set" / "seed0")], "is one run")):
        r = CliRunner().invoke(app, ["grow", *flags, "--out", str(tmp_path / "x"), *argv])
        assert r.exit_code == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "x").exists()
