"""What the three command lines share: the one-line error guard, progress bars, list parsers, thread
settings, failure summaries and the `models train` options, generated from TrainConfig's fields so that
each field's name, default and help are stated once (in models.config).

Nothing here imports torch at import time, so every `--help` stays fast.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from dataclasses import MISSING, dataclass, fields
from typing import Callable, Optional

import typer
from typer.core import TyperGroup

from .config import PRESETS, ConfigError, TrainConfig, parse_bias_init, preset, require

MAX_THREADS = 256
FORMAT = typer.Option("png", "--format", help="figure format: png | pdf | svg")
INTERRUPTED = "interrupted; the run's last saved state is kept: rerun with --resume to continue"


def fail(msg: str, code: int = 2):
    """One line on stderr and a non-zero exit (2: a refusal of the input)."""
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


def guarded(fn=None, *, interrupted: str = INTERRUPTED):
    """Turn the library's user-facing errors into one line on stderr and a non-zero exit; `@guarded` or
    `@guarded(interrupted=...)` (what to say on Ctrl-C)."""
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
        except OSError as e:  # disk full, permissions, a path under a file: the files written so far stay
            msg = e.strerror or str(e) or type(e).__name__
            fail(f"{msg}{f': {e.filename}' if e.filename else ''}", 1)
    return wrapper


class OneLineErrors(TyperGroup):
    """A typer app whose own refusals (a bad value, an unknown or missing option) are one line on stderr
    and exit 2, like every refusal of the library, instead of click's usage box."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from typer.exceptions import TyperException

        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(130)
        except TyperException as e:  # click's UsageError family
            msg = e.format_message() if hasattr(e, "format_message") else str(e)
            typer.echo(f"error: {' '.join(msg.split())}", err=True)
            sys.exit(getattr(e, "exit_code", 2) or 2)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


def app(help: str) -> typer.Typer:
    """A typer app of this suite: one-line errors, shell completion, help on no arguments."""
    return typer.Typer(cls=OneLineErrors, no_args_is_help=True, pretty_exceptions_enable=False, help=help)


def console():
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def num(v, fmt: str) -> str:
    """A number as a table cell: formatted, or blank where it is undefined (None)."""
    return "" if v is None else format(v, fmt)


def print_table(title: str, columns, rows, *, markdown: bool = False, **table_options) -> None:
    """Rows of cell strings under their columns: a rich table, or a markdown one (title as a first line)."""
    if markdown:
        typer.echo(f"{title}\n| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
        for r in rows:
            typer.echo("| " + " | ".join(r) + " |")
        return
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(title), **table_options)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*map(escape, r))
    console().print(t)


def progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=False)


def bar(name: str, total: int, n_features: int | None = None):
    """(progress, update): update(step, loss=None, mono=None) starts the bar on first use, so a command
    refused before its first step prints none. Call progress.stop() when done."""
    prog, tid = progress(), None

    def update(step, loss=None, mono=None, *_):
        nonlocal tid
        if tid is None:
            prog.start()
            tid = prog.add_task(name, total=total, info="")
        info = "" if loss is None else f"loss {loss:.4f}"
        if mono is not None and n_features:
            info += f"  mono/N {mono / n_features:.3f}"
        prog.update(tid, completed=step, info=info)
    return prog, update


@contextlib.contextmanager
def bars(quiet: bool = False):
    """new(name, total, n_features=None) -> update (None when quiet): bars that start at their first update
    (none for a refusal), all stopped on leaving, in the order they were made."""
    made = []

    def new(name: str, total: int, n_features: int | None = None):
        if quiet:
            return None
        prog, update = bar(name, total, n_features)
        made.append(prog)
        return update
    try:
        yield new
    finally:
        for prog in made:
            prog.stop()


def fanned_out(title: str, total: int, quiet: bool, run: Callable):
    """run(on_done) with a bar over the members of a fan-out (none when quiet); on_done(name, status)."""
    if quiet:
        return run(lambda name, status: None)
    with progress() as prog:
        tid = prog.add_task(title, total=total, info="")
        return run(lambda name, status: prog.update(tid, advance=1, info=f"{status}: {name}"))


def report_failures(results: dict, what: str) -> None:
    """Exit 1 with one line when any member's result is an error string (the others are kept)."""
    failed = [(n, r or "nothing finished") for n, r in results.items() if isinstance(r, str) or not r]
    if failed:
        fail(f"{len(failed)} of {len(results)} {what} failed; first: {failed[0][0]}: {failed[0][1]}", 1)


