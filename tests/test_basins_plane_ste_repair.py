"""The loss plane, STE matching and REPAIR: a plane's corners are the three runs, STE recovers a permuted
copy's permutation, REPAIR keeps a permuted copy's zero barrier at zero and restores each unit's spread."""
import json

import numpy as np
import pytest
import torch

from typer.testing import CliRunner

from basins.cli import app


def cli(*args):
    """The basins command line in process (the subprocess path is covered by tests/test_basins_cli.py)."""
    r = CliRunner().invoke(app, [str(a) for a in args[1:]])
    r.returncode = r.exit_code
    return r


def _run(root, name):
    from models import load_run

    return load_run(root / name)


def test_ste_recovers_a_permuted_copy(tiny_runs):
    from basins.align import permute
    from basins.align import ste_permutation

    a = _run(tiny_runs, "s0")
    perm = np.random.default_rng(3).permutation(a.config.k)
    copy = permute(a.params, perm)
    found, at_identity, at_found = ste_permutation(a.params, copy, a.config, steps=4)
    back = permute(copy, found)
    assert all(torch.equal(back[n], a.params[n]) for n in a.params)
    assert at_found < at_identity


def test_ste_through_align_runs_keeps_the_function(tiny_runs, tmp_path):
    r = cli("basins", "align", tiny_runs / "s0", tiny_runs / "s1", "--method", "ste", "--out", tmp_path / "al")
    assert r.returncode == 0, r.stderr
    rec = json.loads((tmp_path / "al" / "alignment.json").read_text())
    assert rec["method"] == "ste" and rec["objective_after"] <= rec["objective_before"]
    assert sorted(rec["permutation"]) == list(range(128)) and rec["max_output_change"] < 1e-5


def test_repair_keeps_a_permuted_copys_zero_barrier_at_zero(tiny_runs):
    from basins.align import align, permute
    from basins.interpolate import linear_path

    a = _run(tiny_runs, "s0")
    copy = permute(a.params, np.random.default_rng(1).permutation(a.config.k))
    aligned = permute(copy, align(a.params, copy).perm)
    path = linear_path(a.params, aligned, a.config, points=9, eval_size=4096, repair=True)
    assert max(path.loss) - min(path.loss) < 1e-6 * path.loss[0]
    assert abs(path.barriers["barrier"]) < 1e-6


def test_repair_gives_each_unit_the_blend_of_its_endpoints_spread(tiny_runs):
    from basins.align import align, permute
    from basins.interpolate import lerp_params
    from basins.repair import repaired, unit_stats
    from models.model import preactivations
    from models.tasks import eval_set

    a, b = _run(tiny_runs, "s0"), _run(tiny_runs, "s1")
    pb = permute(b.params, align(a.params, b.params).perm)
    x = eval_set(a.config, "cpu", 4096)[0]
    stats = unit_stats(a.params, pb, x)
    mid = lerp_params(a.params, pb, 0.5)
    z_plain = preactivations(mid, x).double()
    z = preactivations(repaired(mid, *stats.at(0.5)), x).double()
    want = (preactivations(a.params, x).double().std(0, correction=0) +
            preactivations(pb, x).double().std(0, correction=0)) / 2
    live = want > 1e-6
    assert torch.allclose(z.std(0, correction=0)[live], want[live], rtol=1e-4)
    assert torch.allclose(z.mean(0), z_plain.mean(0), atol=1e-5)  # the mean is the endpoints' blend already
    assert (z_plain.std(0, correction=0)[live] <= want[live] * (1 + 1e-6)).all()  # a blend never spreads more


def test_plane_corners_are_the_three_runs(tiny_runs):
    from basins.align import align, permute
    from basins.plane import plane
    from models.evaluate import eval_loss

    a, b, c = (_run(tiny_runs, n) for n in ("s0", "s1", "s2"))
    pb = permute(b.params, align(a.params, b.params).perm)
    pc = permute(c.params, align(a.params, c.params).perm)
    res = plane(a.params, pb, pc, a.config, grid=3, eval_size=4096)
    for name, run in (("A", a), ("B", b), ("C", c)):
        assert res["points"][name]["loss"] == pytest.approx(eval_loss(run.params, run.config, "cpu", 4096), rel=1e-5)
        assert res["points"][name]["mono_per_N"] == pytest.approx(run.summary["mono_per_N"])
    assert res["points"]["A"]["x"] == 0 and res["points"]["B"]["y"] == 0
    assert len(res["loss"]) == 3 and len(res["loss"][0]) == 3


def test_plane_command_with_a_run_and_with_a_curve_bend(tiny_runs, tmp_path):
    r = cli("basins", "plane", tiny_runs / "s0", tiny_runs / "s1", tiny_runs / "s2", "--grid", "3",
            "--eval-size", "512", "--out", tmp_path / "p")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "p" / "plane.png").exists() and json.loads((tmp_path / "p" / "plane.json").read_text())["grid"] == 3
    assert cli("basins", "curve", tiny_runs / "s0", tiny_runs / "s1", "--steps", "8", "--points", "3",
               "--eval-size", "512", "--out", tmp_path / "cv").returncode == 0
    r = cli("basins", "plane", tiny_runs / "s0", tiny_runs / "s1", "--curve", tmp_path / "cv", "--grid", "3",
            "--eval-size", "512", "--out", tmp_path / "pc")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "pc" / "plane.json").read_text())["c"].startswith("bend of")
    r = cli("basins", "plane", tiny_runs / "s0", tiny_runs / "s2", "--curve", tmp_path / "cv", "--out", tmp_path / "px")
    assert r.returncode != 0 and "other runs" in r.stderr and not (tmp_path / "px").exists()


def test_interpolate_repair_records_the_repaired_path(tiny_runs, tmp_path):
    r = cli("basins", "interpolate", tiny_runs / "s0", tiny_runs / "s1", "--repair", "--points", "5",
            "--eval-size", "2048", "--out", tmp_path / "ip")
    assert r.returncode == 0, r.stderr
    assert "repaired" in r.stdout
    rec = json.loads((tmp_path / "ip" / "interpolation.json").read_text())
    assert len(rec["loss_repaired"]) == 5 and rec["loss_repaired"][0] == pytest.approx(rec["loss_aligned"][0])
    assert "barrier_repaired_rel" in rec
