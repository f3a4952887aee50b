"""`models` command line: parses flags, calls the library, prints rich tables. No science in here.

torch is imported inside commands so `models --help` stays fast.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .config import PRESETS, ConfigError, TrainConfig, coerce, parse_bias_init, preset

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Train toy models of monosemanticity (Jermyn et al. 2022), sweep them, and inspect runs.")


def fail(msg: str, code: int = 2):
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


def guarded(fn=None, *, interrupted: str = "interrupted; the run's last saved state is kept: "
                                             "rerun with --resume to continue"):
    """Turn the library's user-facing errors into one line on stderr and a non-zero exit.
    `@guarded` or `@guarded(interrupted=...)` (what to say on Ctrl-C)."""
    import functools

    if fn is None:
        return functools.partial(guarded, interrupted=interrupted)

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        from .runs import RunError

        try:
            return fn(*a, **kw)
        except (ConfigError, RunError) as e:
            fail(str(e))
        except KeyboardInterrupt:
            fail(interrupted, 130)
    return wrapper


def build_config(preset_name: Optional[str], flags: dict) -> TrainConfig:
    """TrainConfig defaults < preset < flags given on the command line."""
    values = preset(preset_name) if preset_name else {}
    values.update({k: v for k, v in flags.items() if v is not None})
    if isinstance(values.get("bias_init"), str):
        values["bias_init"] = parse_bias_init(values["bias_init"])
    return TrainConfig(**values, preset=preset_name)


def _console():
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=False)


def _threads(n: Optional[int]) -> None:
    import torch

    if n:
        torch.set_num_threads(n)


@app.command()
@guarded
def train(
    name: str = typer.Option(..., "--name", help="run name: the run dir is RUNS_DIR/NAME"),
    preset_name: Optional[str] = typer.Option(None, "--preset", help=f"start from a preset: {', '.join(PRESETS)}"),
    task: Optional[str] = typer.Option(None, help="decoder | reprojector | abs"),
    n_features: Optional[int] = typer.Option(None, "--n-features", help="N, number of sparse features"),
    d_embed: Optional[int] = typer.Option(None, "--d-embed", help="d, input (embedding) dimension"),
    k: Optional[int] = typer.Option(None, "--k", help="hidden neurons"),
    eps: Optional[float] = typer.Option(None, help="feature density (probability a feature is on)"),
    freq: Optional[str] = typer.Option(None, help="uniform | power_law feature frequencies"),
    nonlinearity: Optional[str] = typer.Option(None, help="relu | gelu | solu (x*exp(x))"),
    optimizer: Optional[str] = typer.Option(None, help="lamb (paper) | adam"),
    lr: Optional[float] = typer.Option(None, help="base learning rate"),
    schedule: Optional[str] = typer.Option(None, help="restart-cosine (paper) | cosine | constant"),
    bias_init: Optional[str] = typer.Option(None, "--bias-init", help="mean bias offset added to init, or 'data'"),
    bias_decay: Optional[float] = typer.Option(None, "--bias-decay", help="b1 *= 1 - decay*lr in the first half"),
    l1: Optional[float] = typer.Option(None, help="L1 penalty on hidden activations"),
    batch: Optional[int] = typer.Option(None, help="batch size"),
    steps: Optional[int] = typer.Option(None, help="training steps"),
    seed: Optional[int] = typer.Option(None, help="init and data-order seed"),
    task_seed: Optional[int] = typer.Option(None, "--task-seed", help="seed of the projection(s) and eval set"),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="run store"),
    resume: bool = typer.Option(False, "--resume", help="continue an unfinished run from its saved state"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing run"),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: torch's choice)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
):
    """Train one model into RUNS_DIR/NAME (config, task, init, checkpoints, metrics, summary, PNGs)."""
    flags = dict(task=task, n_features=n_features, d_embed=d_embed, k=k, eps=eps, freq=freq,
                 nonlinearity=nonlinearity, optimizer=optimizer, lr=lr, schedule=schedule, bias_init=bias_init,
                 bias_decay=bias_decay, l1=l1, batch=batch, steps=steps, seed=seed, task_seed=task_seed,
                 device=device)
    cfg = build_config(preset_name, flags)
    if "/" in name or name in ("", ".", ".."):
        raise ConfigError(f"--name must be a plain directory name, got {name!r}")
    _threads(threads)
    from .train import train_run

    run_dir = runs_dir / name
    if quiet:
        summary = train_run(cfg, run_dir, resume=resume, force=force)
    else:
        prog, tid = _progress(), None  # shown from the first step on, so refusals print no bar

        def on_progress(step, loss, mono):
            nonlocal tid
            if tid is None:
                prog.start()
                tid = prog.add_task(name, total=cfg.steps, info="")
            info = f"loss {loss:.4f}" + ("" if mono is None else f"  mono/N {mono / cfg.n_features:.3f}")
            prog.update(tid, completed=step, info=info)
        try:
            summary = train_run(cfg, run_dir, resume=resume, force=force, on_progress=on_progress)
        finally:
            prog.stop()
    _print_summary(run_dir, cfg, summary)


def _print_summary(run_dir: Path, cfg: TrainConfig, s: dict) -> None:
    from rich.table import Table

    t = Table(title=f"{run_dir}", show_header=False)
    from .plots import describe

    t.add_row("config", describe(cfg))
    t.add_row("eval loss", f"{s['final_loss']:.5f}")
    if s.get("mono_count") is not None:
        t.add_row("monosemantic", f"{s['mono_count']}  (mono/N {s['mono_per_N']:.3f}, mono/k {s['mono_per_k']:.3f})")
        t.add_row("dead", str(s["dead_count"]))
        h = s["feature_histogram"]
        t.add_row("features by # mono neurons", f"0: {h['0']}   1: {h['1']}   2+: {h['2+']}")
    else:
        t.add_row("monosemantic", s.get("metric_note") or "n/a")
    t.add_row("mean bias", f"{s['mean_bias']:.4f}")
    sps = s.get("steps_per_s")
    t.add_row("steps", f"{s['steps']}  ({s['wall_s']:.1f} s" + (f", {sps:.1f} steps/s)" if sps else ")"))
    _console().print(t)


@app.command()
@guarded
def show(run: str = typer.Argument(..., help="run name (under --runs-dir) or path"),
         runs_dir: Path = typer.Option(Path("runs"), "--runs-dir")):
    """Print a run's summary as a table."""
    from . import runs

    path = runs.resolve(run, runs_dir)
    if not runs.is_finished(path):
        raise runs.RunError(f"run {path} is unfinished (no summary.json); continue it with --resume")
    _print_summary(path, runs.read_config(path), runs.read_json(path / runs.SUMMARY))


