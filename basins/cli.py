"""`basins` command line: parse and check, call basins' functions, print rich tables, write JSON + PNG.

Every command reads runs (a path, or a name under --runs-dir) and writes one --out directory, claimed
only after every input is checked. torch is imported inside commands (fast --help).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from models.clikit import app as make_app
from models.clikit import FORMAT, bars, console, figure_format, guarded, in_range, num, parse_floats, print_table
from models.config import LIMITS, MAX_ELEMENTS, ConfigError, require

app = make_app((
    "Are monosemantic and polysemantic solutions in different basins? Permutation alignment, linear "
    "interpolation and barriers, trained curves, hopping under a pull, connectivity-based fine-tuning, "
    "and basin maps over many runs."))

RUNS_DIR = typer.Option(Path("runs"), "--runs-dir", help="where run names are looked up")
FORCE = typer.Option(False, "--force", help="overwrite a finished result of the same command in --out")
DEVICE = typer.Option("auto", "--device", help="where losses are computed: auto (cuda if torch sees it) | cpu | cuda")
PRECISION = typer.Option(None, "--precision", help="fp32 | bf16 for the training steps (default: the run's own)")


MAX_POINTS, MAX_EVAL, MAX_BENDS = 1025, 2**20, 16


def _precision(run, precision: Optional[str]):
    """The run's config with the training precision asked for (TrainConfig refuses an unknown one)."""
    return run.config if precision is None else run.config.replace(precision=precision)


def _device(name: str) -> str:
    """--device resolved as training resolves it (auto: cuda when torch sees one)."""
    from models.config import DEVICES
    from models.train import resolve_device

    require(name in DEVICES, f"unknown --device {name!r}; choose one of {', '.join(DEVICES)}")
    return str(resolve_device(name))


def _claim(kind: str, out: Optional[Path], runs_dir: Path, runs: list, force: bool, fmt: Optional[str] = None, *,
           figure: Optional[str] = None, name: Optional[str] = None, resumable: bool = False, inputs=()):
    """(out, figure path, held claim): --out (default RUNS_DIR/basins/KIND-NAME, NAME the runs' names) claimed
    for `kind` with the runs and `inputs` as its inputs; FIGURE.FMT (FIGURE defaults to kind) is checked first.
    Call it after every other input is checked."""
    from .rundir import claim_out

    out = out or runs_dir / "basins" / "-".join([kind, name or "-".join(r.name for r in runs)])
    if fmt is not None:
        figure_format(fmt)
    fig = None if fmt is None else out / f"{figure or kind}.{fmt}"
    return out, fig, claim_out(out, kind, force=force, resumable=resumable, inputs=[*(r.path for r in runs), *inputs])


def _load(names: list[str], runs_dir: Path, points: Optional[int] = None, eval_size: Optional[int] = None):
    """Finished runs of one task (checked pairwise against the first), then --points and --eval-size."""
    from models.runs import load_run

    from .align import check_compatible

    loaded = [load_run(n, runs_dir) for n in names]
    paths = [r.path.resolve() for r in loaded]
    require(len(set(paths)) == len(paths), "each run may be given once")
    for r in loaded[1:]:
        check_compatible(loaded[0], r)
    require(points is None or 3 <= points <= MAX_POINTS, f"--points must be in [3, {MAX_POINTS}], got {points}")
    if eval_size is not None:
        require(1 <= eval_size <= MAX_EVAL, f"--eval-size must be in [1, {MAX_EVAL}], got {eval_size}")
        n = loaded[0].config.n_features
        require(eval_size * n <= MAX_ELEMENTS, f"--eval-size {eval_size} x N {n} exceeds {MAX_ELEMENTS} (memory)")
    return loaded


def _seed(seed: int) -> None:
    require(0 <= seed < 2**63, f"--seed must be in [0, 2^63), got {seed}")


def _steps(steps: int, flag: str = "--steps", lo: int = 1) -> None:
    require(lo <= steps <= LIMITS["steps"], f"{flag} must be in [{lo}, {LIMITS['steps']}], got {steps}")


