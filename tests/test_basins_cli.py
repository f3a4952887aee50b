"""basins commands end to end on tiny runs, and their refusals (one line, non-zero, nothing written)."""
import json

import numpy as np
import pytest
import torch

from basins.curve import curve_point
from conftest import cli


def test_curve_starts_on_the_line_and_passes_through_its_points():
    g = torch.Generator().manual_seed(0)
    a, b = {"w": torch.randn(5, generator=g)}, {"w": torch.randn(5, generator=g)}
    for bends in (1, 2, 3):
        pts = [a, *[{"w": torch.lerp(a["w"], b["w"], i / (bends + 1))} for i in range(1, bends + 1)], b]
        for t in (0.0, 0.3, 0.5, 0.9, 1.0):
            line = torch.lerp(a["w"], b["w"], t)
            assert torch.allclose(curve_point(pts, t, "bezier")["w"], line, atol=1e-6)
            assert torch.allclose(curve_point(pts, t, "polychain")["w"], line, atol=1e-6)
    c = {"w": torch.randn(5, generator=g)}
    assert torch.allclose(curve_point([a, c, b], 0.5, "polychain")["w"], c["w"])
    assert torch.allclose(curve_point([a, c, b], 0.0, "bezier")["w"], a["w"])
    assert torch.allclose(curve_point([a, c, b], 1.0, "bezier")["w"], b["w"])


def test_align_writes_a_run_with_the_same_function(tiny_runs, tmp_path):
    from models.runs import load_run

    out = tmp_path / "aligned"
    r = cli("basins", "align", tiny_runs / "s0", tiny_runs / "s1", "--out", out)
    assert r.returncode == 0, r.stderr
    al = json.loads((out / "alignment.json").read_text())
    assert sorted(al["permutation"]) == list(range(128)) and al["objective_after"] >= al["objective_before"]
    aligned, b = load_run(out), load_run(tiny_runs / "s1")
    assert aligned.summary["final_loss"] == pytest.approx(b.summary["final_loss"], rel=1e-5)
    assert aligned.summary["mono_count"] == b.summary["mono_count"]
    p = np.array(al["permutation"])
    assert torch.equal(aligned.params["W1"], b.params["W1"][p])
    r = cli("basins", "align", tiny_runs / "s0", tiny_runs / "s1", "--out", out)
    assert r.returncode != 0 and "--force" in r.stderr


def test_interpolate_writes_every_number_and_a_figure(tiny_runs, tmp_path):
    out = tmp_path / "interp"
    r = cli("basins", "interpolate", tiny_runs / "s0", tiny_runs / "s2", "--points", "5", "--out", out)
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "interpolation.json").read_text())
    for key in ("alphas", "loss_naive", "loss_aligned", "mono_naive", "mono_aligned", "barrier_naive",
                "barrier_aligned", "barrier_naive_mean", "barrier_aligned_mean", "barrier_naive_rel",
                "barrier_aligned_rel", "barrier_naive_mean_rel", "barrier_aligned_mean_rel", "permutation"):
        assert key in res, key
    assert len(res["loss_aligned"]) == 5 and res["loss_naive"][0] == res["loss_aligned"][0]
    assert res["permuted_b_max_output_change"] < 1e-5
    assert (out / "interpolation.png").stat().st_size > 10_000
    r = cli("basins", "interpolate", tiny_runs / "s0", tiny_runs / "s2", "--points", "5", "--out", out, "--force",
            "--format", "svg")
    assert r.returncode == 0 and (out / "interpolation.svg").read_text().lstrip().startswith("<?xml"), r.stderr