@app.command("list")
@guarded
def list_(runs_dir: Path = typer.Option(Path("runs"), "--runs-dir")):
    """One row per run under RUNS_DIR: essentials, loss, mono/N, dead, state."""
    from rich.table import Table

    from . import runs

    t = Table(title=f"runs in {runs_dir}")
    for col in ("run", "task", "N/d/k", "lr", "bias", "decay", "B", "steps", "seed", "loss", "mono/N", "dead",
                "state"):
        t.add_column(col)
    for p in runs.list_runs(runs_dir):
        try:
            c = runs.read_config(p)
        except runs.RunError:
            t.add_row(str(p.relative_to(runs_dir)), *[""] * 11, "corrupt")
            continue
        s = runs.read_json(p / runs.SUMMARY) if runs.is_finished(p) else {}
        mono = s.get("mono_per_N")
        t.add_row(str(p.relative_to(runs_dir)), c.task, f"{c.n_features}/{c.d_embed}/{c.k}", f"{c.lr:g}",
                  str(c.bias_init), f"{c.bias_decay:g}", str(c.batch), str(c.steps), str(c.seed),
                  f"{s['final_loss']:.4f}" if s else "", "" if mono is None else f"{mono:.3f}",
                  "" if s.get("dead_count") is None else str(s["dead_count"]),
                  "finished" if s else "unfinished")
    _console().print(t)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@guarded