def _write(out: Path, name: str, obj: dict) -> None:
    from models.runs import write_json

    write_json(out / name, obj)


# ------------------------------------------------------------------ align
@app.command()
@guarded
def align(a: str = typer.Argument(..., help="reference run A"), b: str = typer.Argument(..., help="run B to permute"),
          method: str = typer.Option("weight", help="weight | activation | ste (learned from the midpoint loss)"),
          out: Optional[Path] = typer.Option(None, "--out", help="run dir for aligned B (+ alignment.json); "
                                                                 "default RUNS_DIR/basins/align-A-B"),
          runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """The permutation of B's hidden units that best matches A; writes aligned B as a run dir."""
    from .align import METHODS, aligned_copy
    from .rundir import write_run

    require(method in METHODS, f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    ra, rb = _load([a, b], runs_dir)
    metrics = rb.metrics()  # read (and checked) before anything is written
    out, _, claim = _claim("align", out, runs_dir, [ra, rb], force)
    with claim:
        _, params, init, result = aligned_copy(ra, rb, method)
        write_run(out, rb.config, params, init, metrics, wall_s=rb.summary.get("wall_s"),
                  steps_per_s=rb.summary.get("steps_per_s"))
        _write(out, "alignment.json", result)
    console().print(f"aligned {rb.name} to {ra.name} by {method} matching: objective "
                    f"{result['objective_before']:.4f} -> {result['objective_after']:.4f}, "
                    f"{result['units_moved']} of {ra.config.k} units moved; max output change "
                    f"{result['max_output_change']:.2e}\nwrote {out}")


# ------------------------------------------------------------------ interpolate
@app.command()
@guarded
def interpolate(a: str = typer.Argument(..., help="run A (alpha 0)"), b: str = typer.Argument(..., help="run B (alpha 1)"),
                points: int = typer.Option(33, "--points", help="alphas from 0 to 1"),
                method: str = typer.Option("weight", help="alignment: weight | activation | ste"),
                repair: bool = typer.Option(False, "--repair", help="also the aligned path after REPAIR (each "
                                            "unit's pre-activation std reset to the endpoints' blend)"),
                eval_size: Optional[int] = typer.Option(None, "--eval-size", help="eval samples (default: the "
                                                                                   "task's full 2^16 eval set)"),
                out: Optional[Path] = typer.Option(None, "--out", help="default RUNS_DIR/basins/interpolate-A-B"),
                device: str = DEVICE, fmt: str = FORMAT, runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Loss and mono/N along the straight path A -> B, naive and after alignment; both barriers."""
    from .align import METHODS
    from .interpolate import interpolation_record
    from .plots import interpolation_plot

    require(method in METHODS, f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    ra, rb = _load([a, b], runs_dir, points, eval_size)
    dev = _device(device)
    out, fig, claim = _claim("interpolate", out, runs_dir, [ra, rb], force, fmt, figure="interpolation")
    with claim:
        res = interpolation_record(ra, rb, points, method, eval_size, dev, repair=repair)
        _write(out, "interpolation.json", res)
        interpolation_plot(res, ra, rb, fig)
    _print_barriers(res)
    console().print(f"wrote {out}/interpolation.json, interpolation.{fmt}")


def _print_barriers(res: dict) -> None:
    mid = len(res["alphas"]) // 2
    print_table(f"{Path(res['a']).name} -> {Path(res['b']).name}",
                ("path", "barrier", "barrier (rel)", "barrier_mean", "barrier_mean (rel)", "mono/N at alpha 0.5"),
                [(kind, f"{res[f'barrier_{kind}']:+.5f}", f"{100 * res[f'barrier_{kind}_rel']:+.2f}%",
                  f"{res[f'barrier_{kind}_mean']:+.5f}", f"{100 * res[f'barrier_{kind}_mean_rel']:+.2f}%",
                  "-" if res[f"mono_{kind}"] is None else f"{res[f'mono_{kind}'][mid]:.3f}")
                 for kind in ("naive", "aligned", "repaired") if f"loss_{kind}" in res])


# ------------------------------------------------------------------ plane
@app.command()
@guarded
def plane(a: str = typer.Argument(..., help="run A (the origin)"), b: str = typer.Argument(..., help="run B"),
          c: Optional[str] = typer.Argument(None, help="run C (or give --curve)"),
          curve: Optional[Path] = typer.Option(None, "--curve", help="a `basins curve A B` result: C is its bend"),
          grid: int = typer.Option(21, "--grid", help="points per side of the grid"),
          margin: float = typer.Option(0.2, "--margin", help="the grid extends this fraction beyond the three points"),
          eval_size: int = typer.Option(2**14, "--eval-size", help="eval samples per grid point"),
          out: Optional[Path] = typer.Option(None, "--out", help="default RUNS_DIR/basins/plane-A-B-C"),
          device: str = DEVICE, fmt: str = FORMAT, runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Loss and mono/N over the plane through A, B and C (or a curve's bend), B and C weight-matched to A."""
    from .plane import curve_bend, plane_record
    from .plots import plane_plot

    require((c is None) != (curve is None), "give a third run C or --curve DIR (one of them)")
    require(3 <= grid <= 101, f"--grid must be in [3, 101], got {grid}")
    in_range(margin, "--margin", 0, 2)
    runs = _load([a, b] + ([c] if c else []), runs_dir, None, eval_size)
    dev = _device(device)
    bend = curve_bend(curve, *runs) if curve is not None else None
    name = "-".join(r.name for r in runs) + ("" if c else f"-{curve.name}")
    out, fig, claim = _claim("plane", out, runs_dir, runs, force, fmt, name=name,
                             inputs=[curve] if curve is not None else [])
    with claim:
        res = plane_record(runs[0], runs[1], runs[2] if c else None, bend, str(curve), grid, margin, eval_size, dev)
        _write(out, "plane.json", res)
        plane_plot(res, runs[0], runs[1], fig)
    print_table(f"plane through {runs[0].name}, {runs[1].name} and {Path(res['c']).name if c else 'the bend'}",
                ("point", "x", "y", "eval loss", "mono/N"),
                [(k, f"{v['x']:.3f}", f"{v['y']:.3f}", f"{v['loss']:.5f}", num(v["mono_per_N"], ".3f"))
                 for k, v in res["points"].items()])
    console().print(f"wrote {out}/plane.json, plane.{fmt}")


# ------------------------------------------------------------------ curve
@app.command()
@guarded
def curve(a: str = typer.Argument(..., help="run A (t = 0)"), b: str = typer.Argument(..., help="run B (t = 1, aligned)"),
          kind: str = typer.Option("bezier", help="bezier | polychain"),
          bends: int = typer.Option(1, "--bends", help="trained control points between the endpoints"),
          steps: int = typer.Option(2048, "--steps", help="training steps for the bends"),
          lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate (annealed once by a cosine)"),
          seed: int = typer.Option(0, "--seed"),
          points: int = typer.Option(61, "--points", help="values of t to evaluate"),
          eval_size: Optional[int] = typer.Option(None, "--eval-size"),
          out: Optional[Path] = typer.Option(None, "--out", help="default RUNS_DIR/basins/curve-A-B"),
          precision: Optional[str] = PRECISION, fmt: str = FORMAT, runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Train a curve from A to weight-matched B (Garipov et al.): connected by a curve but not a line?"""
    from models.runs import write_tensors

    from .curve import KINDS, curve_record
    from .plots import curve_plot

    require(kind in KINDS, f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    require(1 <= bends <= MAX_BENDS, f"--bends must be in [1, {MAX_BENDS}], got {bends}")
    _steps(steps)
    in_range(lr, "--lr", 0, 10, open_lo=True)
    _seed(seed)
    ra, rb = _load([a, b], runs_dir, points, eval_size)
    ra.config = _precision(ra, precision)
    out, fig, claim = _claim("curve", out, runs_dir, [ra, rb], force, fmt)
    with claim:
        with bars() as new_bar:
            res, tensors = curve_record(ra, rb, kind, bends, steps, lr, seed, points, eval_size,
                                        on_progress=new_bar(f"curve {kind}", steps))
        write_tensors(out / "bends.safetensors", tensors)
        _write(out, "curve.json", res)
        curve_plot(res, ra, rb, fig)
    print_table(f"{ra.name} -> {rb.name}: {kind}, {bends} bend(s), {steps} steps",
                ("path", "max loss", "mean loss", "integral", "barrier", "barrier (rel)"),
                [(name, f"{r['max']:.5f}", f"{r['mean']:.5f}", f"{r['integral']:.5f}", f"{r['barrier']:+.5f}",
                  f"{100 * r['barrier_rel']:+.2f}%") for name, r in (("line", res["line"]), ("curve", res["curve"]))])
    console().print(f"wrote {out}/curve.json, curve.{fmt}, bends.safetensors")


# ------------------------------------------------------------------ hop
@app.command()
@guarded
def hop(a: str = typer.Argument(..., help="start run A"), b: str = typer.Argument(..., help="target run B"),
        lambdas: str = typer.Option("0,1e-4,1e-3,1e-2,1e-1,1", "--lambdas", help="pull strengths (0 = no pull, "
                                                                                    "the control)"),
        steps: int = typer.Option(4096, "--steps", help="steps with the pull per lambda (A's recipe, no bias decay)"),
        release: Optional[int] = typer.Option(None, "--release", help="further steps without the pull "
                                              "(default steps/4)"),
        lr: Optional[float] = typer.Option(None, "--lr", help="learning rate (default: the start's own; give one "
                                           "to compare directions at equal lr)"),
        both: bool = typer.Option(False, "--both", help="also pull B toward A"),
        tol: float = typer.Option(0.05, "--tol", help="relative aligned barrier below which two runs share a basin"),
        mono_margin: float = typer.Option(0.02, "--mono-margin", help="a result is in the target's mono/N range "
                                          "when within this margin of the range over the target and its --peers"),
        peers: Optional[str] = typer.Option(None, "--peers", help="comma-separated seed siblings of B "
                                            "(and of A, with --both) defining the seed range"),
        points: int = typer.Option(17, "--points", help="alphas for each barrier"),
        eval_size: int = typer.Option(16384, "--eval-size", help="eval samples for the barriers"),
        out: Optional[Path] = typer.Option(None, "--out", help="default RUNS_DIR/basins/hop-A-B"),
        precision: Optional[str] = PRECISION, fmt: str = FORMAT, runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Continue A with loss + lambda ||theta - pi(theta_B)||^2 per lambda: the smallest pull that makes it hop."""
    from models.runs import load_run

    from .hop import hop_directions
    from .plots import hop_plot

    lams = parse_floats(lambdas, "--lambdas")
    require(all(v >= 0 for v in lams), "--lambdas must be non-negative")
    _steps(steps)
    release = steps // 4 if release is None else release
    _steps(release, "--release", 0)
    if lr is not None:
        in_range(lr, "--lr", 0, 10, open_lo=True)
    in_range(tol, "--tol", 0, 100, open_lo=True)
    in_range(mono_margin, "--mono-margin", 0, 1)
    ra, rb = _load([a, b], runs_dir, points, eval_size)
    _precision(ra, precision)
    peer_runs = [load_run(p, runs_dir) for p in (peers.split(",") if peers else []) if p.strip()]
    out, fig, claim = _claim("hop", out, runs_dir, [ra, rb], force, fmt, resumable=True,
                             inputs=[p.path for p in peer_runs])
    with claim:
        with bars() as new_bar:
            updates = []  # the bar of the direction under way is the last
            results = hop_directions(
                ra, rb, lams, steps, out, both=both, peers=peer_runs, mono_margin=mono_margin, release=release, lr=lr,
                eval_size=eval_size, points=points, tol=tol, precision=precision,
                on_direction=lambda start, target: updates.append(new_bar(f"{start.name} -> {target.name}",
                                                                          steps + release)),
                on_progress=lambda s, loss, *_: updates[-1](s, loss), on_lambda=lambda row: updates[-1](0))
        _write(out, "hop.json", {"directions": results})
        hop_plot(results, fig)
    for res in results:
        _print_hop(res)
    console().print(f"wrote {out}/hop.json, hop.{fmt} and one run dir per lambda")


def _print_hop(res: dict) -> None:
    yes = {True: "yes", False: "no"}
    print_table(f"{Path(res['a']).name} -> {Path(res['b']).name}: target mono/N {res['b_mono_per_N']:.3f} "
                f"(loss {res['b_loss']:.4f}), start {res['a_mono_per_N']:.3f} (loss {res['a_loss']:.4f}); smallest "
                f"lambda that landed: {res['smallest_lambda_landed']} (at the target's loss: "
                f"{res['smallest_lambda_landed_at_target_loss']})",
                ("lambda", "loss", "loss <= (1+tol) target's", "mono/N", "dead", "dist to target (rel)",
                 "barrier to target", "barrier to start", "landed"),
                [(f"{r['lambda']:g}", f"{r['final_loss']:.4f}", yes[r["loss_within_tol"]], f"{r['mono_per_N']:.3f}",
                  str(r["dead_count"]), f"{r['distance_to_b'] / r['distance_to_b_start']:.3f}",
                  f"{100 * r['barrier_to_b_rel']:+.2f}%", f"{100 * r['barrier_to_a_rel']:+.2f}%", yes[r["landed"]])
                 for r in res["rows"]])


# ------------------------------------------------------------------ cbft
@app.command()
@guarded
def cbft(a: str = typer.Argument(..., help="start run A"),
         steps: int = typer.Option(2048, "--steps", help="pairs of (barrier, task) steps"),
         finetune: int = typer.Option(1024, "--finetune", help="task-only steps after, lr annealed to 0"),
         control: bool = typer.Option(False, "--control", help="no barrier steps: the same Adam fine-tuning alone"),
         margin: float = typer.Option(0.5, "--margin", help="target loss on the path = A's eval loss + margin"),
         lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate of both steps"),
         seed: int = typer.Option(0, "--seed"),
         points: int = typer.Option(33, "--points", help="alphas for the barrier to A"),
         out: Optional[Path] = typer.Option(None, "--out", help="run dir of the result (+ cbft.json); "
                                                                "default RUNS_DIR/basins/cbft-A"),
         precision: Optional[str] = PRECISION, fmt: str = FORMAT, runs_dir: Path = RUNS_DIR,
         force: bool = FORCE):
    """Connectivity-based fine-tuning: move A to low loss but linearly disconnected from A; is it mono now?"""
    from models.runs import load_run

    from .cbft import cbft as run_cbft
    from .cbft import cbft_record, result_config
    from .plots import cbft_plot
    from .rundir import write_run

    _steps(steps)
    _steps(finetune, "--finetune", 0)
    in_range(margin, "--margin", 0, 1e6, open_lo=True)
    in_range(lr, "--lr", 0, 10, open_lo=True)
    _seed(seed)
    (ra,) = _load([a], runs_dir, points)
    cfg = _precision(ra, precision)
    require(ra.summary.get("mono_per_N") is not None,
            f"{ra.name}: CBFT reports monosemanticity, which is not defined for {ra.config.nonlinearity}")
    out, fig, claim = _claim("cbft", out, runs_dir, [ra], force, fmt)
    with claim:
        with bars() as new_bar:
            r = run_cbft(ra.params, cfg, steps, margin, lr, seed, finetune, control,
                         on_progress=new_bar(f"cbft {ra.name}", steps + finetune))
        write_run(out, result_config(cfg, steps, finetune, lr), r.params, ra.params,
                  [{"step": m["step"], "loss": m["loss"]} for m in r.metrics],
                  wall_s=r.wall_s, steps_per_s=steps / r.wall_s if r.wall_s else None)
        res = cbft_record(ra, load_run(out), r, steps=steps, finetune=finetune, control=control, margin=margin,
                          lr=lr, seed=seed, points=points)
        _write(out, "cbft.json", res)
        cbft_plot(res, ra, fig)
    _print_barriers(res)
    console().print(f"mono/N {res['mono_before']} -> {res['mono_after']}, loss {res['loss_before']:.4f} -> "
                    f"{res['loss_after']:.4f}; of A's monosemantic neurons, {res['mono_kept_same_feature']} stay "
                    f"monosemantic on the same feature after alignment\nwrote {out}")


# ------------------------------------------------------------------ map
@app.command("map")
@guarded
def map_(runs_: list[str] = typer.Argument(None, metavar="RUNS...", help="run dirs or names (or use --sweep)"),
         sweep: Optional[Path] = typer.Option(None, "--sweep", help="every finished run of a sweep directory"),
         tol: float = typer.Option(0.05, "--tol", help="edge when the aligned barrier is below this fraction of "
                                                       "the endpoints' mean loss"),
         points: int = typer.Option(9, "--points", help="alphas per pair"),
         eval_size: int = typer.Option(16384, "--eval-size", help="eval samples per pair"),
         out: Optional[Path] = typer.Option(None, "--out", help="default RUNS_DIR/basins/map-SWEEP"),
         workers: int = typer.Option(1, "--workers", help="worker processes, one row of pairs each (1: in "
                                                         "this process)"),
         backend: str = typer.Option("local", "--backend", help="local | ray (rows of pairs as Ray tasks)"),
         address: Optional[str] = typer.Option(None, "--address", help="Ray cluster: auto | HOST:PORT"),
         device: str = DEVICE, fmt: str = FORMAT, runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Aligned barriers for every pair, a graph with an edge below --tol, and its components (basins)."""
    from models.executor import check_backend

    from .map import map_runs, run_names
    from .plots import map_plot

    in_range(tol, "--tol", 0, 100, open_lo=True)
    check_backend(backend, workers, address)
    dev = _device(device)
    loaded = _load(run_names(runs_, sweep), runs_dir, points, eval_size)
    out, fig, claim = _claim("map", out, runs_dir, loaded, force, fmt, name=sweep.name if sweep else loaded[0].name)
    n = len(loaded)
    with claim:
        with bars() as new_bar:
            res = map_runs(loaded, tol, points, eval_size, on_pair=new_bar("pairs", n * (n - 1) // 2), device=dev,
                           backend=backend, workers=workers, address=address)
        _write(out, "map.json", res)
        map_plot(res, fig, title=f"Basin map of {sweep.name if sweep else f'{n} runs'}: aligned barriers")
    _print_map(res, n, tol)
    console().print(f"wrote {out}/map.json, map.{fmt}")


def _print_map(res: dict, n: int, tol: float) -> None:
    fields = res["differing_fields"]
    print_table(f"{len(res['basins'])} basins among {n} runs (tol {100 * tol:g}% of the endpoints' mean loss)",
                ("basin", "runs", "mono/N range", "max barrier within", *fields),
                [(str(i), str(bsn["size"]), "-" if bsn["mono_per_N_range"] is None
                  else "{:.3f} .. {:.3f}".format(*bsn["mono_per_N_range"]),
                  f"{100 * bsn['max_barrier_rel_within']:+.2f}%", *[", ".join(bsn[f]) for f in fields])
                 for i, bsn in enumerate(res["basins"])])
    console().print("basins at other tolerances (aligned / naive): " + ", ".join(
        f"{100 * r['tol']:g}%: {r['basins']}/{r['basins_naive']}" for r in res["basins_by_tol"]))


def main() -> None:
    app(prog_name="basins")


__all__ = ["app", "main", "ConfigError"]
