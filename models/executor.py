"""Executors: run fn(item) for many items in one-thread workers and yield each outcome as it finishes.

`local` is a pool of spawned processes on this machine; `ray` runs each item as a Ray task (one CPU, or
a GPU fraction) on a local Ray instance or a cluster. Sweeps and basin maps fan out through
`make_executor(...).map_unordered(fn, items)` and never learn which backend ran them. `fn` must be a
module-level function and items picklable; nothing is pickled to disk. Ray is an optional extra and is
imported only when asked for.
"""
from __future__ import annotations

import os
import signal
import sys
from typing import Callable, Iterable, Iterator

from .config import ConfigError

BACKENDS = ("local", "ray")
MAX_WORKERS = 1024


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _local_worker(parent: int) -> None:
    """A local pool worker: one torch thread, and on Linux a SIGTERM when the process that spawned it
    dies, so a killed sweep leaves no orphan still training into its run dirs."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the request took hold
            os._exit(1)
    _one_thread()


def _call_one_thread(fn: Callable, item):
    _one_thread()
    return fn(item)


class _Executor:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        pass


class LocalExecutor(_Executor):
    """A spawn ProcessPoolExecutor with one torch thread per worker; the workers die with this process."""

    def __init__(self, workers: int):
        self.workers = workers

    def map_unordered(self, fn: Callable, items: Iterable) -> Iterator[tuple[object, object, Exception | None]]:
        """(item, result, None) or (item, None, error) for every item, in the order they finish."""
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        items = list(items)
        if not items:
            return
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                 initializer=_local_worker, initargs=(os.getpid(),)) as pool:
            futs = {pool.submit(fn, it): it for it in items}
            for fut in as_completed(futs):
                try:
                    yield futs[fut], fut.result(), None
                except Exception as e:  # a failed item is reported, the others go on
                    yield futs[fut], None, e


class RayExecutor(_Executor):
    """Each item a Ray task with num_cpus=1 (or num_gpus=gpus_per_task), retried up to max_retries times
    after an exception or a lost worker. Starts a local Ray instance with `workers` CPUs unless Ray is
    initialised already or `address` names a cluster ('auto' or HOST:PORT)."""

    def __init__(self, workers: int, address: str | None = None, gpus_per_task: float | None = None,
                 max_retries: int = 1):
        self.ray = import_ray()
        self.started = False
        if not self.ray.is_initialized():
            if address or os.environ.get("RAY_ADDRESS"):
                self.ray.init(address=address)
            else:
                self.ray.init(num_cpus=workers, include_dashboard=False)
            self.started = True
        self.remote = self.ray.remote(num_cpus=1, num_gpus=gpus_per_task or 0, max_retries=max_retries,
                                      retry_exceptions=True)(_call_one_thread)

    def map_unordered(self, fn: Callable, items: Iterable) -> Iterator[tuple[object, object, Exception | None]]:
        ray = self.ray
        pending = {self.remote.remote(fn, it): it for it in items}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            item = pending.pop(done[0])
            try:
                yield item, ray.get(done[0]), None
            except ray.exceptions.RayTaskError as e:  # the task's own exception, not Ray's wrapper
                yield item, None, e.cause if isinstance(e.cause, Exception) else e
            except ray.exceptions.RayError as e:  # worker or node lost beyond the retries
                yield item, None, e

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def one_line(err: BaseException) -> str:
    """An item's error as the one line a sweep table or a set's summary reports."""
    return f"{type(err).__name__}: {err}".splitlines()[0]


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install -e '.[ray]'") from None
    return ray


def make_executor(backend: str = "local", workers: int = 2, address: str | None = None,
                  gpus_per_task: float | None = None, max_retries: int = 1):
    """The executor for --backend, its options checked. Use it in a `with` block: on leaving, a Ray
    instance that the executor started itself is shut down."""
    check_backend(backend, workers, address, gpus_per_task, max_retries)
    if backend == "local":
        return LocalExecutor(workers)
    return RayExecutor(workers, address, gpus_per_task, max_retries)


def check_backend(backend: str, workers: int = 1, address: str | None = None, gpus_per_task: float | None = None,
                  max_retries: int = 1) -> None:
    """Refuse bad executor options before anything runs (one-line ConfigErrors)."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown --backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if not (1 <= workers <= MAX_WORKERS and 0 <= max_retries <= 100) or (
            gpus_per_task is not None and not 0 < gpus_per_task <= 1):
        raise ConfigError(f"--workers must be in [1, {MAX_WORKERS}], --max-retries in [0, 100], --gpus-per-run in (0, 1]")
    if backend == "local" and (address or gpus_per_task):
        raise ConfigError("--address and --gpus-per-run need --backend ray")
    if backend == "ray":
        import_ray()
