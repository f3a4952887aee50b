"""Several IMP chains at once (one per seed or start), fanned out through models.executor.

A chain set is a directory of IMP directories, one per dense run: `prune imp RUN_A RUN_B --out SET` writes
SET/RUN_A/, SET/RUN_B/; a control follows a whole set (`--ticket SET` -> OUT/RUN_A/, ...). Every chain
is planned (and so checked) before any runs; each is one executor item (a local one-thread worker or a
Ray task), so the backend is the sweep's. Chains already finished are skipped level by level, as run_imp
does: a killed set resumes by rerunning.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from models import runs
from models.config import ConfigError

from .imp import IMP_JSON, ImpPlan, ImpSettings, plan_imp, run_imp


def chain_dirs(ticket_set: str | Path) -> list[Path]:
    """The IMP directories of a chain set (its subdirectories holding imp.json), sorted by name."""
    d = Path(ticket_set)
    found = sorted(p.parent for p in d.glob(f"*/{IMP_JSON}")) if d.is_dir() else []
    if not found:
        raise runs.RunError(f"{d} holds no IMP directories (no */{IMP_JSON}): not a chain set")
    return found


def is_chain_set(d: str | Path) -> bool:
    d = Path(d)
    return d.is_dir() and not (d / IMP_JSON).exists() and any(d.glob(f"*/{IMP_JSON}"))


def plan_chains(settings: ImpSettings, out: str | Path, *, run_dirs: list[Path] | None = None,
                ticket_set: str | Path | None = None) -> list[ImpPlan]:
    """One plan per dense run (OUT/<run name>) or per chain of a ticket set (OUT/<chain name>), all checked
    before anything is written."""
    out = Path(out).resolve()  # absolute: a Ray worker on another node (or in another cwd) sees the same path
    if (out / IMP_JSON).exists():
        raise ConfigError(f"--out {out} is one IMP directory; several chains need a new --out (a chain set)")
    if out.exists() and not out.is_dir():
        raise runs.RunError(f"--out {out} exists and is not a directory")
    if (run_dirs is None) == (ticket_set is None):
        raise ConfigError("a chain set starts from several dense runs or from a ticket chain set, not both")
    if run_dirs is not None and settings.control != "none":
        raise ConfigError("with --control the dense starts are the ticket chain set's; give no RUN")
    starts = run_dirs if run_dirs is not None else chain_dirs(ticket_set)
    names = [Path(s).name for s in starts]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"two starts share the name {dup[0]!r}; their chains would share OUT/{dup[0]}")
    if ticket_set is not None:
        return [plan_imp(settings, out / n, ticket=t) for n, t in zip(names, starts)]
    return [plan_imp(settings, out / n, run=r) for n, r in zip(names, starts)]


def _run_chain(plan: ImpPlan) -> list[dict]:
    return run_imp(plan)


def run_chains(plans: list[ImpPlan], *, backend: str = "local", workers: int = 2, address: str | None = None,
               max_retries: int = 1, on_chain: Callable[[ImpPlan, str], None] | None = None
               ) -> dict[str, list[dict] | str]:
    """Run every chain through the executor; chain name -> its levels.json rows, or its error (one line)."""
    from models.executor import make_executor

    results: dict[str, list[dict] | str] = {}
    with make_executor(backend, workers, address, None, max_retries) as ex:
        for plan, rows, err in ex.map_unordered(_run_chain, plans):
            results[plan.out.name] = rows if err is None else f"{type(err).__name__}: {err}".splitlines()[0]
            if on_chain:
                on_chain(plan, "done" if err is None else "failed")
    return {p.out.name: results[p.out.name] for p in plans}
