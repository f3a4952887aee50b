"""`models` command line: parses flags, calls the library, prints rich tables.

torch is imported inside commands so `models --help` stays fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .clikit import app as make_app
from .clikit import (FORMAT, TrainFlags, bars, fail, figure_format, guarded, num, parse_ints, print_table, progress,
                     report_failures, set_threads, train_options)
from .config import ConfigError, TrainConfig

app = make_app("Train toy models of monosemanticity (Jermyn et al. 2022), sweep them, and inspect runs.")


@app.command()
@guarded
@train_options
def train(
    name: str = typer.Option(..., "--name", help="run name: the run dir is RUNS_DIR/NAME"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="run store"),
    resume: bool = typer.Option(False, "--resume", help="continue an unfinished run from its saved state"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing run"),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: torch's choice)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    fmt: str = FORMAT,
    *, train: TrainFlags,
):
    """Train one model into RUNS_DIR/NAME (config, task, init, checkpoints, metrics, summary, figures)."""
    cfg = train.config()
    figure_format(fmt)
    if not str(runs_dir) or str(runs_dir) == ".":
        raise ConfigError("--runs-dir must name a directory")
    if "/" in name or "\n" in name or name in ("", ".", "..") or len(name) > 200:
        raise ConfigError(f"--name must be a plain directory name of at most 200 characters, got {name!r}")
    set_threads(threads)
    from .train import train_run

    run_dir = runs_dir / name
    with bars(quiet) as new_bar:
        update = new_bar(name, cfg.steps, cfg.n_features)
        summary = train_run(cfg, run_dir, resume=resume, force=force, on_progress=update, plots=fmt)
    _print_summary(run_dir, cfg, summary)


@app.command()
@guarded
def extend(
    run: Path = typer.Argument(..., help="a finished run dir"),
    steps: int = typer.Option(..., "--steps", help="the longer budget, in steps (more than the run's)"),
    out: Path = typer.Option(..., "--out", help="the new run dir (an interrupted extension resumes)"),
    force: bool = typer.Option(False, "--force", help="overwrite a finished --out"),
    threads: Optional[int] = typer.Option(None, help="torch threads (use the run's count for a bitwise match)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    fmt: str = FORMAT,
):
    """Train a finished run longer into a new run dir: equal to a run trained for --steps from the start
    (refused when the recipe depends on the step count: cosine schedule, fixed bias decay)."""
    figure_format(fmt)
    set_threads(threads)
    from .extend import extend_run

    with bars(quiet) as new_bar:
        update = new_bar(out.name, steps, None)
        summary = extend_run(run, out, steps, force=force, on_progress=update, plots=fmt)
    from . import runs

    _print_summary(out, runs.read_config(out), summary)


def _print_summary(run_dir: Path, cfg: TrainConfig, s: dict) -> None:
    from .plots import describe

    rows = [("config", describe(cfg)), ("eval loss", f"{s['final_loss']:.5f}")]
    if s.get("mono_count") is not None:
        h = s["feature_histogram"]
        rows += [("monosemantic", f"{s['mono_count']}  (mono/N {s['mono_per_N']:.3f}, mono/k {s['mono_per_k']:.3f})"),
                 ("dead", str(s["dead_count"])),
                 ("features by # mono neurons", f"0: {h['0']}   1: {h['1']}   2+: {h['2+']}")]
    else:
        rows.append(("monosemantic", s.get("metric_note") or "n/a"))
    sps = s.get("steps_per_s")
    rows += [("mean bias", f"{s['mean_bias']:.4f}"),
             ("steps", f"{s['steps']}  ({s['wall_s']:.1f} s" + (f", {sps:.1f} steps/s)" if sps else ")"))]
    print_table(str(run_dir), ["", ""], rows, show_header=False)


@app.command()
@guarded
def show(run: str = typer.Argument(..., help="run name (under --runs-dir) or path"),
         runs_dir: Path = typer.Option(Path("runs"), "--runs-dir")):
    """Print a run's summary as a table."""
    from . import runs

    path = runs.resolve(run, runs_dir)
    if not runs.is_finished(path):
        raise runs.RunError(f"run {path} is unfinished (no summary.json); continue it with --resume")
    _print_summary(path, runs.read_config(path), runs.read_summary(path))


