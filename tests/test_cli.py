"""The command line through real subprocesses: help, clear errors, nothing written on bad input."""
import json
import subprocess
import sys

import pytest

from conftest import REPO, cli


def test_help_does_not_import_torch():
    out = subprocess.run([sys.executable, "-c", "import sys, models.cli, basins.cli, pruning.cli; "
                          "print('torch' in sys.modules)"], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "False"
    for exe in ("models", "basins", "prune"):
        r = cli(exe, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout


@pytest.mark.parametrize("args,needle", [
    (["--task", "foo"], "unknown --task"), (["--k", "0"], "--k must be a positive integer"),
    (["--n-features", "-1"], "--n-features"), (["--d-embed", "0"], "--d-embed"), (["--steps", "0"], "--steps"),
    (["--batch", "0"], "--batch"), (["--eps", "0"], "--eps"), (["--eps", "1.5"], "--eps"),
    (["--lr", "0"], "--lr"), (["--lr", "-1"], "--lr"), (["--preset", "nope"], "unknown preset"),
    (["--bias-init", "zero"], "--bias-init"), (["--name", "a/b"], "--name"),
])
def test_bad_input_is_one_line_nonzero_and_writes_nothing(tmp_path, args, needle):
    """In process (a subprocess costs ~4 s of imports; test_train_show_list_and_refusals and
    test_sweep_bad_axis check refusals through real subprocesses)."""
    from typer.testing import CliRunner

    from models.cli import app

    argv = ["train", "--runs-dir", str(tmp_path / "store"), "--preset", "tiny", "--steps", "8"]
    if "--name" not in args:
        argv += ["--name", "x"]
    r = CliRunner().invoke(app, argv + args)
    assert r.exit_code == 2, (r.exit_code, r.exception)
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "store").exists()


def test_train_show_list_and_refusals(tmp_path):
    store = tmp_path / "store"
    r = cli("models", "train", "--name", "a", "--runs-dir", store, "--preset", "tiny", "--steps", "64", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "eval loss" in r.stdout
    r = cli("models", "train", "--name", "a", "--runs-dir", store, "--preset", "tiny", "--steps", "64")
    assert r.returncode != 0 and "--force" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert cli("models", "show", "a", "--runs-dir", store).returncode == 0
    r = cli("models", "list", "--runs-dir", store)
    assert r.returncode == 0 and "finished" in r.stdout
    (store / "a" / "config.json").write_text("{broken")
    r = cli("models", "show", "a", "--runs-dir", store)
    assert r.returncode != 0 and "corrupt" in r.stderr and "Traceback" not in r.stderr
    r = cli("models", "show", "nothere", "--runs-dir", store)
    assert r.returncode != 0 and "no run directory" in r.stderr


def test_sweep_runs_cells_skips_finished_and_plots(tmp_path):
    out = tmp_path / "sw"
    argv = ["models", "sweep", "--preset", "tiny", "--grid", "lr=0.01,0.03", "--zip", "bias_init=0,-1",
            "--zip", "bias_decay=0,0.1", "--seeds", "0,1", "--workers", "2", "--out", out, "--steps", "32",
            "--batch", "64", "--instances", "4"]  # 8 cells of one shape: two batched models of 4
    r = cli(*argv)
    assert r.returncode == 0, r.stderr
    table = json.loads((out / "sweep.json").read_text())["cells"]
    assert len(table) == 8 and all(row["state"] == "finished" for row in table)
    assert {(row["lr"], row["bias_init"], row["bias_decay"]) for row in table} == {
        (0.01, 0.0, 0.0), (0.01, -1.0, 0.1), (0.03, 0.0, 0.0), (0.03, -1.0, 0.1)}
    assert (out / "sweep.png").stat().st_size > 10_000
    assert {json.loads((out / row["name"] / "summary.json").read_text())["batched_instances"] for row in table} == {4}
    stamp = (out / table[0]["name"] / "summary.json").stat().st_mtime_ns
    assert cli(*argv).returncode == 0
    assert (out / table[0]["name"] / "summary.json").stat().st_mtime_ns == stamp  # finished cells skipped
    r = cli("models", "table", out, "--markdown")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "precision: fp32"
    lines = lines[1:]
    assert lines[0].startswith("| lr | bias_init | bias_decay | seeds |") and len(lines) == 2 + 4
    assert all("| 2 |" in line for line in lines[2:])  # two seeds per cell
    from models import load_run

    assert load_run(out / table[0]["name"]).config.steps == 32


def test_sweep_bad_axis(tmp_path):
    r = cli("models", "sweep", "--grid", "colour=1,2", "--out", tmp_path / "s")
    assert r.returncode != 0 and "unknown hyperparameter" in r.stderr and not (tmp_path / "s").exists()
    r = cli("models", "sweep", "--zip", "lr=1,2", "--zip", "k=1", "--out", tmp_path / "s")
    assert r.returncode != 0 and "same number" in r.stderr
    from typer.testing import CliRunner

    from models.cli import app

    r = CliRunner().invoke(app, ["sweep", "--grid", "lr=1,2", "--instances", "0", "--out", str(tmp_path / "s")])
    assert r.exit_code == 2 and "--instances" in r.stderr and not (tmp_path / "s").exists()


def test_figure_format_flag_on_every_figure_writing_command(tmp_path):
    """--format svg gives the run's, the sweep's and the neuron tracker's figures as SVG; a bad one is refused
    in one line before anything is written."""
    store = tmp_path / "store"
    r = cli("models", "train", "--preset", "tiny", "--steps", "32", "--batch", "64", "--name", "a", "--runs-dir", store,
            "--quiet", "--format", "svg")
    assert r.returncode == 0, r.stderr
    assert (store / "a" / "training.svg").read_text().lstrip().startswith("<?xml") and (store / "a" / "sfa.svg").exists()
    assert not (store / "a" / "training.png").exists()
    r = cli("prune", "imp", store / "a", "--rounds", "1", "--out", tmp_path / "imp", "--quiet", "--format", "pdf")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "imp" / "level_01" / "sfa.pdf").read_bytes()[:4] == b"%PDF"
    r = cli("prune", "neurons", tmp_path / "imp", "--format", "svg")
    assert r.returncode == 0 and (tmp_path / "imp" / "neurons.svg").exists(), r.stderr
    for args in (("models", "train", "--preset", "tiny", "--steps", "8", "--name", "b", "--runs-dir", store),
                 ("models", "sweep", "--preset", "tiny", "--steps", "8", "--out", tmp_path / "sw"),
                 ("prune", "grow", "--preset", "tiny", "--steps", "8", "--out", tmp_path / "g")):
        r = cli(*args, "--format", "gif")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--format" in r.stderr, (args, r.stderr)
    assert not (store / "b").exists() and not (tmp_path / "sw").exists() and not (tmp_path / "g").exists()
