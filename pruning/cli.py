"""`prune` command line: parses flags, calls pruning's functions, prints rich tables. No science in here.

torch is imported inside commands so `prune --help` stays fast. Every input is checked before OUT is
created; a killed command resumes when run again with the same flags.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from models.cli import _console, _progress, _threads, build_config, fail, guarded
from models.config import PRESETS, ConfigError, coerce

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=(
    "Iterative magnitude pruning with rewinding and controls, prune-and-grow sparse training (SET, RigL, "
    "static), per-neuron tracking across levels, and comparison plots. Reads and writes run directories."))

EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


guarded = guarded(interrupted="interrupted; finished levels and the last saved state are kept: "
                    "rerun the same command to resume")  # a killed prune resumes by rerunning


def split_args(tokens: list[str]) -> tuple[list[str], dict]:
    """Bare tokens are RUNs; `--name value` pairs are `models train` flags (click alone would take a flag
    for RUN when the flags come first)."""
    run_list, flags, i = [], {}, 0
    while i < len(tokens):
        a = tokens[i]
        if a.startswith("--"):
            if i + 1 >= len(tokens):
                raise ConfigError(f"flag {a} needs a value")
            key = a[2:].replace("-", "_")
            flags[key] = coerce(key, tokens[i + 1])
            i += 2
        else:
            run_list.append(a)
            i += 1
    return run_list, flags


@app.command(context_settings=EXTRA)
@guarded
def imp(
    ctx: typer.Context,
    run: Optional[str] = typer.Argument(None, help="dense run(s) to prune (names under --runs-dir, or paths); "
                                                   "without one level 0 is trained from the train flags"),
    out: Path = typer.Option(..., "--out", help="IMP directory: level_00 .. level_NN run dirs, levels.json"),
    rounds: Optional[int] = typer.Option(None, "--rounds", help="pruning rounds (levels after the dense level 0) "
                                         "[default: 10; a control: its ticket's]"),
    rate: Optional[float] = typer.Option(None, "--rate", help="fraction of the remaining weights pruned per round "
                                                              "[default: 0.2]"),
    rate_out: Optional[float] = typer.Option(None, "--rate-out", help="W2's own rate (layer scope)"),
    scope: Optional[str] = typer.Option(None, "--scope", help="layer | global [default: layer]"),
    rewind: Optional[str] = typer.Option(None, "--rewind", help="init | STEP (a checkpoint step) [default: init]"),
    control: str = typer.Option("none", "--control", help="none | reinit | random-mask"),
    ticket: Optional[Path] = typer.Option(None, "--ticket", help="with --control: the IMP directory it follows"),
    preset_name: Optional[str] = typer.Option(None, "--preset", help=f"level-0 preset: {', '.join(PRESETS)}"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="where RUN is looked up by name"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads (default: torch's choice)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
    workers: int = typer.Option(2, "--workers", help="chain sets: chains at once (one torch thread each)"),
    backend: str = typer.Option("local", "--backend", help="chain sets: local (a process pool) | ray"),
    address: Optional[str] = typer.Option(None, "--address", help="chain sets on Ray: auto | HOST:PORT"),
    max_retries: int = typer.Option(1, "--max-retries", help="chain sets on Ray: retries of a failed chain"),
):
    """Iterative magnitude pruning with rewinding: prune, rewind, retrain, for --rounds levels.

    Any `models train` flag (e.g. --lr 0.03 --steps 8192) sets the level-0 recipe when no RUN is given.
    Controls follow an IMP directory: `prune imp --control reinit --ticket IMPDIR --out DIR`.
    Several RUNs make a chain set, OUT/<run name> per run, run --workers at a time (or as Ray tasks);
    a control of a chain set is `--ticket SET`."""
    from .imp import ImpSettings, parse_rewind, plan_imp

    run_list, flags = split_args(([run] if run else []) + list(ctx.args))
    if control != "none":
        given = [f for f, v in (("--rate", rate), ("--rate-out", rate_out), ("--scope", scope), ("--rewind", rewind))
                 if v is not None]
        if given:
            raise ConfigError(f"{', '.join(given)}: a control takes these from its --ticket")
    follow = rounds is None and control != "none"  # a control runs as many rounds as its ticket by default
    settings = ImpSettings(rounds=10 if rounds is None else rounds, rate=0.2 if rate is None else rate, rate_out=rate_out,
                           scope=scope or "layer", rewind=parse_rewind(rewind or "init"), control=control)
    cfg = None
    if flags or preset_name:
        if run_list or ticket is not None:
            raise ConfigError("train flags and --preset apply only when level 0 is trained here (no RUN, no --ticket)")
        cfg = build_config(preset_name, flags)
    from models import runs
    from models.executor import check_backend

    from .fanout import is_chain_set, plan_chains

    check_backend(backend, workers, address, None, max_retries)
    paths = [runs.resolve(r, runs_dir) for r in run_list]
    if len(paths) > 1 or (ticket is not None and is_chain_set(ticket)):
        plans = plan_chains(settings, out, run_dirs=paths or None, ticket_set=ticket if not paths else None,
                            rounds_from_ticket=follow)
        _run_chains(plans, out, quiet, backend=backend, workers=workers, address=address, max_retries=max_retries)
        return
    plan = plan_imp(settings, out, run=paths[0] if paths else None, config=cfg, ticket=ticket,
                    rounds_from_ticket=follow)
    _threads(threads)
    _run_imp(plan, quiet)


def _fanned_out(title: str, total: int, quiet: bool, run):
    """run(on_done) with a progress bar over the members of a set (none with --quiet)."""
    if quiet:
        return run(lambda name, status: None)
    with _progress() as prog:
        tid = prog.add_task(title, total=total, info="")
        return run(lambda name, status: prog.update(tid, advance=1, info=f"{status}: {name}"))


def _run_chains(plans, out: Path, quiet: bool, **executor) -> None:
    from rich.table import Table

    from .fanout import run_chains

    results = _fanned_out(f"{plans[0].settings.method} chains -> {out.name}", len(plans), quiet,
                          lambda on_done: run_chains(plans, on_done=on_done, **executor))
    t = Table(title=f"{plans[0].settings.method}: {len(plans)} chains in {out}")
    for col in ("chain", "levels", "remaining", "eval loss (level 0 -> last)", "mono/N (level 0 -> last)"):
        t.add_column(col)
    failed = []
    for name, rows in results.items():
        if isinstance(rows, str) or not rows:
            failed.append((name, rows or "no level finished"))
            t.add_row(name, "failed", "", "", "")
            continue
        a, b = rows[0], rows[-1]
        mono = "" if a["mono_per_N"] is None else f"{a['mono_per_N']:.3f} -> {b['mono_per_N']:.3f}"
        t.add_row(name, str(len(rows)), f"{100 * b['remaining_fraction']:.2f}%",
                  f"{a['final_loss']:.4f} -> {b['final_loss']:.4f}", mono)
    _console().print(t)
    if failed:
        fail(f"{len(failed)} of {len(plans)} chains failed; first: {failed[0][0]}: {failed[0][1]}", 1)


def _run_imp(plan, quiet: bool) -> None:
    from .imp import run_imp

    s = plan.settings
    if quiet:
        rows = run_imp(plan)
    else:
        with _progress() as prog:
            top = prog.add_task(f"{plan.settings.method} {plan.out.name}", total=s.rounds + 1, info="")
            cur: dict = {}

            def on_level(level, status):
                prog.update(top, completed=level + 1, info=f"level {level}: {status}")
                if level in cur:
                    prog.update(cur[level], visible=False)

            def on_progress(level, step, loss, mono):
                if level not in cur:
                    cur[level] = prog.add_task(f"level {level:02d}", total=plan.config.steps, info="")
                info = f"loss {loss:.4f}" + ("" if mono is None else f"  mono/N {mono / plan.config.n_features:.3f}")
                prog.update(cur[level], completed=step, info=info)
            rows = run_imp(plan, on_level=on_level, on_progress=on_progress)
    _levels_table(plan, rows)


def _levels_table(plan, rows: list[dict]) -> None:
    from rich.table import Table

    t = Table(title=f"{plan.settings.method}: {plan.out}/levels.json")
    for col in ("level", "remaining", "W1", "W2", "eval loss", "mono/N", "mono", "dead", "features 0 / 1 / 2+"):
        t.add_column(col)
    for r in rows:
        h = r["feature_histogram"] or {}
        t.add_row(str(r["level"]), f"{100 * r['remaining_fraction']:.2f}%", str(r["remaining_W1"]),
                  str(r["remaining_W2"]), f"{r['final_loss']:.4f}",
                  "" if r["mono_per_N"] is None else f"{r['mono_per_N']:.3f}", str(r["mono_count"]),
                  str(r["dead_count"]), f"{h.get('0', '')} / {h.get('1', '')} / {h.get('2+', '')}")
    _console().print(t)


@app.command(context_settings=EXTRA)
@guarded
def grow(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="the sparse run's directory (a run dir plus grow.json)"),
    method: str = typer.Option("rigl", "--method", help="set | rigl | static"),
    sparsity: float = typer.Option(0.9, "--sparsity", help="fraction of all W1 and W2 weights that are zero"),
    update_every: int = typer.Option(100, "--update-every", help="steps between mask updates"),
    drop_fraction: float = typer.Option(0.3, "--drop-fraction", help="alpha: fraction of active weights moved"),
    drop_schedule: str = typer.Option("cosine", "--drop-schedule", help="cosine | constant"),
    end_fraction: float = typer.Option(0.75, "--end-fraction", help="no updates after this fraction of training"),
    distribution: str = typer.Option("uniform", "--distribution", help="uniform | erk layer densities"),
    preset_name: Optional[str] = typer.Option(None, "--preset", help=f"start from a preset: {', '.join(PRESETS)}"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads (default: torch's choice)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="comma-separated seeds: a grow set, OUT/seedS each"),
    workers: int = typer.Option(2, "--workers", help="grow sets: runs at once (one torch thread each)"),
    backend: str = typer.Option("local", "--backend", help="grow sets: local (a process pool) | ray"),
    address: Optional[str] = typer.Option(None, "--address", help="grow sets on Ray: auto | HOST:PORT"),
    max_retries: int = typer.Option(1, "--max-retries", help="grow sets on Ray: retries of a failed run"),
):
    """Sparse training at a fixed sparsity from the start: SET, RigL, or a static random mask.

    Any `models train` flag (e.g. --lr 0.03 --k 256) sets the recipe. `--seeds 0,1,2` trains one run per
    seed into OUT/seed0, ... (a grow set), --workers at a time or as Ray tasks."""
    from .grow import GrowSettings, check_grow_out

    extra, flags = split_args(list(ctx.args))
    if extra:
        raise ConfigError(f"unexpected argument {extra[0]!r}: grow takes train flags, not a RUN")
    settings = GrowSettings(method=method, sparsity=sparsity, update_every=update_every, drop_fraction=drop_fraction,
                            drop_schedule=drop_schedule, end_fraction=end_fraction, distribution=distribution)
    cfg = build_config(preset_name, flags)
    if seeds is not None:
        if "seed" in flags:
            raise ConfigError("give --seed (one run) or --seeds (a grow set), not both")
        try:
            seed_list = [int(x) for x in seeds.split(",") if x.strip()]
        except ValueError:
            raise ConfigError(f"--seeds must be comma-separated integers, got {seeds!r}") from None
        if not seed_list:
            raise ConfigError("--seeds needs at least one seed")
        from models.executor import check_backend

        from .fanout import plan_grow_set

        check_backend(backend, workers, address, None, max_retries)
        items = plan_grow_set(settings, cfg, out, seed_list)
        _run_grow_set(items, out, quiet, backend=backend, workers=workers, address=address,
                      max_retries=max_retries)
        return
    check_grow_out(settings, cfg, out)
    _threads(threads)
    from .grow import load_grow, run_grow

    if quiet:
        summary = run_grow(settings, cfg, out)
    else:
        prog, tid = _progress(), None

        def on_progress(step, loss, mono):
            nonlocal tid
            if tid is None:
                prog.start()
                tid = prog.add_task(f"{method} {out.name}", total=cfg.steps, info="")
            info = f"loss {loss:.4f}" + ("" if mono is None else f"  mono/N {mono / cfg.n_features:.3f}")
            prog.update(tid, completed=step, info=info)
        try:
            summary = run_grow(settings, cfg, out, on_progress=on_progress)
        finally:
            prog.stop()
    from rich.table import Table

    g = load_grow(out)
    t = Table(title=f"{method}: {out}", show_header=False)
    t.add_row("remaining weights", f"{g['remaining']} (W1 {g['keep']['W1']}, W2 {g['keep']['W2']}; "
                                   f"sparsity {sparsity:g}, {distribution})")
    moved = sum(h[n]["moved"] for h in g["history"] for n in ("W1", "W2"))
    t.add_row("mask updates", f"{g['updates']} (until step {g['t_end']}), {moved} connections moved in all")
    t.add_row("eval loss", f"{summary['final_loss']:.5f}")
    if summary.get("mono_count") is not None:
        t.add_row("monosemantic", f"{summary['mono_count']} (mono/N {summary['mono_per_N']:.3f}), "
                                  f"dead {summary['dead_count']}")
    _console().print(t)


def _run_grow_set(items, out: Path, quiet: bool, **executor) -> None:
    from rich.table import Table

    from .fanout import run_grow_set

    method = items[0][0].method
    results = _fanned_out(f"{method} set -> {out.name}", len(items), quiet,
                          lambda on_done: run_grow_set(items, on_done=on_done, **executor))
    t = Table(title=f"{method}: {len(items)} runs in {out}")
    for col in ("run", "eval loss", "mono/N", "dead"):
        t.add_column(col)
    failed = []
    for name, s in results.items():
        if isinstance(s, str):
            failed.append((name, s))
            t.add_row(name, "failed", "", "")
            continue
        t.add_row(name, f"{s['final_loss']:.4f}", "" if s["mono_per_N"] is None else f"{s['mono_per_N']:.3f}",
                  str(s["dead_count"]))
    _console().print(t)
    if failed:
        fail(f"{len(failed)} of {len(items)} runs failed; first: {failed[0][0]}: {failed[0][1]}", 1)


@app.command()
@guarded
def neurons(out: Path = typer.Argument(..., help="an IMP or control directory (holds levels.json)")):
    """Track every neuron and every feature across levels: DIR/neurons.json and DIR/neurons.png."""
    from rich.table import Table

    from .neurons import FEATURE_TRANSITIONS, NEURON_TRANSITIONS, neurons_command

    data = neurons_command(out)
    for key, names, what in (("transitions", NEURON_TRANSITIONS, "neurons"),
                             ("feature_transitions", FEATURE_TRANSITIONS, "features")):
        t = Table(title=f"{out}: {what} between consecutive levels")
        t.add_column("levels")
        for n in names:
            t.add_column(n)
        for tr in data[key]:
            t.add_row(f"{tr['from']}->{tr['to']}", *(str(tr["counts"][n]) for n in names))
        _console().print(t)
    t = Table(title=f"{out}: what survives from level 0 ({data['level0_mono']} mono neurons, "
                    f"{data['level0_served_features']} served features)")
    for col in ("level", "remaining", "mono", "poly", "dead", "level-0 mono still on same feature",
                "level-0 features still served", "neurons without inputs"):
        t.add_column(col)
    for s in data["survival"]:
        t.add_row(str(s["level"]), f"{100 * s['remaining_fraction']:.2f}%", str(s["mono"]), str(s["poly"]),
                  str(s["dead"]), str(s["level0_mono_still_same_feature"]),
                  str(s["level0_served_features_still_served"]), str(s["neurons_without_inputs"]))
    _console().print(t)
    typer.echo(f"wrote {out / 'neurons.json'} and {out / 'neurons.png'}")


@app.command()
@guarded
def compare(
    dirs: list[Path] = typer.Argument(..., help="IMP / control directories, grow runs, dense runs"),
    out: Path = typer.Option(..., "--out", help="FILE.png (the numbers go to FILE.json)"),
    x: str = typer.Option("fraction", "--x", help="fraction (of W1, W2 weights remaining) | count (non-zero)"),
    title: Optional[str] = typer.Option(None, "--title", help="what is compared (the recipe is added)"),
):
    """mono/N, loss and dead/k against remaining weights (log scale): one line per method, mean and range
    over seeds, the dense model as a reference line."""
    from rich.table import Table

    from .compare import compare_command

    rows = compare_command(dirs, out, x=x, title=title)
    from rich.markup import escape

    t = Table(title=escape(f"{out}: mean [min, max] over seeds"))
    for col in ("method", "remaining", "weights", "seeds", "mono/N", "eval loss", "dead/k"):
        t.add_column(col)

    def cell(s, fmt):
        return "" if s is None else f"{s['mean']:{fmt}} [{s['min']:{fmt}}, {s['max']:{fmt}}]"
    for r in rows:
        t.add_row(r["label"], f"{100 * r['remaining_fraction']:.2f}%", str(r["remaining"]), str(len(r["seeds"])),
                  *(escape(cell(r[f], fmt)) for f, fmt in (("mono_per_N", ".3f"), ("final_loss", ".4f"),
                                                           ("dead_per_k", ".3f"))))
    _console().print(t)
    typer.echo(f"wrote {out} and {out.with_suffix('.json')}")


def main() -> None:  # console-script entry
    app(prog_name="prune")


if __name__ == "__main__":
    sys.exit(main())
