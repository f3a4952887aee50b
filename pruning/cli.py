"""`prune` command line: parses flags, calls pruning's functions, prints rich tables.

torch is imported inside commands so `prune --help` stays fast. Every input is checked before OUT is
created; a killed command resumes when run again with the same flags.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from models.clikit import app as make_app
from models.clikit import (FORMAT, TrainFlags, bars, fanned_out, figure_format, guarded, num, parse_ints, print_table,
                           progress, report_failures, set_threads, train_options)
from models.config import ConfigError

app = make_app((
    "Iterative magnitude pruning with rewinding and controls, prune-and-grow sparse training (SET, RigL, "
    "static), per-neuron tracking across levels, and comparison plots. Reads and writes run directories."))

guarded = guarded(interrupted="interrupted; finished levels and the last saved state are kept: "
                              "rerun the same command to resume")
QUIET = typer.Option(False, "--quiet", help="no progress bars")
THREADS = typer.Option(None, "--threads", help="torch threads (default: torch's choice)")
BACKEND = typer.Option("local", "--backend", help="sets: local (a process pool) | ray")
ADDRESS = typer.Option(None, "--address", help="sets on Ray: auto | HOST:PORT")
MAX_RETRIES = typer.Option(1, "--max-retries", help="sets on Ray: retries of a failed member")


def _executor(backend: str, workers: int, address: Optional[str], max_retries: int) -> dict:
    """The set flags, refused before anything runs when bad, as run_chains' and run_grow_set's keywords."""
    from models.executor import check_backend

    check_backend(backend, workers, address, None, max_retries)
    return dict(backend=backend, workers=workers, address=address, max_retries=max_retries)


def _set_table(results: dict, title: str, columns: tuple, cells, what: str) -> None:
    """A row per member of a set (cells(its result), or "failed"); exit 1 when any failed."""
    failed = ["failed"] + [""] * (len(columns) - 2)
    print_table(title, columns, ([name, *(failed if isinstance(r, str) or not r else cells(r))]
                            for name, r in results.items()))
    report_failures(results, what)


@app.command()
@guarded
@train_options
def imp(
    run: Optional[list[str]] = typer.Argument(None, help="dense run(s) to prune (names under --runs-dir, or paths); "
                                                         "without one level 0 is trained from the train flags"),
    out: Path = typer.Option(..., "--out", help="IMP directory: level_00 .. level_NN run dirs, levels.json"),
    rounds: Optional[int] = typer.Option(None, "--rounds", help="pruning rounds (levels after the dense level 0) "
                                         "[default: 10; a control: its ticket's]"),
    rate: float = typer.Option(0.2, "--rate", help="fraction of the remaining weights pruned per round"),
    rate_out: Optional[float] = typer.Option(None, "--rate-out", help="W2's own rate (layer scope)"),
    scope: str = typer.Option("layer", "--scope", help="layer | global"),
    rewind: str = typer.Option("init", "--rewind", help="init | STEP (a checkpoint step of level 0: the schedule "
                                                        "and data order continue from there)"),
    control: str = typer.Option("none", "--control", help="none | reinit | random-mask"),
    ticket: Optional[Path] = typer.Option(None, "--ticket", help="with --control: the IMP directory it follows"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="where RUN is looked up by name"),
    threads: Optional[int] = THREADS, quiet: bool = QUIET, fmt: str = FORMAT,
    workers: int = typer.Option(2, "--workers", help="chain sets: chains at once (one torch thread each)"),
    backend: str = BACKEND, address: Optional[str] = ADDRESS, max_retries: int = MAX_RETRIES,
    *, train: TrainFlags,
):
    """Iterative magnitude pruning with rewinding: prune, rewind, retrain, for --rounds levels.

    Train flags set the level-0 recipe when no RUN is given. Controls follow an IMP directory:
    `prune imp --control reinit --ticket IMPDIR --out DIR`. Several RUNs make a chain set, OUT/<run name>
    per run, run --workers at a time (or as Ray tasks); a control of a chain set is `--ticket SET`."""
    from models import runs

    from .fanout import is_chain_set, plan_chains
    from .imp import ImpSettings, parse_rewind, plan_imp

    run_list = list(run or [])
    if control != "none":
        given = [f for f, v, d in (("--rate", rate, 0.2), ("--rate-out", rate_out, None), ("--scope", scope, "layer"),
                                   ("--rewind", rewind, "init")) if v != d]
        if given:
            raise ConfigError(f"{', '.join(given)}: a control takes these from its --ticket")
    follow = rounds is None and control != "none"  # a control runs as many rounds as its ticket by default
    settings = ImpSettings(rounds=10 if rounds is None else rounds, rate=rate, rate_out=rate_out, scope=scope,
                           rewind=parse_rewind(rewind), control=control)
    if train and (run_list or ticket is not None):
        raise ConfigError("train flags and --preset apply only when level 0 is trained here (no RUN, no --ticket)")
    cfg = train.config() if train else None
    figure_format(fmt)
    executor = _executor(backend, workers, address, max_retries)
    paths = [runs.resolve(r, runs_dir) for r in run_list]
    if len(paths) > 1 or (ticket is not None and is_chain_set(ticket)):
        plans = plan_chains(settings, out, run_dirs=paths or None, ticket_set=ticket if not paths else None,
                            rounds_from_ticket=follow, plots=fmt)
        _run_chains(plans, out, quiet, executor)
        return
    plan = plan_imp(settings, out, run=paths[0] if paths else None, config=cfg, ticket=ticket,
                    rounds_from_ticket=follow, plots=fmt)
    set_threads(threads)
    _run_imp(plan, quiet)


def _run_chains(plans, out: Path, quiet: bool, executor: dict) -> None:
    from .fanout import run_chains

    def cells(rows):
        a, b = rows[0], rows[-1]
        mono = "" if a["mono_per_N"] is None else f"{a['mono_per_N']:.3f} -> {b['mono_per_N']:.3f}"
        return [str(len(rows)), f"{100 * b['remaining_fraction']:.2f}%",
                f"{a['final_loss']:.4f} -> {b['final_loss']:.4f}", mono]
    method = plans[0].settings.method
    results = fanned_out(f"{method} chains -> {out.name}", len(plans), quiet,
                         lambda on_done: run_chains(plans, on_done=on_done, **executor))
    _set_table(results, f"{method}: {len(plans)} chains in {out}",
               ("chain", "levels", "remaining", "eval loss (level 0 -> last)", "mono/N (level 0 -> last)"), cells,
               "chains")


def _run_imp(plan, quiet: bool) -> None:
    from .imp import run_imp

    if quiet:
        rows = run_imp(plan)
    else:
        with progress() as prog:
            top = prog.add_task(f"{plan.settings.method} {plan.out.name}", total=plan.settings.rounds + 1, info="")
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

    def cells(r):
        h = r["feature_histogram"] or {}
        return [str(r["level"]), f"{100 * r['remaining_fraction']:.2f}%", str(r["remaining_W1"]),
                str(r["remaining_W2"]), f"{r['final_loss']:.4f}", num(r["mono_per_N"], ".3f"), str(r["mono_count"]),
                str(r["dead_count"]), f"{h.get('0', '')} / {h.get('1', '')} / {h.get('2+', '')}"]
    print_table(f"{plan.settings.method}: {plan.out}/levels.json",
                ("level", "remaining", "W1", "W2", "eval loss", "mono/N", "mono", "dead", "features 0 / 1 / 2+"),
                map(cells, rows))


@app.command()
@guarded
@train_options
def grow(
    out: Path = typer.Option(..., "--out", help="the sparse run's directory (a run dir plus grow.json)"),
    method: str = typer.Option("rigl", "--method", help="set | rigl | static"),
    sparsity: float = typer.Option(0.9, "--sparsity", help="fraction of all W1 and W2 weights that are zero"),
    update_every: int = typer.Option(100, "--update-every", help="steps between mask updates"),
    drop_fraction: float = typer.Option(0.3, "--drop-fraction", help="alpha: fraction of active weights moved"),
    drop_schedule: str = typer.Option("cosine", "--drop-schedule", help="cosine | constant"),
    end_fraction: float = typer.Option(0.75, "--end-fraction", help="no updates after this fraction of training"),
    distribution: str = typer.Option("uniform", "--distribution", help="uniform | erk layer densities"),
    threads: Optional[int] = THREADS, quiet: bool = QUIET, fmt: str = FORMAT,
    seeds: Optional[str] = typer.Option(None, "--seeds", help="comma-separated seeds: a grow set, OUT/seedS each"),
    workers: int = typer.Option(2, "--workers", help="grow sets: runs at once (one torch thread each)"),
    backend: str = BACKEND, address: Optional[str] = ADDRESS, max_retries: int = MAX_RETRIES,
    *, train: TrainFlags,
):
    """Sparse training at a fixed sparsity from the start: SET, RigL, or a static random mask.

    Train flags (e.g. --lr 0.03 --k 256) set the recipe. `--seeds 0,1,2` trains one run per seed into
    OUT/seed0, ... (a grow set), --workers at a time or as Ray tasks."""
    from .grow import GrowSettings, check_grow_out, run_grow

    settings = GrowSettings(method=method, sparsity=sparsity, update_every=update_every, drop_fraction=drop_fraction,
                            drop_schedule=drop_schedule, end_fraction=end_fraction, distribution=distribution)
    cfg = train.config()
    figure_format(fmt)
    if seeds is not None:
        if "seed" in train.given:
            raise ConfigError("give --seed (one run) or --seeds (a grow set), not both")
        from .fanout import plan_grow_set, run_grow_set

        executor = _executor(backend, workers, address, max_retries)
        items = plan_grow_set(settings, cfg, out, parse_ints(seeds, "--seeds"), plots=fmt)
        results = fanned_out(f"{method} set -> {out.name}", len(items), quiet,
                             lambda on_done: run_grow_set(items, on_done=on_done, **executor))
        _set_table(results, f"{method}: {len(items)} runs in {out}", ("run", "eval loss", "mono/N", "dead"),
                   lambda s: [f"{s['final_loss']:.4f}", num(s["mono_per_N"], ".3f"), str(s["dead_count"])], "runs")
        return
    check_grow_out(settings, cfg, out)
    set_threads(threads)
    with bars(quiet) as new_bar:
        update = new_bar(f"{method} {out.name}", cfg.steps, cfg.n_features)
        summary = run_grow(settings, cfg, out, on_progress=update, plots=fmt)
    _grow_table(out, settings, summary)


def _grow_table(out: Path, settings, summary: dict) -> None:
    from .grow import load_grow

    g = load_grow(out)
    moved = sum(h[n]["moved"] for h in g["history"] for n in ("W1", "W2"))
    rows = [("remaining weights", f"{g['remaining']} (W1 {g['keep']['W1']}, W2 {g['keep']['W2']}; "
                                  f"sparsity {settings.sparsity:g}, {settings.distribution})"),
            ("mask updates", f"{g['updates']} (until step {g['t_end']}), {moved} connections moved in all"),
            ("eval loss", f"{summary['final_loss']:.5f}")]
    if summary.get("mono_count") is not None:
        rows.append(("monosemantic", f"{summary['mono_count']} (mono/N {summary['mono_per_N']:.3f}), "
                                     f"dead {summary['dead_count']}"))
    print_table(f"{settings.method}: {out}", (), rows, show_header=False)


@app.command()
@guarded
def neurons(out: Path = typer.Argument(..., help="an IMP or control directory (holds levels.json)"),
            fmt: str = FORMAT):
    """Track every neuron and every feature across levels: DIR/neurons.json and DIR/neurons.FMT."""
    from models.runs import write_json

    from .neurons import FEATURE_TRANSITIONS, NEURON_TRANSITIONS, NEURONS_JSON, track
    from .plots import neurons_plot

    figure_format(fmt)
    data = track(out)
    write_json(out / NEURONS_JSON, data)
    neurons_plot(data, out / f"neurons.{fmt}")
    for key, names, what in (("transitions", NEURON_TRANSITIONS, "neurons"),
                             ("feature_transitions", FEATURE_TRANSITIONS, "features")):
        print_table(f"{out}: {what} between consecutive levels", ("levels", *names),
                    ([f"{tr['from']}->{tr['to']}", *(str(tr["counts"][n]) for n in names)] for tr in data[key]))
    counted = ("mono", "poly", "dead", "level0_mono_still_same_feature", "level0_served_features_still_served",
               "neurons_without_inputs")
    print_table(f"{out}: what survives from level 0 ({data['level0_mono']} mono neurons, "
                f"{data['level0_served_features']} served features)",
                ("level", "remaining", "mono", "poly", "dead", "level-0 mono still on same feature",
                 "level-0 features still served", "neurons without inputs"),
                ([str(s["level"]), f"{100 * s['remaining_fraction']:.2f}%", *(str(s[c]) for c in counted)]
                 for s in data["survival"]))
    typer.echo(f"wrote {out / NEURONS_JSON} and {out / f'neurons.{fmt}'}")


@app.command()
@guarded
def compare(
    dirs: list[Path] = typer.Argument(..., help="IMP / control directories, grow runs, dense runs"),
    out: Path = typer.Option(..., "--out", help="FILE.png, .pdf or .svg (the numbers go to FILE.json)"),
    x: str = typer.Option("fraction", "--x", help="fraction (of W1, W2 weights remaining) | count (non-zero)"),
    title: Optional[str] = typer.Option(None, "--title", help="what is compared (the recipe is added)"),
):
    """mono/N, loss and dead/k against remaining weights (log scale): one line per method, mean and range
    over seeds, the dense model as a reference line."""
    from models.runs import FIGURE_FORMATS, RunError, write_json

    from .compare import compare as compare_dirs
    from .plots import compare_plot

    if out.suffix.lower().lstrip(".") not in FIGURE_FORMATS or out.is_dir():
        raise RunError(f"--out must name a .png, .pdf or .svg file, got {out}")
    record_path = out.with_suffix(".json")
    if record_path.exists() and not _is_compare_record(record_path):
        raise RunError(f"{record_path} exists and is not a comparison this command wrote; choose another --out")
    if any(d.resolve() in out.resolve().parents for d in dirs):
        raise RunError(f"--out {out} lies inside an input; choose a path outside the compared directories")
    rows, record, cfg = compare_dirs(dirs, x)
    write_json(record_path, record)
    compare_plot(rows, cfg, out, x=x, title=title)

    def cell(s, fmt):
        return "" if s is None else f"{s['mean']:{fmt}} [{s['min']:{fmt}}, {s['max']:{fmt}}]"
    print_table(f"{out}: mean [min, max] over seeds",
                ("method", "remaining", "weights", "seeds", "mono/N", "eval loss", "dead/k"),
                ([r["label"], f"{100 * r['remaining_fraction']:.2f}%", str(r["remaining"]), str(len(r["seeds"])),
                  cell(r["mono_per_N"], ".3f"), cell(r["final_loss"], ".4f"), cell(r["dead_per_k"], ".3f")]
                 for r in rows))
    typer.echo(f"wrote {out} and {record_path}")


def _is_compare_record(path: Path) -> bool:
    from models.runs import RunError, read_json

    try:
        rec = read_json(path)
    except RunError:
        return False
    return isinstance(rec, dict) and {"inputs", "x", "rows", "points"} <= set(rec)


def main() -> None:  # console-script entry
    app(prog_name="prune")
