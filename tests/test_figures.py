"""`models figure` on a tiny real sweep, its refusals, and the paper's Table 1 batches as sweep specs."""
import math

import pytest

from conftest import cli, tiny


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """lr x (bias -1 with decay 0.1 | bias 0 without), 1 seed: 4 tiny runs of 128 steps, trained in this
    process (no worker start-up); run_sweep then finds them finished and only writes sweep.json."""
    from models.sweep import expand, run_sweep
    from models.train import train_run

    out = tmp_path_factory.mktemp("fig") / "sw"
    cells = expand(tiny(steps=128, k=64), ["lr=0.01,0.03"], ["bias_init=0,-1", "bias_decay=0,0.1"], [0])
    for c in cells:
        train_run(c.config, out / c.name)
    table = run_sweep(cells, out, workers=1)
    assert all(r["state"] == "finished" for r in table)
    return out


def test_figure_writes_both_pngs(tiny_sweep, tmp_path):
    out = tmp_path / "f" / "lr.png"
    r = cli("models", "figure", "lr", tiny_sweep, "--out", out)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 30_000 and (tmp_path / "f" / "lr_sfa.png").stat().st_size > 20_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from models.figures import figure

    written = figure(tiny_sweep, "bias", tmp_path / "bias.png", at={"lr": 0.03})
    assert written == [tmp_path / "bias.png", tmp_path / "bias_sfa.png"] and all(p.stat().st_size > 20_000 for p in written)


def test_select_holds_other_axes(tiny_sweep):
    from models.figures import select

    sel = select(tiny_sweep, "lr")
    assert sel["held"] == {"bias_init": 0.0, "bias_decay": 0.0}
    assert [k for k, _ in sel["groups"]] == [(0.01,), (0.03,)]
    sel = select(tiny_sweep, "lr", at={"bias_init": -1.0})
    assert sel["held"] == {"bias_init": -1.0, "bias_decay": 0.1}
    sel = select(tiny_sweep, "bias", at={"lr": 0.03})  # bias moves with its decay; lr is held
    assert sel["line_axes"] == ["bias_init", "bias_decay"] and sel["held"] == {"lr": 0.03}
    assert [k for k, _ in sel["groups"]] == [(-1.0, 0.1), (0.0, 0.0)]


def test_figure_refusal_is_one_line_exit_2_and_writes_nothing(tiny_sweep, tmp_path):
    out = tmp_path / "out" / "f.png"
    r = cli("models", "figure", "k", tiny_sweep, "--out", out)
    assert r.returncode == 2 and "does not vary k" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind,where,at,needle", [
    ("eps", "sweep", {}, "does not vary eps"), ("lr", "parent", {}, "not a sweep directory"),
    ("lr", "run", {}, "not a sweep directory"),
    ("lr", "nowhere", {}, "no sweep directory"), ("colour", "sweep", {}, "unknown figure kind"),
    ("lr", "sweep", {"k": 64}, "not an axis held fixed"), ("lr", "sweep", {"bias_init": 5.0}, "no cell"),
])
def test_figure_refusals(tiny_sweep, tmp_path, kind, where, at, needle):
    from models.config import ConfigError
    from models.figures import figure
    from models.runs import RunError

    target = {"sweep": tiny_sweep, "parent": tiny_sweep.parent, "nowhere": tmp_path / "nope",
              "run": tiny_sweep / "lr=0.01__bias_init=0__bias_decay=0__seed=0"}[where]
    with pytest.raises((ConfigError, RunError), match=needle):
        figure(target, kind, tmp_path / "out" / "f.png", at=at)
    with pytest.raises(ConfigError, match="must be a .png, .pdf or .svg"):
        figure(tiny_sweep, "lr", tmp_path / "out" / "f.jpg")
    assert not (tmp_path / "out").exists()


def test_figure_refuses_unfinished_runs(tiny_sweep, tmp_path):
    import shutil

    from models.figures import figure
    from models.runs import RunError

    copy = tmp_path / "sw"
    shutil.copytree(tiny_sweep, copy)
    (copy / "lr=0.03__bias_init=0__bias_decay=0__seed=0" / "summary.json").unlink()
    with pytest.raises(RunError, match="not finished"):
        figure(copy, "lr", tmp_path / "f.png")
    assert not (tmp_path / "f.png").exists()
    # the unfinished run is not among those compared at bias -1: that figure is drawn
    from models.figures import select

    assert len(select(copy, "lr", at={"bias_init": -1.0})["groups"]) == 2