def parse_ints(text: str, flag: str, minimum: int | None = 0) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} must be comma-separated integers, got {text!r}") from None
    require(bool(vals), f"{flag} needs at least one value")
    require(len(set(vals)) == len(vals), f"{flag} lists a value twice")
    require(minimum is None or min(vals) >= minimum, f"{flag} values must be at least {minimum}")
    require(max(vals) < 2**63, f"{flag} values must be below 2^63")
    return vals


def parse_floats(text: str, flag: str) -> list[float]:
    import math

    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} must be comma-separated numbers, got {text!r}") from None
    require(bool(vals), f"{flag} needs at least one value")
    require(all(math.isfinite(v) for v in vals), f"{flag} values must be finite")
    return vals


def in_range(v, flag: str, lo: float, hi: float, *, open_lo: bool = False) -> None:
    """Refuse v outside [lo, hi] (or (lo, hi] with open_lo), NaN and infinities included."""
    import math

    ok = v is not None and math.isfinite(v) and (v > lo if open_lo else v >= lo) and v <= hi
    require(ok, f"{flag} must be in {'(' if open_lo else '['}{lo:g}, {hi:g}], got {v}")


def figure_format(fmt: str) -> str:
    """--format checked (one line for an unknown one)."""
    from .runs import plot_format

    return plot_format(fmt)


def set_threads(n: Optional[int]) -> None:
    """torch's thread count; None keeps torch's choice."""
    if n is None:
        return
    require(1 <= n <= MAX_THREADS, f"--threads must be in [1, {MAX_THREADS}], got {n}")
    import torch

    torch.set_num_threads(n)


@dataclass(frozen=True)
class TrainFlags:
    """The train flags a command was given (only those given) and its --preset."""

    given: dict
    preset: Optional[str] = None

    def __bool__(self) -> bool:
        return bool(self.given) or self.preset is not None

    def config(self, **extra) -> TrainConfig:
        """TrainConfig defaults < preset < flags given < extra."""
        require(self.preset != "", "--preset needs a name")
        values = preset(self.preset) if self.preset else {}
        values.update(self.given)
        values.update(extra)
        if isinstance(values.get("bias_init"), str):
            values["bias_init"] = parse_bias_init(values["bias_init"])
        cfg = TrainConfig(**values, preset=self.preset)
        if cfg.precision == "bf16":
            from .model import has_bf16_units

            if not has_bf16_units():
                typer.echo("note: this CPU has no bf16 matrix units (AVX512-BF16 or AMX): --precision bf16 will be "
                           "slower than fp32 here", err=True)
        return cfg


_TYPES = {"int": int, "float": float, "str": str, "float | str": str}
_PREFIX = "train_"


def train_options(fn):
    """Give a command one --option per TrainConfig field plus --preset; it receives them as `train:
    TrainFlags`. Names, defaults and help come from the dataclass, so they are written once."""
    sig = inspect.signature(fn, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "train"]
    added = [inspect.Parameter(f"{_PREFIX}preset", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                               default=typer.Option(None, "--preset", help=f"start from a preset: {', '.join(PRESETS)}",
                                                    rich_help_panel="Train flags"))]
    for f in fields(TrainConfig):
        if f.name == "preset":
            continue
        default = f.default if f.default is not MISSING else None
        shown = f"1/{round(1 / default)}" if f.name == "eps" else default
        added.append(inspect.Parameter(
            f"{_PREFIX}{f.name}", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[_TYPES[str(f.type)]],
            default=typer.Option(None, f"--{f.name.replace('_', '-')}", help=f"{f.metadata['help']} (default: {shown})",
                                 rich_help_panel="Train flags", show_default=False)))

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        given = {k[len(_PREFIX):]: kwargs.pop(k) for k in list(kwargs) if k.startswith(_PREFIX)}
        name = given.pop("preset")
        given = {k: v for k, v in given.items() if v is not None}
        if "bias_init" in given:
            given["bias_init"] = parse_bias_init(given["bias_init"])
        return fn(*args, train=TrainFlags(given, name), **kwargs)

    keyword = [p for p in own if p.kind == inspect.Parameter.KEYWORD_ONLY]
    positional = [p for p in own if p.kind != inspect.Parameter.KEYWORD_ONLY]
    wrapper.__signature__ = sig.replace(parameters=positional + keyword + added)
    hints = {p.name: p.annotation for p in positional + keyword + added}
    wrapper.__annotations__ = hints
    del wrapper.__wrapped__  # typer must read the generated signature, not the original's
    return wrapper
