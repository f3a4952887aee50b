"""`basins` command line: parse, check, call the library, print rich tables, write JSON + PNG.

Every command reads runs (a path, or a name under --runs-dir) and writes one --out directory;
inputs are checked before anything is written. torch is imported inside commands (fast --help).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from models.cli import _console, _progress, guarded
from models.config import ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=(
    "Are monosemantic and polysemantic solutions in different basins? Permutation alignment, linear "
    "interpolation and barriers, trained curves, hopping under a pull, connectivity-based fine-tuning, "
    "and basin maps over many runs."))

RUNS_DIR = typer.Option(Path("runs"), "--runs-dir", help="where run names are looked up")
FORCE = typer.Option(False, "--force", help="overwrite a finished result in --out")
DEVICE = typer.Option("auto", "--device", help="where losses are computed: auto (cuda if torch sees it) | cpu | cuda")


def _device(name: str) -> str:
    """--device resolved as training resolves it (auto: cuda when torch sees one)."""
    from models.config import DEVICES
    from models.train import resolve_device

    _check(name in DEVICES, f"unknown --device {name!r}; choose one of {', '.join(DEVICES)}")
    return str(resolve_device(name))


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


def _default_out(runs_dir: Path, what: str, *names: str) -> Path:
    return runs_dir / "basins" / "-".join([what, *names])


def _load_pair(a: str, b: str, runs_dir: Path):
    from models.runs import load_run

    from .align import check_compatible

    ra, rb = load_run(a, runs_dir), load_run(b, runs_dir)
    check_compatible(ra, rb)
    return ra, rb


def _bar(name: str, total: int):
    """A progress callback (step, loss) that starts its bar on first use."""
    prog, tid = _progress(), None

    def update(step, loss=None, *_):
        nonlocal tid
        if tid is None:
            prog.start()
            tid = prog.add_task(name, total=total, info="")
        prog.update(tid, completed=step, info="" if loss is None else f"loss {loss:.4f}")
    return prog, update


def _write(out: Path, name: str, obj: dict) -> None:
    from models.runs import write_json

    write_json(out / name, obj)


# ------------------------------------------------------------------ align
@app.command()
@guarded
def align(a: str = typer.Argument(..., help="reference run A"), b: str = typer.Argument(..., help="run B to permute"),
          method: str = typer.Option("weight", help="weight | activation"),
          out: Optional[Path] = typer.Option(None, "--out", help="run dir for aligned B (+ alignment.json); "
                                                                 "default RUNS_DIR/basins/align-A-B"),
          runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """The permutation of B's hidden units that best matches A; writes aligned B as a run dir."""
    from .align import METHODS

    _check(method in METHODS, f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    ra, rb = _load_pair(a, b, runs_dir)
    out = out or _default_out(runs_dir, "align", ra.name, rb.name)
    from .rundir import prepare_out

    prepare_out(out, force, "alignment.json")
    result = _align_and_write(ra, rb, method, out)
    _console().print(f"aligned {rb.name} to {ra.name} by {method} matching: objective "
                     f"{result['objective_before']:.4f} -> {result['objective_after']:.4f}, "
                     f"{result['units_moved']} of {ra.config.k} units moved; max output change "
                     f"{result['max_output_change']:.2e}\nwrote {out}")


def _align_and_write(ra, rb, method: str, out: Path) -> dict:
    from models.tasks import eval_set

    from .align import align_runs, permute, same_function
    from .rundir import write_run

    al = align_runs(ra, rb, method)
    aligned = permute(rb.params, al.perm)
    diff = same_function(rb.params, aligned, eval_set(rb.config, "cpu", 4096)[0], rb.config.nonlinearity)
    write_run(out, rb.config, aligned, permute(rb.init, al.perm), rb.metrics(),
              wall_s=rb.summary.get("wall_s"), steps_per_s=rb.summary.get("steps_per_s"))
    result = {"a": str(ra.path), "b": str(rb.path), **al.to_dict(), "max_output_change": diff}
    _write(out, "alignment.json", result)
    return result


# ------------------------------------------------------------------ interpolate
@app.command()
@guarded
def interpolate(a: str = typer.Argument(..., help="run A (alpha 0)"), b: str = typer.Argument(..., help="run B (alpha 1)"),
                points: int = typer.Option(33, "--points", help="alphas from 0 to 1"),
                method: str = typer.Option("weight", help="alignment: weight | activation"),
                eval_size: Optional[int] = typer.Option(None, "--eval-size", help="eval samples (default: the "
                                                                                   "task's full 2^16 eval set)"),
                out: Optional[Path] = typer.Option(None, "--out", help="default RUNS_DIR/basins/interpolate-A-B"),
                device: str = DEVICE, runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Loss and mono/N along the straight path A -> B, naive and after alignment; both barriers."""
    from .align import METHODS

    _check(points >= 3, f"--points must be at least 3, got {points}")
    _check(method in METHODS, f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    _check(eval_size is None or eval_size >= 1, "--eval-size must be positive")
    ra, rb = _load_pair(a, b, runs_dir)
    out = out or _default_out(runs_dir, "interpolate", ra.name, rb.name)
    from .rundir import prepare_out

    prepare_out(out, force, "interpolation.json")
    res = interpolation(ra, rb, points, method, eval_size, _device(device))
    out.mkdir(parents=True, exist_ok=True)
    _write(out, "interpolation.json", res)
    from .plots import interpolation_plot

    interpolation_plot(res, ra, rb, out / "interpolation.png")
    _print_barriers(res)
    _console().print(f"wrote {out}/interpolation.json, interpolation.png")


def interpolation(ra, rb, points: int, method: str, eval_size: int | None, device: str = "cpu") -> dict:
    """The interpolation.json record (also used by cbft): naive and aligned paths and barriers."""
    from models.tasks import eval_set

    from .align import align_runs, permute, same_function
    from .interpolate import linear_path

    al = align_runs(ra, rb, method)
    aligned = permute(rb.params, al.perm)
    diff = same_function(rb.params, aligned, eval_set(rb.config, "cpu", 4096)[0], rb.config.nonlinearity)
    naive = linear_path(ra.params, rb.params, ra.config, points, eval_size, device)
    alp = linear_path(ra.params, aligned, ra.config, points, eval_size, device)
    res = {"a": str(ra.path), "b": str(rb.path), "method": method, "eval_size": eval_size or "full",
           "alphas": naive.alphas, "loss_naive": naive.loss, "loss_aligned": alp.loss,
           "mono_naive": naive.mono, "mono_aligned": alp.mono}
    for kind, p in (("naive", naive), ("aligned", alp)):
        for k, v in p.barriers.items():  # barrier -> barrier_naive, barrier_mean_rel -> barrier_naive_mean_rel
            res[f"barrier_{kind}{k[len('barrier'):]}"] = v
    res.update({"endpoint_loss_a": naive.loss[0], "endpoint_loss_b": naive.loss[-1],
                "permuted_b_max_output_change": diff, "permutation": al.perm.tolist(),
                "alignment": {k: v for k, v in al.to_dict().items() if k != "permutation"},
                "definition": "barrier = max_a [L(a) - ((1-a) L(A) + a L(B))]; barrier_mean = max_a L(a) - "
                              "(L(A) + L(B))/2; *_rel = divided by (L(A) + L(B))/2; sign kept"})
    return res


def _print_barriers(res: dict) -> None:
    from rich.table import Table

    t = Table(title=f"{Path(res['a']).name} -> {Path(res['b']).name}")
    for c in ("path", "barrier", "barrier (rel)", "barrier_mean", "barrier_mean (rel)", "mono/N at alpha 0.5"):
        t.add_column(c)
    mid = len(res["alphas"]) // 2
    for kind in ("naive", "aligned"):
        mono = res[f"mono_{kind}"]
        t.add_row(kind, f"{res[f'barrier_{kind}']:+.5f}", f"{100 * res[f'barrier_{kind}_rel']:+.2f}%",
                  f"{res[f'barrier_{kind}_mean']:+.5f}", f"{100 * res[f'barrier_{kind}_mean_rel']:+.2f}%",
                  "-" if mono is None else f"{mono[mid]:.3f}")
    _console().print(t)


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
          runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Train a curve from A to weight-matched B (Garipov et al.): connected by a curve but not a line?"""
    from .curve import KINDS

    _check(kind in KINDS, f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    _check(bends >= 1, f"--bends must be at least 1, got {bends}")
    _check(steps >= 1, f"--steps must be at least 1, got {steps}")
    _check(lr > 0, f"--lr must be positive, got {lr}")
    _check(points >= 3, f"--points must be at least 3, got {points}")
    ra, rb = _load_pair(a, b, runs_dir)
    out = out or _default_out(runs_dir, "curve", ra.name, rb.name)
    from .rundir import prepare_out

    prepare_out(out, force, "curve.json")
    from models.runs import write_tensors

    from .align import align_runs, permute
    from .curve import evaluate_curve, train_curve
    from .plots import curve_plot

    al = align_runs(ra, rb, "weight")
    pb = permute(rb.params, al.perm)
    prog, update = _bar(f"curve {kind}", steps)
    try:
        trained = train_curve(ra.params, pb, ra.config, kind, bends, steps, lr, seed=seed, on_progress=update)
    finally:
        prog.stop()
    res = {"a": str(ra.path), "b": str(rb.path), "kind": kind, "bends": bends, "steps": steps, "lr": lr,
           "seed": seed, **evaluate_curve(ra.params, pb, trained.bends, ra.config, kind, points, eval_size),
           "history": trained.history, "permutation": al.perm.tolist()}
    out.mkdir(parents=True, exist_ok=True)
    write_tensors(out / "bends.safetensors", {f"bend{i}.{n}": t for i, bd in enumerate(trained.bends)
                                              for n, t in bd.items()})
    _write(out, "curve.json", res)
    curve_plot(res, ra, rb, out / "curve.png")
    from rich.table import Table

    t = Table(title=f"{ra.name} -> {rb.name}: {kind}, {bends} bend(s), {steps} steps")
    for c in ("path", "max loss", "mean loss", "integral", "barrier", "barrier (rel)"):
        t.add_column(c)
    for name in ("line", "curve"):
        r = res[name]
        t.add_row(name, f"{r['max']:.5f}", f"{r['mean']:.5f}", f"{r['integral']:.5f}", f"{r['barrier']:+.5f}",
                  f"{100 * r['barrier_rel']:+.2f}%")
    _console().print(t)
    _console().print(f"wrote {out}/curve.json, curve.png, bends.safetensors")


# ------------------------------------------------------------------ hop
def _floats(text: str, flag: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} must be comma-separated numbers, got {text!r}") from None
    _check(bool(vals), f"{flag} needs at least one value")
    return vals


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
        runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Continue A with loss + lambda ||theta - pi(theta_B)||^2 per lambda: the smallest pull that makes it hop."""
    lams = _floats(lambdas, "--lambdas")
    _check(all(v >= 0 for v in lams), "--lambdas must be non-negative")
    _check(steps >= 1, f"--steps must be at least 1, got {steps}")
    release = steps // 4 if release is None else release
    _check(release >= 0, f"--release must be non-negative, got {release}")
    _check(lr is None or lr > 0, "--lr must be positive")
    _check(tol > 0, "--tol must be positive")
    _check(mono_margin >= 0, "--mono-margin must be non-negative")
    _check(points >= 3 and eval_size >= 1, "--points must be at least 3 and --eval-size positive")
    ra, rb = _load_pair(a, b, runs_dir)
    from models.runs import load_run

    from .hop import hop as run_hop
    from .hop import mono_seed_range
    from .rundir import prepare_out

    peer_runs = [load_run(p, runs_dir) for p in (peers.split(",") if peers else []) if p.strip()]
    out = out or _default_out(runs_dir, "hop", ra.name, rb.name)
    prepare_out(out, force, "hop.json", resumable=True)
    results = []
    for start, target, sub in [(ra, rb, "a_to_b"), *([(rb, ra, "b_to_a")] if both else [])]:
        sib = [p for p in peer_runs if p.config.replace(seed=0) == target.config.replace(seed=0)]
        mr = mono_seed_range([target, *sib], mono_margin)
        prog, update = _bar(f"{start.name} -> {target.name}", steps + release)
        try:
            res = run_hop(start, target, sorted(set(lams)), steps, out / sub, release=release, lr=lr,
                          eval_size=eval_size, points=points,
                          tol=tol, mono_range=mr, on_progress=lambda s, loss, *_: update(s, loss),
                          on_lambda=lambda row: update(0))
        finally:
            prog.stop()
        results.append(res)
        _print_hop(res)
    _write(out, "hop.json", {"directions": results})
    from .plots import hop_plot

    hop_plot(results, out / "hop.png")
    _console().print(f"wrote {out}/hop.json, hop.png and one run dir per lambda")


def _print_hop(res: dict) -> None:
    from rich.table import Table

    t = Table(title=f"{Path(res['a']).name} -> {Path(res['b']).name}: target mono/N {res['b_mono_per_N']:.3f} "
                    f"(loss {res['b_loss']:.4f}), start {res['a_mono_per_N']:.3f} (loss {res['a_loss']:.4f}); smallest "
                    f"lambda that landed: {res['smallest_lambda_landed']} (at the target's loss: "
                    f"{res['smallest_lambda_landed_at_target_loss']})")
    for c in ("lambda", "loss", "loss <= (1+tol) target's", "mono/N", "dead", "dist to target (rel)",
              "barrier to target", "barrier to start", "landed"):
        t.add_column(c)
    for r in res["rows"]:
        t.add_row(f"{r['lambda']:g}", f"{r['final_loss']:.4f}", "yes" if r["loss_within_tol"] else "no",
                  f"{r['mono_per_N']:.3f}", str(r["dead_count"]),
                  f"{r['distance_to_b'] / r['distance_to_b_start']:.3f}", f"{100 * r['barrier_to_b_rel']:+.2f}%",
                  f"{100 * r['barrier_to_a_rel']:+.2f}%", "yes" if r["landed"] else "no")
    _console().print(t)


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
         runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Connectivity-based fine-tuning: move A to low loss but linearly disconnected from A; is it mono now?"""
    _check(steps >= 1, f"--steps must be at least 1, got {steps}")
    _check(finetune >= 0, f"--finetune must be non-negative, got {finetune}")
    _check(margin > 0, f"--margin must be positive, got {margin}")
    _check(lr > 0, f"--lr must be positive, got {lr}")
    _check(points >= 3, f"--points must be at least 3, got {points}")
    from models.runs import load_run

    ra = load_run(a, runs_dir)
    out = out or _default_out(runs_dir, "cbft", ra.name)
    from .rundir import prepare_out

    prepare_out(out, force, "cbft.json")
    from .cbft import cbft as run_cbft
    from .rundir import write_run

    prog, update = _bar(f"cbft {ra.name}", steps + finetune)
    try:
        r = run_cbft(ra.params, ra.config, steps, margin, lr, seed, finetune, control, on_progress=update)
    finally:
        prog.stop()
    cfg = ra.config.replace(steps=steps + finetune, optimizer="adam", lr=lr, schedule="constant", bias_decay=0.0)
    write_run(out, cfg, r.params, ra.params, [{"step": m["step"], "loss": m["loss"]} for m in r.metrics],
              wall_s=r.wall_s, steps_per_s=steps / r.wall_s if r.wall_s else None)
    rc = load_run(out)
    res = {**interpolation(ra, rc, points, "weight", None), "steps": steps, "finetune": finetune,
           "control": control, "margin": margin, "lr": lr,
           "seed": seed, "target": r.target, "history": r.metrics,
           "mono_before": ra.summary["mono_per_N"], "mono_after": rc.summary["mono_per_N"],
           "loss_before": ra.summary["final_loss"], "loss_after": rc.summary["final_loss"],
           "dead_before": ra.summary["dead_count"], "dead_after": rc.summary["dead_count"],
           **_role_changes(ra, rc)}
    _write(out, "cbft.json", res)
    from .plots import cbft_plot

    cbft_plot(res, ra, out / "cbft.png")
    _print_barriers(res)
    _console().print(f"mono/N {res['mono_before']} -> {res['mono_after']}, loss {res['loss_before']:.4f} -> "
                     f"{res['loss_after']:.4f}; of A's monosemantic neurons, {res['mono_kept_same_feature']} stay "
                     f"monosemantic on the same feature after alignment\nwrote {out}")


def _role_changes(ra, rc) -> dict:
    """After aligning the result to A: how many of A's monosemantic neurons keep their feature."""
    from .align import align_runs

    perm = align_runs(ra, rc, "weight").perm
    before = ra.summary["mono_per_neuron"]
    after = [rc.summary["mono_per_neuron"][p] for p in perm]
    if before is None:
        return {"mono_kept_same_feature": None}
    pairs = list(zip(before, after))
    return {"mono_kept_same_feature": sum(1 for x, y in pairs if x is not None and x == y),
            "mono_switched_feature": sum(1 for x, y in pairs if x is not None and y is not None and x != y),
            "mono_became_poly": sum(1 for x, y in pairs if x is not None and y is None),
            "poly_became_mono": sum(1 for x, y in pairs if x is None and y is not None),
            "features_served_before": len({x for x in before if x is not None}),
            "features_served_after": len({y for y in after if y is not None})}


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
         device: str = DEVICE, runs_dir: Path = RUNS_DIR, force: bool = FORCE):
    """Aligned barriers for every pair, a graph with an edge below --tol, and its components (basins)."""
    from models.runs import RunError, is_finished, list_runs, load_run

    _check(tol > 0, "--tol must be positive")
    _check(points >= 3 and eval_size >= 1, "--points must be at least 3 and --eval-size positive")
    _check(bool(runs_) != (sweep is not None), "give either RUNS... or --sweep DIR")
    from models.executor import check_backend, make_executor

    check_backend(backend, workers, address)
    dev = _device(device)
    if sweep is not None:
        if not sweep.is_dir():
            raise RunError(f"no sweep directory {sweep}")
        names = [str(p) for p in list_runs(sweep) if is_finished(p)]
    else:
        names = list(runs_)
    _check(len(names) >= 2, f"a map needs at least 2 finished runs, got {len(names)}")
    loaded = [load_run(n, runs_dir) for n in names]
    from .align import check_compatible

    for r in loaded[1:]:
        check_compatible(loaded[0], r)
    out = out or _default_out(runs_dir, "map", sweep.name if sweep else loaded[0].name)
    from .rundir import prepare_out

    prepare_out(out, force, "map.json")
    from .map import basin_map
    from .plots import map_plot

    n = len(loaded)
    prog, update = _bar("pairs", n * (n - 1) // 2)
    done = 0

    def on_pair(i, j):
        nonlocal done
        done += 1
        update(done)
    try:
        if backend == "local" and workers == 1:
            res = basin_map(loaded, tol, points, eval_size, on_pair=on_pair, device=dev)
        else:
            with make_executor(backend, workers, address) as ex:
                res = basin_map(loaded, tol, points, eval_size, on_pair=on_pair, executor=ex, device=dev)
    finally:
        prog.stop()
    out.mkdir(parents=True, exist_ok=True)
    _write(out, "map.json", res)
    map_plot(res, out / "map.png", title=f"Basin map of {sweep.name if sweep else f'{n} runs'}: aligned barriers")
    from rich.table import Table

    t = Table(title=f"{len(res['basins'])} basins among {n} runs (tol {100 * tol:g}% of the endpoints' mean loss)")
    for c in ("basin", "runs", "mono/N range", "max barrier within", *res["differing_fields"]):
        t.add_column(c)
    for i, bsn in enumerate(res["basins"]):
        lo_hi = bsn["mono_per_N_range"]
        t.add_row(str(i), str(bsn["size"]), "-" if lo_hi is None else f"{lo_hi[0]:.3f} .. {lo_hi[1]:.3f}",
                  f"{100 * bsn['max_barrier_rel_within']:+.2f}%", *[", ".join(bsn[f]) for f in res["differing_fields"]])
    _console().print(t)
    _console().print("basins at other tolerances (aligned / naive): " + ", ".join(
        f"{100 * r['tol']:g}%: {r['basins']}/{r['basins_naive']}" for r in res["basins_by_tol"]))
    _console().print(f"wrote {out}/map.json, map.png")


def main() -> None:
    app(prog_name="basins")


if __name__ == "__main__":
    sys.exit(main())
