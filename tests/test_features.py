"""The per-feature view: a hand-built model whose neurons serve known features gives the known table
(served features reconstructed, a feature shared by a polysemantic neuron half reconstructed, unserved
features ignored), ranks follow the frequencies, and `models features` writes its JSON and figure or
refuses in one line."""
import json

import pytest
import torch
from typer.testing import CliRunner

from conftest import tiny
from models.cli import app


def _hand_built():
    """N = d = 8 (P orthogonal), k = 4: neurons 0 and 1 read and write features 0 and 1; neuron 2 reads
    features 2 + 3 and writes half to each; neuron 3 is dead. Features 4-7 have no neuron."""
    from models.tasks import make_task_tensors

    cfg = tiny(n_features=8, d_embed=8, k=4, eps=1 / 8)
    P = make_task_tensors(cfg)["P"]
    W1 = torch.stack([P[:, 0], P[:, 1], P[:, 2] + P[:, 3], torch.zeros(8)])
    W2 = torch.zeros(8, 4)
    W2[0, 0] = W2[1, 1] = 1.0
    W2[2, 2] = W2[3, 2] = 0.5
    return cfg, {"W1": W1, "b1": torch.tensor([0.0, 0.0, 0.0, -1.0]), "W2": W2}


def test_hand_built_model_gives_the_known_table():
    from models.features import feature_view

    cfg, params = _hand_built()
    v = feature_view(params, cfg, eval_size=2**14)
    f = v["features"]
    assert [r["category"] for r in f] == ["monosemantic"] * 2 + ["polysemantic"] * 2 + ["ignored"] * 4
    assert v["counts"] == {"monosemantic": 2, "polysemantic": 2, "ignored": 4}
    assert (v["mono_count"], v["dead_count"]) == (2, 1)
    assert f[0]["mono_neurons"] == [0] and f[1]["mono_neurons"] == [1]
    for i in (0, 1):  # served: exact reconstruction, all of the activation in the mono neuron
        assert f[i]["rel_error"] < 1e-10 and f[i]["mono_share"] == pytest.approx(1, abs=1e-6)
        assert f[i]["poly_share"] == pytest.approx(0, abs=1e-6)  # float rounding of P^T P off the diagonal
    for i in (2, 3):  # the shared neuron: half the amplitude back, error ~ half the zero predictor's
        assert f[i]["mono_neurons"] == [] and f[i]["poly_share"] == pytest.approx(1) and f[i]["poly_carriers"] == 1
        assert 0.35 < f[i]["rel_error"] < 0.65
    for i in range(4, 8):  # nothing reads or writes them: the output is 0, exactly the zero predictor
        assert f[i]["rel_error"] == pytest.approx(1)
    assert sum(d["features"] for d in v["deciles"]) == 8


def test_ranks_follow_the_power_law_and_the_reprojector_has_no_per_feature_error():
    from models.features import feature_view
    from models.model import init_params

    cfg = tiny(freq="power_law")
    v = feature_view(init_params(cfg, torch.Generator().manual_seed(0)), cfg, eval_size=256)
    assert [r["rank"] for r in v["features"]] == list(range(1, cfg.n_features + 1))
    assert all(a["p"] >= b["p"] for a, b in zip(v["features"], v["features"][1:]))
    rep = tiny(task="reprojector")
    w = feature_view(init_params(rep, torch.Generator().manual_seed(0)), rep, eval_size=256)
    assert all(r["rel_error"] is None and r["category"] != "ignored" for r in w["features"])


def _cli(*args):
    r = CliRunner().invoke(app, ["features", *map(str, args)])
    return r.exit_code, r.output


def test_features_command_writes_json_and_figure(tiny_runs, tmp_path):
    code, out = _cli(tiny_runs / "s0", "--eval-size", 1024, "--out", tmp_path / "f.svg", "--all")
    assert code == 0, out
    view = json.loads((tmp_path / "f.json").read_text())
    assert sum(view["counts"].values()) == view["n_features"] == len(view["features"])
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    assert "features by frequency decile" in out


@pytest.mark.parametrize("args,msg", [
    (["--out", "{tmp}/f.txt"], "--out must name"),
    (["--eval-size", "0", "--out", "{tmp}/f.png"], "--eval-size must be in"),
])
def test_features_command_refuses_bad_input_in_one_line(tiny_runs, tmp_path, args, msg):
    code, out = _cli(tiny_runs / "s0", *[a.format(tmp=tmp_path) for a in args])
    assert code != 0 and msg in out and len(out.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
