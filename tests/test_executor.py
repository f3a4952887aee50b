"""Executors: the local pool and a real local Ray instance run the same sweep cells and basin-map rows,
bit for bit; failures are reported (and retried on Ray); finished cells are skipped and killed ones resumed."""
import json
import math
import os
import sys
from pathlib import Path

import pytest

from conftest import tiny
from models.config import ConfigError
from models.executor import make_executor


def test_local_reports_a_failing_item_and_goes_on():
    with make_executor("local", workers=2) as ex:
        got = {item: (res, err) for item, res, err in ex.map_unordered(math.sqrt, [4.0, -1.0, 9.0])}
    assert got[4.0] == (2.0, None) and got[9.0] == (3.0, None)
    assert got[-1.0][0] is None and isinstance(got[-1.0][1], ValueError)


def test_missing_ray_is_one_line_with_the_install_command(monkeypatch, tmp_path):
    from models.sweep import expand, run_sweep

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    with pytest.raises(ConfigError) as e:
        make_executor("ray", workers=2)
    assert str(e.value) == "--backend ray needs Ray: pip install -e '.[ray]'"
    with pytest.raises(ConfigError, match="pip install"):
        run_sweep(expand(tiny(), [], [], [0]), tmp_path / "sw", backend="ray")
    assert not (tmp_path / "sw").exists()  # refused before anything is written


@pytest.mark.parametrize("kw,needle", [(dict(backend="dask"), "unknown --backend"),
                                       (dict(address="auto"), "need --backend ray"),
                                       (dict(gpus_per_task=0.5), "need --backend ray"),
                                       (dict(workers=0), "--workers"),
                                       (dict(backend="ray", gpus_per_task=2.0), "--gpus-per-run")])
def test_bad_options_are_refused(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        make_executor(**kw)


def test_cli_imports_neither_ray_nor_torch_and_refuses_bad_backends(tmp_path):
    import subprocess

    from conftest import REPO, cli

    out = subprocess.run([sys.executable, "-c", "import sys, models.cli, basins.cli, models.executor; "
                          "print('ray' in sys.modules, 'torch' in sys.modules)"], capture_output=True, text=True,
                         cwd=REPO)
    assert out.stdout.strip() == "False False", out.stderr
    r = cli("models", "sweep", "--preset", "tiny", "--out", tmp_path / "sw", "--backend", "dask")
    assert r.returncode != 0 and "unknown --backend" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = cli("basins", "map", "a", "b", "--address", "auto", "--out", tmp_path / "map")
    assert r.returncode != 0 and "need --backend ray" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "map").exists()
    assert not (tmp_path / "sw").exists()


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # Ray workers import functions by module; this test module is not on their path, so ship `flaky` by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray
    ray.shutdown()




def flaky(path: str) -> str:
    """Fails on the first attempt (leaving a marker file), succeeds on the second."""
    p = Path(path)
    if not p.exists():
        p.write_text("tried")
        raise RuntimeError("first attempt fails")
    return "ok"