@app.command()
@guarded
def features(run: str = typer.Argument(..., help="run name (under --runs-dir) or path"),
             runs_dir: Path = typer.Option(Path("runs"), "--runs-dir"),
             out: Optional[Path] = typer.Option(None, "--out", help="FILE.png (or .pdf, .svg); the view goes to "
                                                "FILE.json beside it [default: RUN/features.png]"),
             eval_size: Optional[int] = typer.Option(None, "--eval-size", help="eval samples for the per-feature "
                                                     "error (default: the task's full 2^16 eval set)"),
             every: bool = typer.Option(False, "--all", help="print a row per feature, not only per rank decile")):
    """Per feature: frequency, the neurons that serve it monosemantically, the polysemantic neurons' share of
    it, and its own reconstruction error; monosemantic, polysemantic or ignored, by frequency decile."""
    from . import runs
    from .features import CATEGORIES, feature_view
    from .plots import describe, features_plot

    r = runs.load_run(run, runs_dir)
    out = out or r.path / "features.png"
    if out.suffix.lower().lstrip(".") not in runs.FIGURE_FORMATS or out.is_dir():
        raise runs.RunError(f"--out must name a .png, .pdf or .svg file, got {out}")
    if eval_size is not None and not 1 <= eval_size <= 2**20:
        raise ConfigError(f"--eval-size must be in [1, 2^20], got {eval_size}")
    if r.config.nonlinearity != "relu":
        raise ConfigError(f"{r.name}: the per-feature view needs relu (the metric is not defined for "
                          f"{r.config.nonlinearity})")
    view = feature_view(r.params, r.config, r.task_tensors, eval_size)
    view["run"] = str(r.path)
    runs.write_json(out.with_suffix(".json"), view)
    features_plot(view, out, describe(r.config))

    def share(v):
        return num(v, ".3f")
    if every:
        print_table(f"{r.name}: every feature by frequency rank",
                    ("rank", "feature", "p", "mono neurons", "mono share", "poly share", "poly carriers", "rel error",
                     "category"),
                    ([str(f["rank"]), str(f["feature"]), f"{f['p']:.4g}", ",".join(map(str, f["mono_neurons"])),
                      share(f["mono_share"]), share(f["poly_share"]), str(f["poly_carriers"]), share(f["rel_error"]),
                      f["category"]] for f in sorted(view["features"], key=lambda f: f["rank"])))
    print_table(f"{r.name}: features by frequency decile (ignored: error > {view['ignored_rel']:g} of predicting 0)",
                ("decile", "ranks", "p", *CATEGORIES, "mean rel error"),
                ([str(d["decile"]), "{}-{}".format(*d["ranks"]), "{:.3g}-{:.3g}".format(*d["p"]),
                  *(f"{d[c]:.2f}" for c in CATEGORIES), share(d["mean_rel_error"])] for d in view["deciles"]))
    typer.echo(", ".join(f"{c} {view['counts'][c]}" for c in CATEGORIES) + f" of {view['n_features']} features")
    typer.echo(f"wrote {out.with_suffix('.json')} and {out}")


LIST_COLUMNS = ("run", "task", "N/d/k", "lr", "bias", "decay", "B", "steps", "seed", "prec", "loss", "mono/N",
                "dead", "state")