def test_map_hop_cbft_and_curve_run_end_to_end(tiny_runs, tmp_path):
    from models.runs import load_run

    r = cli("basins", "map", tiny_runs / "s0", tiny_runs / "s1", tiny_runs / "s2", "--points", "5",
            "--eval-size", "2048", "--out", tmp_path / "map")
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "map" / "map.json").read_text())
    assert sorted(i for c in m["components"] for i in c) == [0, 1, 2]
    assert np.allclose(np.diag(m["aligned"]), 0) and m["differing_fields"] == ["lr"]
    assert (tmp_path / "map" / "map.png").exists()

    r = cli("basins", "hop", tiny_runs / "s0", tiny_runs / "s2", "--lambdas", "0,1", "--steps", "64",
            "--release", "0", "--points", "5", "--eval-size", "2048", "--out", tmp_path / "hop")
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "hop" / "hop.json").read_text())["directions"][0]["rows"]
    assert [row["lambda"] for row in rows] == [0, 1]
    assert rows[1]["distance_to_b"] < rows[0]["distance_to_b"]  # the pull pulls
    assert load_run(rows[1]["run"]).config.steps == 64
    (tmp_path / "hop" / "hop.json").unlink()  # an unfinished hop resumes, but not with other settings
    r = cli("basins", "hop", tiny_runs / "s0", tiny_runs / "s2", "--lambdas", "0,1", "--steps", "32",
            "--release", "0", "--points", "5", "--eval-size", "2048", "--out", tmp_path / "hop")
    assert r.returncode != 0 and "other settings" in r.stderr and "Traceback" not in r.stderr

    r = cli("basins", "cbft", tiny_runs / "s2", "--steps", "64", "--points", "5", "--out", tmp_path / "cbft")
    assert r.returncode == 0, r.stderr
    c = json.loads((tmp_path / "cbft" / "cbft.json").read_text())
    assert c["mono_before"] == load_run(tiny_runs / "s2").summary["mono_per_N"]
    assert load_run(tmp_path / "cbft").summary["mono_per_N"] == c["mono_after"]

    r = cli("basins", "curve", tiny_runs / "s0", tiny_runs / "s1", "--steps", "32", "--points", "7",
            "--eval-size", "4096", "--out", tmp_path / "curve")
    assert r.returncode == 0, r.stderr
    cu = json.loads((tmp_path / "curve" / "curve.json").read_text())
    assert cu["loss_curve"][0] == pytest.approx(cu["loss_line"][0], rel=1e-6)
    assert len(cu["t"]) == 7 and (tmp_path / "curve" / "curve.png").exists()


@pytest.mark.parametrize("args,needle", [
    (["interpolate", "{s0}", "{other_task}"], "different tasks"),
    (["interpolate", "{s0}", "{other_k}"], "different shapes"),
    (["align", "{s0}", "{missing}"], "no run directory"),
    (["interpolate", "{s0}", "{s1}", "--points", "2"], "--points"),
    (["interpolate", "{s0}", "{s1}", "--method", "magic"], "--method"),
    (["hop", "{s0}", "{s1}", "--lambdas", "-1"], "--lambdas"),
    (["hop", "{s0}", "{s1}", "--lambdas", "x"], "--lambdas"),
    (["curve", "{s0}", "{s1}", "--kind", "spline"], "--kind"),
    (["cbft", "{s0}", "--margin", "0"], "--margin"),
    (["map", "{s0}"], "at least 2"),
    (["map", "{s0}", "{s1}", "--tol", "0"], "--tol"),
    (["interpolate", "{s0}", "{corrupt}"], "corrupt"),
    (["interpolate", "{s0}", "{s1}", "--device", "tpu"], "unknown --device"),
    pytest.param(["map", "{s0}", "{s1}", "--device", "cuda"], "no CUDA device",
                 marks=pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is here")),
])
def test_bad_input_is_refused_in_one_line_and_nothing_is_written(tiny_runs, tmp_path, args, needle):
    import shutil

    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_runs / "s1", corrupt)
    (corrupt / "model.safetensors").write_bytes(b"not a tensor file")
    names = dict(s0=tiny_runs / "s0", s1=tiny_runs / "s1", other_task=tiny_runs / "other_task",
                 other_k=tiny_runs / "other_k", missing=tmp_path / "nope", corrupt=corrupt)
    out = tmp_path / "out"
    argv = [a.format(**names) for a in args] + ["--out", str(out)]
    if args[-1] == "{other_task}":  # one case through a real subprocess; the rest in process (~4 s each saved)
        r = cli("basins", *argv)
        code, stderr = r.returncode, r.stderr
    else:
        from typer.testing import CliRunner

        from basins.cli import app

        r = CliRunner().invoke(app, argv)
        code, stderr = r.exit_code, r.stderr
    assert code == 2, (code, stderr)
    assert needle in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not out.exists()