def test_ray_retries_then_reports(ray_local, tmp_path):
    items = [str(tmp_path / "a"), str(tmp_path / "b")]
    with make_executor("ray", workers=2, max_retries=1) as ex:
        assert [(res, err) for _, res, err in ex.map_unordered(flaky, items)] == [("ok", None)] * 2
    with make_executor("ray", workers=2, max_retries=0) as ex:
        (item, res, err), = ex.map_unordered(flaky, [str(tmp_path / "c")])
    assert res is None and isinstance(err, RuntimeError) and str(err) == "first attempt fails"
    assert ray_local.is_initialized()  # an executor leaves a Ray instance it did not start running


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_ray_sweep_equals_local_bit_for_bit_skips_finished_and_resumes(ray_local, tmp_path):
    import torch

    from models import runs
    from models.sweep import expand, run_sweep
    from models.train import train_run

    cells = expand(tiny(steps=64, batch=64), ["lr=0.01,0.03"], [], [0, 1])
    assert len(cells) == 4
    local, rayd = tmp_path / "local", tmp_path / "ray"
    run_sweep(cells, local, workers=2)
    # on Ray's side one cell is finished already and one was killed half-way (its resume state kept)
    train_run(cells[0].config, rayd / cells[0].name)
    train_run(cells[1].config, rayd / cells[1].name, stop_after=32)
    assert (rayd / cells[1].name / runs.RESUME).exists() and not runs.is_finished(rayd / cells[1].name)
    stamp = (rayd / cells[0].name / runs.SUMMARY).stat().st_mtime_ns
    seen = []
    table = run_sweep(cells, rayd, workers=2, on_cell=lambda c, s: seen.append((c.name, s)), backend="ray")
    assert sorted(seen) == sorted((c.name, "done") for c in cells[1:])  # the finished cell was skipped
    assert (rayd / cells[0].name / runs.SUMMARY).stat().st_mtime_ns == stamp
    assert all(r["state"] == "finished" for r in table)
    for c in cells:
        a, b = _files(local / c.name), _files(rayd / c.name)
        assert a.keys() == b.keys(), c.name
        for f in a:
            if f == runs.SUMMARY:  # wall times differ; everything else is equal
                sa, sb = (json.loads(x[f]) for x in (a, b))
                for s in (sa, sb):
                    s.pop("wall_s"), s.pop("steps_per_s")
                assert sa == sb, c.name
            elif f.endswith(".png"):
                continue  # figures: drawn from the same numbers
            elif f == runs.FINAL_STATE:  # its wall time differs too
                ta, tb = (runs.read_tensors(d / c.name / f) for d in (local, rayd))
                assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta if k != "wall_s"), c.name
            else:
                assert a[f] == b[f], (c.name, f)
        ma, mb = runs.read_tensors(local / c.name / "model.safetensors"), runs.read_tensors(rayd / c.name / "model.safetensors")
        assert all(torch.equal(ma[n], mb[n]) for n in ma)


def test_ray_sweep_reports_a_failed_cell(ray_local, tmp_path):
    from models.sweep import expand, run_sweep

    cells = expand(tiny(steps=16, batch=64), [], [], [0, 1])
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / cells[0].name).write_text("not a run dir")  # this cell fails on every attempt
    table = {r["name"]: r for r in run_sweep(cells, tmp_path / "sw", backend="ray", max_retries=1)}
    assert table[cells[0].name]["state"] == "failed" and "not a directory" in table[cells[0].name]["error"]
    assert table[cells[1].name]["state"] == "finished"


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_basin_map_through_an_executor_equals_in_process(tiny_runs, backend, request):
    from basins.map import basin_map
    from models.runs import load_run

    if backend == "ray":
        request.getfixturevalue("ray_local")
    loaded = [load_run(tiny_runs / n) for n in ("s0", "s1", "s2")]
    ref = basin_map(loaded, points=5, eval_size=2048)
    pairs = []
    with make_executor(backend, workers=2) as ex:
        got = basin_map(loaded, points=5, eval_size=2048, executor=ex, on_pair=lambda i, j: pairs.append((i, j)))
    assert sorted(pairs) == [(0, 1), (0, 2), (1, 2)]
    assert got == ref


def _spawned_children(pid: int) -> list[int]:
    """Pool workers (multiprocessing spawn_main processes) whose parent is pid."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"spawn_main" in (d / "cmdline").read_bytes():
                out.append(int(d.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_local_workers_die_when_their_parent_is_killed():
    """SIGTERM to a sweep's own process (not its group) must not leave its workers training on."""
    import signal
    import subprocess
    import time

    from conftest import REPO

    code = ("import time; from models.executor import make_executor\n"
            "with make_executor('local', workers=2) as ex:\n    list(ex.map_unordered(time.sleep, [120, 120]))")
    p, workers = subprocess.Popen([sys.executable, "-c", code], cwd=REPO), []
    try:
        deadline = time.monotonic() + 60
        while len(workers := _spawned_children(p.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2
        time.sleep(1.0)  # let the workers pass their initializer
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, workers))
    finally:
        p.kill()
        for w in filter(_alive, workers):
            os.kill(w, signal.SIGKILL)
