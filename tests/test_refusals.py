"""Bad input of every class, to every command: one line on stderr starting with "error:", a non-zero
exit, no traceback, and nothing written or deleted (the whole store is compared before and after)."""
import json
import os
import shutil

import pytest
import torch
from typer.testing import CliRunner

from basins.cli import app as basins_app
from conftest import tiny
from models.cli import app as models_app
from models.train import train_run
from pruning.cli import app as prune_app

APPS = {"models": models_app, "basins": basins_app, "prune": prune_app}
T = ["--preset", "tiny", "--steps", "8", "--batch", "32"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("refusals")
    s = root / "store"
    for name, cfg in {"a": tiny(steps=32, batch=32), "b": tiny(steps=32, batch=32, seed=1),
                      "gelu": tiny(steps=16, batch=32, nonlinearity="gelu")}.items():
        train_run(cfg, s / name, plots=False)
    train_run(tiny(steps=64, batch=32), s / "unfinished", stop_after=16, plots=False)
    r = CliRunner().invoke(prune_app, ["imp", str(s / "a"), "--rounds", "1", "--out", str(s / "imp"), "--quiet"])
    assert r.exit_code == 0, r.stderr
    (s / "notes").mkdir()
    (s / "notes" / "keep.txt").write_text("a researcher's file")
    (s / "file").write_text("not a directory")
    return s


def _bad_copy(s, name, victim, content):
    d = s / f"bad_{name}_{victim.replace('/', '_')}"
    shutil.copytree(s / name, d)
    p = d / victim
    if content == "symlink:/dev/zero":
        p.unlink()
        os.symlink("/dev/zero", p)
    elif isinstance(content, dict):  # tensors
        from safetensors.torch import save_file

        save_file(content, str(p))
    else:
        p.write_text(content)
    return d


def _fill(argv, s, bad=None):
    return [x.replace("{badname}", bad.name if bad else "").replace("{bad}", str(bad)).replace("{s}", str(s))
            for x in argv]


def _wrong_tensors(kind):
    from safetensors.torch import load_file

    def make(s):
        t = load_file(str(s / "a" / "model.safetensors"))
        if kind == "float64":
            t["W1"] = t["W1"].double()
        elif kind == "nan":
            t["W1"][0, 0] = float("nan")
        elif kind == "int":
            t["W1"] = t["W1"].int()
        elif kind == "shape":
            t["W1"] = t["W1"][:, :3].contiguous()
        return t
    return make


# (app, argv with {s} for the store, or a callable of the store returning argv; a needle of the message)
CASES = [
    # data loss: --force replaces only a result of the same kind, never an input or a foreign directory
    ("basins", ["align", "{s}/a", "{s}/b", "--out", "{s}", "--force"], "input"),
    ("basins", ["align", "{s}/a", "{s}/b", "--out", "{s}/a", "--force"], "input"),
    ("basins", ["interpolate", "{s}/a", "{s}/b", "--out", "{s}/notes", "--force"], "did not write"),
    ("basins", ["hop", "{s}/a", "{s}/b", "--lambdas", "0", "--steps", "8", "--out", "{s}/b"], "input"),
    ("basins", ["cbft", "{s}/a", "--steps", "8", "--out", "{s}/imp", "--force"], "imp result"),
    ("models", ["train", "--name", "notes", "--runs-dir", "{s}", *T, "--force"], "did not write"),
    ("models", ["train", "--name", "level_01", "--runs-dir", "{s}/imp", *T, "--force"], "imp-level result"),
    ("models", ["train", "--name", "a", "--runs-dir", "{s}", *T, "--resume", "--force"], "contradict"),
    ("models", ["sweep", *T, "--out", "{s}/notes"], "did not write"),
    ("models", ["sweep", *T, "--grid", "lr=0.01,0.01000001,0.01", "--out", "{s}/sw"], "share the name"),
    ("prune", ["grow", *T, "--out", "{s}/unfinished"], "run result"),
    ("prune", ["imp", "{s}/a", "--out", "{s}/notes"], "did not write"),
    ("prune", ["imp", "--control", "reinit", "--ticket", "{s}/unfinished", "--out", "{s}/pi"], "not an IMP"),
    ("prune", ["imp", "--control", "reinit", "--ticket", "{s}/imp", "--rounds", "2", "--out", "{s}/pi"], "exceeds"),
    # non-finite and out-of-range numbers
    *[("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, flag, v], flag)
      for flag in ("--l1", "--lr", "--eps", "--bias-decay", "--data-bias-margin") for v in ("inf", "nan")],
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--bias-init", "inf"], "--bias-init"),
    ("basins", ["curve", "{s}/a", "{s}/b", "--lr", "inf", "--out", "{s}/c"], "--lr"),
    ("basins", ["curve", "{s}/a", "{s}/b", "--lr", "nan", "--out", "{s}/c"], "--lr"),
    ("basins", ["hop", "{s}/a", "{s}/b", "--lambdas", "inf", "--out", "{s}/h"], "--lambdas"),
    ("basins", ["hop", "{s}/a", "{s}/b", "--tol", "nan", "--out", "{s}/h"], "--tol"),
    ("basins", ["hop", "{s}/a", "{s}/b", "--lr", "inf", "--out", "{s}/h"], "--lr"),
    ("basins", ["cbft", "{s}/a", "--margin", "inf", "--out", "{s}/cb"], "--margin"),
    ("basins", ["map", "{s}/a", "{s}/b", "--tol", "inf", "--out", "{s}/m"], "--tol"),
    ("basins", ["interpolate", "{s}/a", "{s}/b", "--format", "jpg", "--out", "{s}/i"], "--format"),
    ("prune", ["imp", "{s}/a", "--rate", "nan", "--out", "{s}/i"], "--rate"),
    ("prune", ["grow", *T, "--sparsity", "nan", "--out", "{s}/g"], "--sparsity"),
    ("prune", ["grow", *T, "--drop-fraction", "inf", "--out", "{s}/g"], "--drop-fraction"),
    # memory bombs and oversized values
    *[("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, flag, v], flag)
      for flag, v in (("--k", "1000000000000"), ("--batch", "1000000000000"), ("--n-features", "200000000"),
                      ("--steps", "1" + "0" * 400), ("--schedule-period", "1000000000000"))],
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--threads", "1000000000000"], "--threads"),
    ("models", ["sweep", *T, "--workers", "1000000000000", "--out", "{s}/sw"], "--workers"),
    ("models", ["sweep", *T, "--instances", "1000000000000", "--out", "{s}/sw"], "--instances"),
    ("basins", ["interpolate", "{s}/a", "{s}/b", "--points", "1000000000000", "--out", "{s}/i"], "--points"),
    ("basins", ["interpolate", "{s}/a", "{s}/b", "--eval-size", "1000000000000", "--out", "{s}/i"], "--eval-size"),
    ("basins", ["curve", "{s}/a", "{s}/b", "--bends", "1000000000000", "--out", "{s}/c"], "--bends"),
    ("basins", ["curve", "{s}/a", "{s}/b", "--steps", "1000000000000", "--out", "{s}/c"], "--steps"),
    ("prune", ["imp", "{s}/a", "--rounds", "1000000000000", "--out", "{s}/i"], "--rounds"),
    # valid JSON of the wrong shape, in every record a command reads
    *[(app, lambda s, src=src, v=victim, c=content, a=argv: _fill(a, s, _bad_copy(s, src, v, c)), "corrupt")
      for src, victim, app, argv in (
          ("a", "summary.json", "models", ["show", "{bad}"]),
          ("a", "summary.json", "basins", ["align", "{s}/a", "{bad}"]),
          ("a", "config.json", "models", ["show", "{bad}"]),
          ("a", "config.json", "basins", ["interpolate", "{bad}", "{s}/b"]),
          ("a", "config.json", "prune", ["imp", "{bad}", "--out", "{s}/i"]),
          ("unfinished", "config.json", "models", ["train", "--name", "{badname}", "--runs-dir", "{s}", *T,
                                                   "--resume"]),
          ("imp", "levels.json", "prune", ["neurons", "{bad}"]),
          ("imp", "levels.json", "prune", ["compare", "{bad}", "--out", "{s}/c.png"]),
          ("imp", "imp.json", "prune", ["imp", "--control", "reinit", "--ticket", "{bad}", "--out", "{s}/pi"]),
      )
      for content in ("[]", "{}", "null", "[1, 2]", '"hello"', '{"config": []}')],
    ("models", lambda s: ["show", str(_bad_copy(s, "a", "config.json", json.dumps(
        {"config": {k: v for k, v in json.loads((s / "a" / "config.json").read_text())["config"].items()
                    if k != "k"}})))], "missing config keys: k"),
    ("models", lambda s: ["show", str(_bad_copy(s, "a", "config.json", json.dumps(
        {"config": {**json.loads((s / "a" / "config.json").read_text())["config"], "colour": 3}})))], "unknown"),
    ("models", lambda s: ["show", str(_bad_copy(s, "a", "config.json", json.dumps(
        {"config": {**json.loads((s / "a" / "config.json").read_text())["config"], "n_features": 10**9}})))],
     "limit"),
    ("models", lambda s: ["show", str(_bad_copy(s, "a", "summary.json", "symlink:/dev/zero"))], "regular file"),
    ("basins", lambda s: ["align", str(s / "a"), str(_bad_copy(s, "b", "metrics.jsonl", '{"loss": 1}\n')),
                          "--out", str(s / "al")], "integer step"),
    # tensors of the wrong dtype, shape or with NaN
    *[("basins", lambda s, k=kind: ["interpolate", str(s / "a"), str(_bad_copy(s, "b", "model.safetensors",
                                                                               _wrong_tensors(k)(s))),
                                    "--out", str(s / "i")], needle)
      for kind, needle in (("float64", "float64"), ("nan", "NaN"), ("int", "int32"), ("shape", "shape"))],
    # paths
    ("models", ["train", "--name", "x" * 300, "--runs-dir", "{s}", *T], "--name"),
    ("models", ["train", "--name", "a\nb", "--runs-dir", "{s}", *T], "--name"),
    ("models", ["train", "--name", "x", "--runs-dir", "{s}/file", *T], "file"),
    ("models", ["sweep", *T, "--out", "{s}/file"], "not a directory"),
    ("basins", ["interpolate", "{s}/a", "{s}/b", "--out", "{s}/file/sub"], "file"),
    ("prune", ["compare", "{s}/imp", "--out", "{s}/notes"], ".png"),
    # typer's own rejections, as one line
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--k", "abc"], "--k"),
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--colour", "3"], "--colour"),
    ("models", ["train", "--runs-dir", "{s}", *T], "--name"),
    ("basins", ["interpolate", "{s}/a"], "Missing argument"),
    ("prune", ["imp", "{s}/a", "--rounds", "1.5", "--out", "{s}/i"], "--rounds"),
    # values that were silently ignored
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--threads", "0"], "--threads"),
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--threads", "-1"], "--threads"),
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", "--preset", "", "--steps", "8"], "--preset"),
    ("basins", ["curve", "{s}/a", "{s}/b", "--seed", "-1", "--out", "{s}/c"], "--seed"),
    ("basins", ["curve", "{s}/a", "{s}/b", "--seed", "1" + "0" * 23, "--out", "{s}/c"], "--seed"),
    ("basins", ["cbft", "{s}/a", "--seed", "-1", "--out", "{s}/cb"], "--seed"),
    ("basins", ["curve", "{s}/a", "{s}/b", "--eval-size", "0", "--out", "{s}/c"], "--eval-size"),
    ("basins", ["cbft", "{s}/gelu", "--steps", "8", "--out", "{s}/cb"], "gelu"),
    ("prune", ["imp", "{s}/a", "--rewind", "0", "--out", "{s}/i"], "--rewind"),
    ("prune", ["imp", "{s}/a", "--rewind", "-4", "--out", "{s}/i"], "--rewind"),
    # the plane, figure formats, bias-decay modes
    ("basins", ["plane", "{s}/a", "{s}/b", "--out", "{s}/p"], "one of them"),
    ("basins", ["plane", "{s}/a", "{s}/b", "{s}/imp/level_01", "--curve", "{s}/notes", "--out", "{s}/p"], "one of them"),
    ("basins", ["plane", "{s}/a", "{s}/b", "{s}/imp/level_01", "--grid", "2", "--out", "{s}/p"], "--grid"),
    ("basins", ["plane", "{s}/a", "{s}/b", "{s}/imp/level_01", "--margin", "nan", "--out", "{s}/p"], "--margin"),
    ("basins", ["plane", "{s}/a", "{s}/b", "{s}/imp/level_01", "--eval-size", "0", "--out", "{s}/p"], "--eval-size"),
    ("basins", ["plane", "{s}/a", "{s}/b", "--curve", "{s}/notes", "--out", "{s}/p"], "curve.json"),
    ("basins", ["plane", "{s}/a", "{s}/b", "{s}/gelu", "--out", "{s}/p"], "nonlinearities"),
    ("basins", ["interpolate", "{s}/a", "{s}/b", "--method", "magic", "--out", "{s}/ip"], "--method"),
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--format", "gif"], "--format"),
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--bias-decay-mode", "often"], "--bias-decay-mode"),
    ("models", ["train", "--name", "x", "--runs-dir", "{s}", *T, "--bias-decay-mode", "per-neuron",
                "--nonlinearity", "gelu"], "per-neuron needs relu"),
    ("prune", ["neurons", "{s}/imp", "--format", "tiff"], "--format"),
    ("prune", ["imp", "{s}/a", "--rounds", "1", "--out", "{s}/i", "--format", "jpg"], "--format"),
]


def _tree(root):
    return {str(p.relative_to(root)): (p.is_dir() or p.is_symlink() or p.stat().st_size,
                                      p.lstat().st_mtime_ns) for p in root.rglob("*")}


@pytest.mark.parametrize("app,argv,needle", CASES, ids=[f"{i:02d}-{c[0]}" for i, c in enumerate(CASES)])
def test_bad_input_is_refused_in_one_line_and_nothing_changes(base, tmp_path, app, argv, needle):
    s = tmp_path / "store"
    shutil.copytree(base, s, symlinks=True)
    args = argv(s) if callable(argv) else _fill(argv, s)
    before = _tree(s)
    r = CliRunner().invoke(APPS[app], args)
    assert r.exit_code not in (0, None), (r.exit_code, r.stdout[-300:])
    err = r.stderr.strip()
    assert "Traceback" not in r.stdout + r.stderr
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert len(err.splitlines()) == 1 and err.startswith("error:"), err
    assert needle in err, err
    assert _tree(s) == before, "the store changed"


def test_a_run_whose_loss_turns_non_finite_stops_unfinished(tmp_path):
    from models import runs

    with pytest.raises(runs.RunError, match="became (nan|inf) at step"):
        train_run(tiny(steps=64, batch=32, lr=1e20, schedule="constant", optimizer="adam"), tmp_path / "r",
                  plots=False)
    assert not runs.is_finished(tmp_path / "r")


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    from models import runs
    from models.rundir import ResultDir

    with ResultDir(tmp_path / "sw", "sweep", None) as first:
        first.claim(resume=True)
        with pytest.raises(runs.RunError, match="another process"):
            ResultDir(tmp_path / "sw", "sweep", None).claim(resume=True)
    ResultDir(tmp_path / "sw", "sweep", None).claim(resume=True)  # released on leaving


def test_disk_full_is_one_line(tmp_path, monkeypatch):
    import models.runs as runs_mod
    from safetensors import SafetensorError

    def full(*a, **k):
        raise SafetensorError("Error while serializing: IoError(No space left on device)")
    monkeypatch.setattr(runs_mod, "save_file", full)
    r = CliRunner().invoke(models_app, ["train", "--name", "x", "--runs-dir", str(tmp_path), *T, "--quiet"])
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1 and "No space left" in r.stderr, r.stderr
    assert torch.get_num_threads() >= 1