@pytest.mark.parametrize("name,n,axis,values", [
    ("LR1", 6, "lr", [0.001, 0.003, 0.005, 0.007, 0.01, 0.03]),
    ("B1", 11, "bias_init", [-2.0, -1.7, -1.4, -1.1, -0.8, -0.5, -0.2, 0.1, 0.4, 0.7, 1.0]),
    ("E3", 11, "eps", [2.0 ** -(1 + 0.4 * i) for i in range(11)]),
    ("K0", 7, "k", [16, 32, 64, 128, 256, 512, 1024]),
    ("RG1", 7, "l1", [10.0 ** -i for i in range(1, 8)]),
    ("D1", 7, "bias_decay", [10.0 ** -i for i in range(1, 8)]),
])
def test_paper_sweeps_expand(name, n, axis, values):
    from models.paper_sweeps import cells

    cs = cells(name)
    assert len(cs) == n and [c.values[axis] for c in cs] == pytest.approx(values)
    cfg = cs[0].config
    assert (cfg.batch, cfg.steps, cfg.n_features, cfg.d_embed) == (8192, 2 ** 17, 512, 64)
    assert len(cells(name, seeds=[0, 1, 2])) == 3 * n


def test_paper_sweep_fixed_values():
    from models.paper_sweeps import PAPER_SWEEPS, cells

    assert len(PAPER_SWEEPS) == 20
    c = {name: cells(name)[0].config for name in PAPER_SWEEPS}
    assert (c["LR3"].bias_init, c["LR3"].bias_decay, c["LR3"].freq) == (-1.0, 0.03, "uniform")
    assert c["LR2"].freq == "power_law" and c["LR2"].bias_init == 0.0
    assert [c[f"B{i}"].eps for i in range(1, 6)] == [1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]
    assert [c[f"B{i}"].bias_decay for i in range(1, 6)] == [0.03, 0.003, 0.003, 0.003, 0.003]
    assert [c[f"E{i}"].bias_decay for i in range(1, 5)] == [0.03, 0.01, 0.003, 0.001]
    assert (c["K1"].lr, c["K1"].bias_init, c["K2"].freq) == (0.007, -1.0, "power_law")
    assert (c["LR5"].task, c["LR5"].k, c["D1"].task, c["RP1"].task) == ("abs", 2048, "abs", "reprojector")
    assert math.isclose(c["RG1"].lr, 0.005)


def test_paper_sweep_is_the_sweep_its_command_line_runs():
    """The cells of a batch are exactly those `models sweep` expands from its printed command line."""
    import shlex

    from models.clikit import TrainFlags
    from models.config import coerce
    from models.paper_sweeps import PAPER_SWEEPS, cells, command_line
    from models.sweep import expand

    for name in PAPER_SWEEPS:
        argv = shlex.split(command_line(name, "runs/x"))
        grid = [argv[i + 1] for i, a in enumerate(argv) if a == "--grid"]
        rest = argv[argv.index("--out") + 2:]
        flags = {k[2:].replace("-", "_"): coerce(k[2:].replace("-", "_"), v) for k, v in zip(rest[::2], rest[1::2])}
        base = TrainFlags(flags, argv[argv.index("--preset") + 1]).config()
        assert expand(base, grid, [], [0]) == cells(name), name


def test_paper_sweep_cli(tmp_path):
    r = cli("models", "paper-sweep", "B2", "--print", "--out", tmp_path / "b2")
    assert r.returncode == 0, r.stderr
    assert "11 runs" in r.stdout and "--grid bias_init=-2.0,-1.7," in r.stdout and "--bias-decay 0.003" in r.stdout
    assert not (tmp_path / "b2").exists()


def test_paper_sweep_refusals():
    from models.config import ConfigError
    from models.paper_sweeps import cells

    with pytest.raises(ConfigError, match="K0 sweeps k; it cannot also be fixed"):
        cells("K0", overrides={"k": 64})
    with pytest.raises(ConfigError, match="unknown paper sweep"):
        cells("X1")
    assert [c.config.steps for c in cells("lr1", overrides={"steps": 4096})] == [4096] * 6


def test_figure_compares_a_categorical_axis(tmp_path):
    """freq (uniform | power_law) as the compared variable: evenly spaced categories in the summary panels."""
    from models.figures import figure, select
    from models.sweep import expand, run_sweep
    from models.train import train_run

    out = tmp_path / "sw"
    cells = expand(tiny(steps=64, k=32), ["freq=uniform,power_law"], [], [0])
    for c in cells:
        train_run(c.config, out / c.name, plots=False)
    run_sweep(cells, out, workers=1, plots=False)
    assert [k for k, _ in select(out, "freq")["groups"]] == [("power_law",), ("uniform",)]
    assert figure(out, "freq", tmp_path / "freq.png") == [tmp_path / "freq.png", tmp_path / "freq_sfa.png"]
