"""Runs as a DataFrame and as an nn.Module: the views researchers' tools expect."""
import torch

from conftest import tiny
from models import as_module, load_run, params_from_module, runs_table
from models.model import forward, hidden
from models.tasks import eval_set
from models.train import train_run


def test_a_modules_forward_and_hooked_hidden_activations_equal_the_runs(tmp_path):
    cfg = tiny(steps=16, batch=32)
    train_run(cfg, tmp_path / "r", plots=False)
    run = load_run(tmp_path / "r")
    m = as_module(run)
    x = eval_set(cfg, "cpu", 256)[0]
    seen = {}
    m.hidden.register_forward_hook(lambda mod, inp, out: seen.setdefault("h", out.detach()))
    with torch.no_grad():
        out = m(x)
    assert torch.allclose(out, forward(run.params, x, cfg.nonlinearity), atol=1e-6)
    assert torch.allclose(seen["h"], hidden(run.params, x, cfg.nonlinearity), atol=1e-6)
    back = params_from_module(m)
    assert all(torch.equal(back[n], run.params[n]) for n in run.params)


def test_runs_table_has_a_row_per_run_with_config_summary_and_state(tmp_path):
    from typer.testing import CliRunner

    from models.cli import app

    train_run(tiny(steps=16, batch=32), tmp_path / "store" / "a", plots=False)
    train_run(tiny(steps=16, batch=32, lr=0.01), tmp_path / "store" / "sw" / "b", plots=False)
    train_run(tiny(steps=64, batch=32), tmp_path / "store" / "u", stop_after=8, plots=False)
    df = runs_table(tmp_path / "store")
    assert sorted(df["run"]) == ["a", "sw/b", "u"]
    assert dict(zip(df["run"], df["state"])) == {"a": "finished", "sw/b": "finished", "u": "unfinished"}
    assert {"lr", "k", "precision", "final_loss", "mono_per_N", "kind"} <= set(df.columns)
    assert df.set_index("run").loc["sw/b", "lr"] == 0.01
    r = CliRunner().invoke(app, ["list", "--runs-dir", str(tmp_path / "store"), "--csv"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("run,kind,state") and len(r.stdout.splitlines()) == 4
    r = CliRunner().invoke(app, ["list", "--runs-dir", str(tmp_path / "store"), "--json"])
    import json

    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 3
