"""Toy models of monosemanticity: tasks, the two-layer model, training, the metric, and the run store.

`models.load_run(path)` returns a run's config, tensors and summary. Submodules are imported lazily
so the command line starts without importing torch.
"""
__version__ = "0.1.0"

_LAZY = {"load_run": "runs", "Run": "runs", "RunError": "runs", "runs_table": "runs", "TrainConfig": "config",
         "train_run": "train", "train_batched": "batched", "eval_loss": "evaluate", "measure": "metric", "Task": "tasks",
         "as_module": "model", "params_from_module": "model"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