@app.command("list")
@guarded
def list_(runs_dir: Path = typer.Option(Path("runs"), "--runs-dir"),
          as_json: bool = typer.Option(False, "--json", help="every run's config, summary numbers and state as JSON"),
          as_csv: bool = typer.Option(False, "--csv", help="the same as CSV (the rows of models.runs_table)")):
    """One row per run under RUNS_DIR: essentials, loss, mono/N, dead, state."""
    from . import runs

    if not runs_dir.is_dir():
        raise runs.RunError(f"no run store {runs_dir}")
    rows = runs.run_rows(runs_dir)
    if as_json:
        import json

        typer.echo(json.dumps(rows, indent=1))
    elif as_csv:
        import csv
        import sys

        w = csv.DictWriter(sys.stdout, fieldnames=list(dict.fromkeys(k for r in rows for k in r)), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    else:
        print_table(f"runs in {runs_dir}", LIST_COLUMNS, [_list_row(r) for r in rows])


def _list_row(r: dict) -> list[str]:
    if r["state"] == "corrupt":
        return [r["run"], *[""] * 12, "corrupt"]
    return [r["run"], r["task"], f"{r['n_features']}/{r['d_embed']}/{r['k']}", f"{r['lr']:g}", str(r["bias_init"]),
            f"{r['bias_decay']:g}", str(r["batch"]), str(r["steps"]), str(r["seed"]), r["precision"],
            num(r.get("final_loss"), ".4f"), num(r.get("mono_per_N"), ".3f"), num(r.get("dead_count"), "d"),
            r["state"]]


SWEEP_OPTIONS = dict(
    workers=typer.Option(2, "--workers", help="worker processes (one torch thread each); with --backend ray and "
                                              "no --address, the CPUs of the local Ray instance"),
    backend=typer.Option("local", "--backend", help="local (a process pool) | ray (Ray tasks)"),
    address=typer.Option(None, "--address", help="Ray cluster: auto | HOST:PORT (default: start a local Ray "
                                                 "instance)"),
    gpus_per_run=typer.Option(None, "--gpus-per-run", help="Ray: GPU fraction per cell (per batched model with "
                                                           "--instances), e.g. 0.25"),
    max_retries=typer.Option(1, "--max-retries", help="Ray: retries of a failed cell"),
    instances=typer.Option(1, "--instances", help="train up to this many equal-shape cells as one batched model "
                                                  "per worker; pays for tiny models on a CPU (benchmarks/README.md)"),
)


@app.command()
@guarded
@train_options
def sweep(
    out: Path = typer.Option(..., "--out", help="sweep directory: one run dir per cell, sweep.json, sweep.png"),
    grid: list[str] = typer.Option([], "--grid", help="axis of the product, e.g. lr=0.003,0.03"),
    zipped: list[str] = typer.Option([], "--zip", help="axes that move together, e.g. --zip bias_init=-1,0 "
                                                        "--zip bias_decay=0.03,0"),
    seeds: str = typer.Option("0", "--seeds", help="comma-separated seeds"),
    workers: int = SWEEP_OPTIONS["workers"], backend: str = SWEEP_OPTIONS["backend"],
    address: Optional[str] = SWEEP_OPTIONS["address"], gpus_per_run: Optional[float] = SWEEP_OPTIONS["gpus_per_run"],
    max_retries: int = SWEEP_OPTIONS["max_retries"], instances: int = SWEEP_OPTIONS["instances"],
    fmt: str = FORMAT,
    *, train: TrainFlags,
):
    """Train a grid of runs; train flags fix a value for every cell (e.g. --steps 4096 --k 512). Finished
    cells are skipped, so a killed sweep resumes by rerunning. `--backend ray` runs the cells as Ray tasks
    (`pip install -e '.[ray]'`); --out must then be on a filesystem every Ray node sees."""
    require_seed_free(train)
    base = train.config()
    from .sweep import expand

    cells = expand(base, grid, zipped, parse_ints(seeds, "--seeds"))
    _run_sweep(cells, out, f"sweep {out.name}", dict(workers=workers, backend=backend, address=address,
                                                     gpus_per_run=gpus_per_run, max_retries=max_retries,
                                                     instances=instances), fmt)


def require_seed_free(train: TrainFlags) -> None:
    if "seed" in train.given:
        raise ConfigError("a sweep takes its seeds from --seeds, not --seed")


def _run_sweep(cells, out: Path, title: str, executor: dict, fmt: str) -> None:
    from . import runs
    from .executor import check_backend
    from .sweep import check_cells, run_sweep

    figure_format(fmt)
    check_backend(executor["backend"], executor["workers"], executor["address"], executor["gpus_per_run"],
                  executor["max_retries"])
    check_cells(cells, out)
    with progress() as prog:
        done0 = sum(runs.is_finished(out / c.name) for c in cells)
        tid = prog.add_task(title, total=len(cells), completed=done0, info="")
        table = run_sweep(cells, out, on_cell=lambda cell, status: prog.update(tid, advance=1,
                                                                               info=f"{status}: {cell.name}"),
                          plots=fmt, **executor)
    _print_sweep(table, list(cells[0].values))
    report_failures({r["name"]: r.get("error", "failed") if r["state"] == "failed" else r for r in table}, "cells")


@app.command()
@guarded
def table(out: Path = typer.Argument(..., help="a sweep directory (holds sweep.json)"),
          markdown: bool = typer.Option(False, "--markdown", help="print a markdown table instead")):
    """Per-cell mean and [min, max] over seeds of a sweep: eval loss, mono/N, dead, mean bias, convergence."""
    from .sweep import aggregate, load_sweep

    from . import runs

    sw = load_sweep(out)
    axes = sw["axes"]
    finished = [r for r in sw["cells"] if r.get("state") == "finished"]
    precisions = sorted({runs.read_config(out / r["name"]).precision for r in finished})
    rows = aggregate(sw["cells"], axes)
    cols = [*axes, "seeds", "eval loss", "mono/N", "dead", "mean bias", "loss change, last 1/8",
            "mono change, last doubling"]

    def cell(r, f, fmt):
        a = r.get(f)
        return "" if a is None else f"{a['mean']:{fmt}} [{a['min']:{fmt}}, {a['max']:{fmt}}]"
    body = [[*(str(r[a]) for a in axes), str(r["seeds"]), cell(r, "final_loss", ".4f"), cell(r, "mono_per_N", ".3f"),
             cell(r, "dead_count", ".0f"), cell(r, "mean_bias", ".3f"), cell(r, "loss_rel_change_last_eighth", "+.3f"),
             cell(r, "mono_change_last_doubling", "+.0f")] for r in rows]
    prec = ", ".join(precisions) or "-"
    title = f"precision: {prec}" if markdown else f"{out}: mean [min, max] over seeds; precision {prec}"
    print_table(title, cols, body, markdown=markdown)


@app.command()
@guarded
def figure(kind: str = typer.Argument(..., help="the compared variable: lr | bias | k | eps | freq | task"),
           sweep_dir: Path = typer.Argument(..., help="a sweep directory (holds sweep.json) that varies it"),
           out: Path = typer.Option(..., "--out", help="FILE.png (or .pdf, .svg); the heatmaps go to FILE_sfa.png "
                                                       "beside it"),
           at: list[str] = typer.Option([], "--at", help="hold another axis at this value, e.g. --at bias_init=-1 "
                                                          "(default: the first cell's values)")):
    """The paper's figures from a sweep: mono/N, loss and mean bias against log2 step coloured by the
    variable; final mono/N, mono/k, loss and dead neurons against it; bias by neuron; and single-feature
    activation heatmaps of the lowest, middle and highest value (FILE_sfa.png)."""
    from .figures import figure as make_figure
    from .sweep import parse_axis

    held = {}
    for spec in at:
        name, vals = parse_axis(spec)
        if len(vals) != 1:
            raise ConfigError(f"--at {spec!r} needs one value")
        held[name] = vals[0]
    for p in make_figure(sweep_dir, kind, out, at=held):
        typer.echo(f"wrote {p}")


@app.command("paper-sweep")
@guarded
@train_options
def paper_sweep(
    name: str = typer.Argument(..., help="a batch of the paper's Table 1: LR1..LR5, B1..B5, E1..E4, K0..K2, RG1, RP1, D1"),
    out: Optional[Path] = typer.Option(None, "--out", help="sweep directory (default runs/paper/NAME)"),
    seeds: str = typer.Option("", "--seeds", help="comma-separated seeds (default: the paper's one run per value)"),
    print_only: bool = typer.Option(False, "--print", help="print the batch and its `models sweep` command; train nothing"),
    workers: int = typer.Option(1, "--workers", help="worker processes (Ray: CPUs of a local instance)"),
    backend: str = SWEEP_OPTIONS["backend"], address: Optional[str] = SWEEP_OPTIONS["address"],
    gpus_per_run: Optional[float] = SWEEP_OPTIONS["gpus_per_run"], max_retries: int = SWEEP_OPTIONS["max_retries"],
    instances: int = SWEEP_OPTIONS["instances"], fmt: str = FORMAT,
    *, train: TrainFlags,
):
    """Train one of the paper's Table 1 batches at paper scale (batch 8192, 2^17 steps: a GPU or cluster
    job) as a sweep. Train flags override fixed values (e.g. --device cuda, --steps 4096). `--print` shows
    the equivalent `models sweep` command, to run with any sweep option."""
    from . import paper_sweeps

    if train.preset is not None:
        raise ConfigError(f"a paper sweep starts from the {paper_sweeps.BASE_PRESET!r} preset; give no --preset")
    require_seed_free(train)
    s = paper_sweeps.spec(name)
    out = out or Path("runs/paper") / s["name"]
    seed_list = parse_ints(seeds, "--seeds") if seeds.strip() else s["seeds"]
    cells = paper_sweeps.cells(s["name"], seed_list, train.given)
    from .executor import check_backend

    check_backend(backend, workers, address, gpus_per_run, max_retries)
    if print_only:
        typer.echo(f"{s['name']}: {len(cells)} runs; {s['source']}")
        extra = "".join(f" --{k.replace('_', '-')} {v}" for k, v in train.given.items())
        typer.echo(paper_sweeps.command_line(s["name"], str(out), seed_list) + extra)
        return
    _run_sweep(cells, out, f"{s['name']} -> {out}", dict(workers=workers, backend=backend, address=address,
                                                        gpus_per_run=gpus_per_run, max_retries=max_retries,
                                                        instances=instances), fmt)


def _print_sweep(table: list[dict], axes: list[str]) -> None:
    rows = [[*[str(r[a]) for a in axes], str(r["seed"]), num(r.get("final_loss"), ".4f"),
             num(r.get("mono_per_N"), ".3f"), num(r.get("dead_count"), "d"), r["state"]] for r in table]
    print_table("sweep", [*axes, "seed", "loss", "mono/N", "dead", "state"], rows)


def main() -> None:  # console-script entry
    app(prog_name="models")


__all__ = ["app", "main", "fail"]
