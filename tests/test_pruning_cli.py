"""`prune` command line: bad input is one line on stderr, a non-zero exit and nothing written; a small
end-to-end run of imp through a real subprocess, then neurons and compare on it."""
import json
import shutil

import pytest
from typer.testing import CliRunner

from conftest import cli, tiny
from models.train import train_run
from pruning.cli import app


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    train_run(tiny(steps=16, batch=32), root / "dense", plots=False)
    shutil.copytree(root / "dense", root / "corrupt")
    (root / "corrupt" / "config.json").write_text("{broken")
    train_run(tiny(steps=64, batch=32), root / "unfinished", stop_after=8, plots=False)
    return root


IMP = ["imp", "--preset", "tiny", "--steps", "16"]
BAD = [
    (IMP + ["--rate", "0"], "--rate must be in (0, 1)"), (IMP + ["--rate", "1"], "--rate must be in (0, 1)"),
    (IMP + ["--rounds", "0"], "--rounds must be in [1, 64]"), (IMP + ["--rate-out", "1.5"], "--rate-out"),
    (IMP + ["--scope", "row"], "unknown --scope"), (IMP + ["--control", "shuffle"], "unknown --control"),
    (IMP + ["--rewind", "6"], "power of two"), (IMP + ["--rewind", "early"], "--rewind"),
    (IMP + ["--rewind", "64"], "past the recipe"), (IMP + ["--scope", "global", "--rate-out", "0.1"], "--rate-out"),
    (IMP + ["--control", "reinit"], "--ticket"), (IMP + ["--colour", "3"], "No such option: --colour"),
    (IMP + ["--k", "0"], "--k must be a positive integer"),
    (["imp", "{s}/nope"], "no run directory"), (["imp", "{s}/corrupt"], "corrupt"),
    (["imp", "{s}/unfinished"], "unfinished"), (["imp", "{s}/dense", "--lr", "0.1"], "train flags"),
    (["imp", "{s}/dense", "--rewind", "128"], "no checkpoint at that step"),
    (["imp", "{s}/dense", "{s}/dense"], "share the name"),
    (["grow", "--preset", "tiny", "--sparsity", "1"], "--sparsity must be in [0, 1)"),
    (["grow", "--preset", "tiny", "--sparsity", "-0.5"], "--sparsity must be in [0, 1)"),
    (["grow", "--method", "prune-harder"], "unknown --method"), (["grow", "--distribution", "x"], "--distribution"),
    (["grow", "--update-every", "0"], "--update-every"), (["grow", "--drop-fraction", "2"], "--drop-fraction"),
    (["grow", "{s}/dense"], "Got unexpected extra argument"),
]


@pytest.mark.parametrize("args,needle", BAD)
def test_bad_input_is_one_line_nonzero_and_writes_nothing(store, tmp_path, args, needle):
    out = tmp_path / "out"
    argv = [a.replace("{s}", str(store)) for a in args] + ["--out", str(out)]
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 2, (r.exit_code, r.exception)  # 2: a refusal; an unexpected exception exits 1
    assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not out.exists()


def test_neurons_and_compare_refuse_bad_dirs(store, tmp_path):
    for argv, needle in ((["neurons", str(store / "dense")], "levels.json"),
                         (["compare", str(tmp_path / "nope"), "--out", str(tmp_path / "c.png")], "no directory"),
                         (["compare", str(store / "dense"), "--out", str(tmp_path / "c.jpg")], ".png, .pdf or .svg")):
        r = CliRunner().invoke(app, argv)
        assert r.exit_code == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not any(tmp_path.iterdir())


def test_subprocess_refusals_and_a_small_run_end_to_end(store, tmp_path):
    r = cli("prune", "imp", str(store / "nope"), "--out", tmp_path / "x")
    assert r.returncode == 2 and r.stderr.startswith("error: no run directory") and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "x").exists()
    out = tmp_path / "imp"
    r = cli("prune", "imp", "--preset", "tiny", "--steps", "32", "--batch", "64", "--rounds", "2", "--rate", "0.5",
            "--out", out, "--threads", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert [lv["remaining_W1"] for lv in json.loads((out / "levels.json").read_text())["levels"]] == [2048, 1024, 512]
    assert "mono/N" in r.stdout
    r = CliRunner().invoke(app, ["neurons", str(out)])  # in-process: a subprocess costs 2-3 s of imports
    assert r.exit_code == 0 and (out / "neurons.png").exists() and (out / "neurons.json").exists(), r.stderr
    r = CliRunner().invoke(app, ["compare", str(out), "--out", str(tmp_path / "c.png")])
    assert r.exit_code == 0 and (tmp_path / "c.png").exists() and (tmp_path / "c.json").exists(), r.stderr
    r = CliRunner().invoke(app, ["compare", str(out), "--out", str(tmp_path / "c.pdf")])
    assert r.exit_code == 0 and (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF"), r.stderr
    assert "imp" in r.stdout and "dense" in r.stdout
