"""Sets: several IMP chains or grow runs at once, fanned out through models.executor.

A chain set holds one IMP directory per dense run (`prune imp RUN_A RUN_B --out SET` -> SET/RUN_A, ...), and
a control follows a whole set (`--ticket SET`); a grow set one grow run per seed (SET/seed0, ...). Every
member is planned and checked before any trains; what is finished is skipped, so a killed set resumes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from models import runs
from models.config import ConfigError
from models.rundir import ResultDir

from .grow import GROW_JSON, GrowSettings, check_grow_out, run_grow
from .imp import IMP_JSON, ImpPlan, ImpSettings, plan_imp, run_imp

CHAIN_SET, GROW_SET = "imp-set", "grow-set"


def _holders(d: Path, record: str) -> list[Path]:
    """The subdirectories of d holding `record`, sorted by name; none when d holds it itself."""
    if not d.is_dir() or (d / record).exists():
        return []
    return sorted(p.parent for p in d.glob(f"*/{record}"))


def chain_dirs(ticket_set: str | Path) -> list[Path]:
    """The IMP directories of a chain set (its subdirectories holding imp.json), sorted by name."""
    d = Path(ticket_set)
    found = _holders(d, IMP_JSON)
    if not found:
        raise runs.RunError(f"{d} holds no IMP directories (no */{IMP_JSON}): not a chain set")
    return found


def is_chain_set(d: str | Path) -> bool:
    return bool(_holders(Path(d), IMP_JSON))


def members(d: str | Path) -> list[Path]:
    """The IMP directories or grow runs of a set, sorted by name; [d] when d is not a set."""
    d = Path(d)
    return _holders(d, IMP_JSON) or _holders(d, GROW_JSON) or [d]


def plan_chains(settings: ImpSettings, out: str | Path, *, run_dirs: list[Path] | None = None,
                ticket_set: str | Path | None = None, rounds_from_ticket: bool = False,
                plots: bool | str = True) -> list[ImpPlan]:
    """One plan per dense run (OUT/<run name>) or per chain of a ticket set (OUT/<chain name>), all checked
    before anything is written."""
    out = Path(out).resolve()  # absolute: a Ray worker on another node (or in another cwd) sees the same path
    if (out / IMP_JSON).exists():
        raise ConfigError(f"--out {out} is one IMP directory; several chains need a new --out (a chain set)")
    if (run_dirs is None) == (ticket_set is None):
        raise ConfigError("a chain set starts from several dense runs or from a ticket chain set, not both")
    if run_dirs is not None and settings.control != "none":
        raise ConfigError("with --control the dense starts are the ticket chain set's; give no RUN")
    starts = run_dirs if run_dirs is not None else chain_dirs(ticket_set)
    names = [Path(s).name for s in starts]
    ResultDir(out, CHAIN_SET, None, members=set(names)).check(
        resume=True, inputs=[*(run_dirs or []), *([ticket_set] if ticket_set else [])])
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"two starts share the name {dup[0]!r}; their chains would share OUT/{dup[0]}")
    if ticket_set is not None:
        return [plan_imp(settings, out / n, ticket=t, rounds_from_ticket=rounds_from_ticket, plots=plots)
                for n, t in zip(names, starts)]
    return [plan_imp(settings, out / n, run=r, plots=plots) for n, r in zip(names, starts)]


def _fan_out(fn: Callable, items: list, name_of: Callable, out: Path, kind: str,
             on_done: Callable[[str, str], None] | None, executor: dict) -> dict:
    """fn(item) for every item through the executor, with the set directory `out` claimed; member name ->
    its result, or its error (one line), in the order of items. on_done(name, "done" | "failed")."""
    from models.executor import make_executor, one_line

    results = {}
    with ResultDir(out, kind, None, members={name_of(it) for it in items}) as rd, make_executor(**executor) as ex:
        rd.claim(resume=True)
        for item, result, err in ex.map_unordered(fn, items):
            results[name_of(item)] = result if err is None else one_line(err)
            if on_done:
                on_done(name_of(item), "done" if err is None else "failed")
    return {name_of(it): results[name_of(it)] for it in items}


def run_chains(plans: list[ImpPlan], *, on_done: Callable[[str, str], None] | None = None,
               **executor) -> dict[str, list[dict] | str]:
    """Run every chain through the executor (make_executor's backend, workers, address, max_retries); chain
    name -> its levels.json rows, or its error (one line)."""
    return _fan_out(run_imp, plans, lambda p: p.out.name, plans[0].out.parent, CHAIN_SET, on_done, executor)


def plan_grow_set(settings: GrowSettings, cfg, out: str | Path, seeds: list[int],
                  plots: bool | str = True) -> list[tuple]:
    """(settings, config, OUT/seedS, plots) per seed, each OUT checked as `prune grow` checks one."""
    out = Path(out).resolve()
    if (out / GROW_JSON).exists() or (out / runs.CONFIG).exists():
        raise ConfigError(f"--out {out} is one run; several seeds need a new --out (a grow set)")
    ResultDir(out, GROW_SET, None, members={f"seed{s}" for s in seeds}).check(resume=True)
    if len(set(seeds)) != len(seeds):
        raise ConfigError("--seeds lists a seed twice")
    items = [(settings, cfg.replace(seed=s), out / f"seed{s}", plots) for s in seeds]
    for st, c, d, _ in items:
        check_grow_out(st, c, d)
    return items


def _run_grow(item: tuple) -> dict:
    settings, cfg, out, plots = item
    return run_grow(settings, cfg, out, plots=plots)


def run_grow_set(items: list[tuple], *, on_done: Callable[[str, str], None] | None = None,
                 **executor) -> dict[str, dict | str]:
    """Train every grow run of a set through the executor (as run_chains); run name -> its summary, or its
    error."""
    return _fan_out(_run_grow, items, lambda it: it[2].name, items[0][2].parent, GROW_SET, on_done, executor)