def sweep(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="sweep directory: one run dir per cell, sweep.json, sweep.png"),
    grid: list[str] = typer.Option([], "--grid", help="axis of the product, e.g. lr=0.003,0.03"),
    zipped: list[str] = typer.Option([], "--zip", help="axes that move together, e.g. --zip bias_init=-1,0 "
                                                        "--zip bias_decay=0.03,0"),
    seeds: str = typer.Option("0", "--seeds", help="comma-separated seeds"),
    preset_name: Optional[str] = typer.Option(None, "--preset", help=f"base preset: {', '.join(PRESETS)}"),
    workers: int = typer.Option(2, "--workers", help="worker processes (one torch thread each); with --backend "
                                                     "ray and no --address, the CPUs of the local Ray instance"),
    backend: str = typer.Option("local", "--backend", help="local (a process pool) | ray (Ray tasks)"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster: auto | HOST:PORT (default: start "
                                                                  "a local Ray instance)"),
    gpus_per_run: Optional[float] = typer.Option(None, "--gpus-per-run", help="Ray: GPU fraction per cell (per "
                                                 "batched model with --instances), e.g. 0.25"),
    max_retries: int = typer.Option(1, "--max-retries", help="Ray: retries of a failed cell"),
    instances: int = typer.Option(1, "--instances", help="train up to this many equal-shape cells as one batched "
                                  "model per worker; pays for tiny models on a CPU (benchmarks/README.md)"),
):
    """Train a grid of runs. Any `models train` flag after the options fixes that value for every cell
    (e.g. `--steps 4096 --k 512`). Finished cells are skipped, so a killed sweep resumes by rerunning.
    `--backend ray` runs the cells as Ray tasks (`pip install -e '.[ray]'`); --out must be on a filesystem
    every Ray node sees."""
    fixed = _parse_extra(ctx.args)
    base = build_config(preset_name, fixed)
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated integers, got {seeds!r}") from None
    if not seed_list or workers < 1 or instances < 1:
        raise ConfigError("--seeds needs at least one seed, --workers and --instances at least 1")
    from .executor import check_backend
    from .sweep import expand, run_sweep

    check_backend(backend, workers, address, gpus_per_run, max_retries)
    cells = expand(base, grid, zipped, seed_list)
    with _progress() as prog:
        from . import runs

        done0 = sum(runs.is_finished(out / c.name) for c in cells)
        tid = prog.add_task(f"sweep {out.name}", total=len(cells), completed=done0, info="")

        def on_cell(cell, status):
            prog.update(tid, advance=1, info=f"{status}: {cell.name}")
        table = run_sweep(cells, out, workers=workers, on_cell=on_cell, backend=backend, address=address,
                          gpus_per_run=gpus_per_run, max_retries=max_retries, instances=instances)
    from .plots import describe, sweep_curves_plot, sweep_plot
    from .sweep import curves

    axes = [a.split("=")[0].replace("-", "_") for a in grid + zipped]
    sweep_plot(table, axes, out / "sweep.png", title=f"{out.name}: {describe(base, swept=axes)}")
    sweep_curves_plot(curves(cells, out), out / "curves.png", title=f"{out.name}: {describe(base, swept=axes)}")
    _print_sweep(table, axes)
    failed = [r for r in table if r["state"] == "failed"]
    if failed:
        fail(f"{len(failed)} of {len(table)} cells failed; first: {failed[0]['name']}: {failed[0]['error']}", 1)


@app.command()
@guarded
def table(out: Path = typer.Argument(..., help="a sweep directory (holds sweep.json)"),
          markdown: bool = typer.Option(False, "--markdown", help="print a markdown table instead")):
    """Per-cell mean and [min, max] over seeds of a sweep: eval loss, mono/N, dead, mean bias, convergence."""
    from .sweep import aggregate, load_sweep

    sw = load_sweep(out)
    axes = sw["axes"]
    rows = aggregate(sw["cells"], axes)
    cols = [*axes, "seeds", "eval loss", "mono/N", "dead", "mean bias", "loss change, last 1/8",
            "mono change, last doubling"]

    def cell(r, f, fmt):
        a = r.get(f)
        return "" if a is None else f"{a['mean']:{fmt}} [{a['min']:{fmt}}, {a['max']:{fmt}}]"
    body = [[*(str(r[a]) for a in axes), str(r["seeds"]), cell(r, "final_loss", ".4f"), cell(r, "mono_per_N", ".3f"),
             cell(r, "dead_count", ".0f"), cell(r, "mean_bias", ".3f"), cell(r, "loss_rel_change_last_eighth", "+.3f"),
             cell(r, "mono_change_last_doubling", "+.0f")] for r in rows]
    if markdown:
        typer.echo("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
        for b in body:
            typer.echo("| " + " | ".join(b) + " |")
        return
    from rich.table import Table

    from rich.markup import escape

    t = Table(title=escape(f"{out}: mean [min, max] over seeds"))
    for c in cols:
        t.add_column(c)
    for b in body:
        t.add_row(*map(escape, b))
    _console().print(t)


@app.command()
@guarded
def figure(kind: str = typer.Argument(..., help="the compared variable: lr | bias | k | eps"),
           sweep_dir: Path = typer.Argument(..., help="a sweep directory (holds sweep.json) that varies it"),
           out: Path = typer.Option(..., "--out", help="FILE.png; the heatmaps go to FILE_sfa.png beside it"),
           at: list[str] = typer.Option([], "--at", help="hold another axis at this value, e.g. --at bias_init=-1 "
                                                          "(default: the first cell's values)")):
    """The paper's figures from a sweep: mono/N, loss and mean bias against log2 step coloured by the
    variable; final mono/N, mono/k, loss and dead neurons against it; bias by neuron; and single-feature
    activation heatmaps of the lowest, middle and highest value (FILE_sfa.png)."""
    from .sweep import parse_axis

    held = {}
    for spec in at:
        name, vals = parse_axis(spec)
        if len(vals) != 1:
            raise ConfigError(f"--at {spec!r} needs one value")
        held[name] = vals[0]
    from .figures import figure as make_figure

    for p in make_figure(sweep_dir, kind, out, at=held):
        typer.echo(f"wrote {p}")


@app.command("paper-sweep", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@guarded
def paper_sweep(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="a batch of the paper's Table 1: LR1..LR5, B1..B5, E1..E4, K0..K2, RG1, RP1, D1"),
    out: Optional[Path] = typer.Option(None, "--out", help="sweep directory (default runs/paper/NAME)"),
    seeds: str = typer.Option("", "--seeds", help="comma-separated seeds (default: the paper's one run per value)"),
    workers: int = typer.Option(1, "--workers", help="worker processes (Ray: CPUs of a local instance)"),
    print_only: bool = typer.Option(False, "--print", help="print the batch and its `models sweep` command; train nothing"),
    backend: str = typer.Option("local", "--backend", help="local | ray, as for `models sweep`"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster: auto | HOST:PORT"),
    gpus_per_run: Optional[float] = typer.Option(None, "--gpus-per-run", help="Ray: GPU fraction per run"),
    max_retries: int = typer.Option(1, "--max-retries", help="Ray: retries of a failed run"),
    instances: int = typer.Option(1, "--instances", help="runs of equal shape trained as one batched model "
                                  "(as for `models sweep`)"),
):
    """Train one of the paper's Table 1 batches at paper scale (batch 8192, 2^17 steps: a GPU or cluster
    job) as a sweep. Train flags after the options override fixed values (e.g. --device cuda, --steps 4096).
    `--print` shows the equivalent `models sweep` command, to run with any sweep option."""
    from . import paper_sweeps

    s = paper_sweeps.spec(name)
    out = out or Path("runs/paper") / s["name"]
    try:
        seed_list = [int(x) for x in seeds.split(",") if x.strip()] or s["seeds"]
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated integers, got {seeds!r}") from None
    from .executor import check_backend

    check_backend(backend, workers, address, gpus_per_run, max_retries)
    overrides = _parse_extra(ctx.args)
    cells = paper_sweeps.cells(s["name"], seed_list, overrides)
    if print_only:
        typer.echo(f"{s['name']}: {len(cells)} runs; {s['source']}")
        extra = "".join(f" {a}" for a in ctx.args)
        typer.echo(paper_sweeps.command_line(s["name"], str(out), seed_list) + extra)
        return
    from .plots import describe, sweep_curves_plot, sweep_plot
    from .sweep import curves, run_sweep

    with _progress() as prog:
        tid = prog.add_task(f"{s['name']} -> {out}", total=len(cells), info="")
        table = run_sweep(cells, out, workers=workers,
                          on_cell=lambda cell, status: prog.update(tid, advance=1, info=f"{status}: {cell.name}"),
                          backend=backend, address=address, gpus_per_run=gpus_per_run, max_retries=max_retries,
                          instances=instances)
    axes = list(cells[0].values)
    title = f"{s['name']}: {describe(cells[0].config, swept=axes)}"
    sweep_plot(table, axes, out / "sweep.png", title=title)
    sweep_curves_plot(curves(cells, out), out / "curves.png", title=title)
    _print_sweep(table, axes)
    failed = [r for r in table if r["state"] == "failed"]
    if failed:
        fail(f"{len(failed)} of {len(table)} cells failed; first: {failed[0]['name']}: {failed[0]['error']}", 1)


def _parse_extra(args: list[str]) -> dict:
    out, i = {}, 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--") or i + 1 >= len(args):
            raise ConfigError(f"unexpected argument {a!r}; train flags go as --name value")
        key = a[2:].replace("-", "_")
        out[key] = coerce(key, args[i + 1])
        i += 2
    return out


def _print_sweep(table: list[dict], axes: list[str]) -> None:
    from rich.table import Table

    t = Table(title="sweep")
    for col in [*axes, "seed", "loss", "mono/N", "dead", "state"]:
        t.add_column(col)
    for r in table:
        t.add_row(*[str(r[a]) for a in axes], str(r["seed"]),
                  "" if r.get("final_loss") is None else f"{r['final_loss']:.4f}",
                  "" if r.get("mono_per_N") is None else f"{r['mono_per_N']:.3f}",
                  "" if r.get("dead_count") is None else str(r["dead_count"]), r["state"])
    _console().print(t)


def main() -> None:  # console-script entry
    app(prog_name="models")


if __name__ == "__main__":
    sys.exit(main())
