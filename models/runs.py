"""The run store: one directory per run, read without pickle (models.rundir writes it).

runs/NAME/: config.json (TrainConfig + versions), task.safetensors (P, and Q for the reprojector),
init.safetensors and model.safetensors (W1 k x d, b1 k, W2 out x k; pruned runs add mask.W1, mask.W2),
checkpoints/step_XXXXXXX.safetensors (log2-spaced), metrics.jsonl, summary.json (written last: its
presence marks the run finished), training.png, sfa.png, resume.safetensors (only while unfinished),
final_state.safetensors (a finished plain run's last resume state, which `models extend` continues).
This is the interface basins/ and pruning/ read; nothing in it depends on how a run was made.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import ConfigError, TrainConfig

SUMMARY, CONFIG, TASK, INIT, MODEL, METRICS, RESUME, FINAL_STATE = (
    "summary.json", "config.json", "task.safetensors", "init.safetensors", "model.safetensors",
    "metrics.jsonl", "resume.safetensors", "final_state.safetensors")
CHECKPOINTS = "checkpoints"


class RunError(Exception):
    """A missing, corrupt, unfinished or clashing run directory; the message is one line for the user."""


# ---------------------------------------------------------------- atomic writes
_UMASK = os.umask(0)
os.umask(_UMASK)


def _atomic(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    def w(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    _atomic(path, w)


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=1) + "\n")


def write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    clean = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    try:
        _atomic(path, lambda tmp: save_file(clean, tmp))
    except SafetensorError as e:  # e.g. no space left on device: the previous file stays as it was
        raise OSError(f"cannot write {path}: {str(e).splitlines()[0] if str(e) else 'write failed'}") from None


def write_metrics(path: Path, metrics: list[dict]) -> None:
    """One JSON line per entry, in step order (stable), however the entries were gathered: a resumed run
    flushes its logged losses at other moments than an uninterrupted one, and writes the same file."""
    write_text(path, "".join(json.dumps(m) + "\n" for m in sorted(metrics, key=lambda m: m["step"])))


FIGURE_FORMATS = ("png", "pdf", "svg")


def plot_format(plots) -> str | None:
    """The figure format a `plots` argument asks for: False/None none, True png, or a format by name."""
    if plots is None or plots is False:
        return None
    if plots is True:
        return "png"
    if plots not in FIGURE_FORMATS:
        raise ConfigError(f"unknown --format {plots!r}; choose one of {', '.join(FIGURE_FORMATS)}")
    return plots


def save_figure(fig, path: Path) -> None:
    """A figure in the format its suffix names (png, pdf or svg; png when the suffix is none of these),
    then closed (pyplot keeps every open figure alive)."""
    import matplotlib.pyplot as plt

    fmt = Path(path).suffix.lower().lstrip(".")
    try:
        _atomic(path, lambda tmp: fig.savefig(tmp, dpi=130, bbox_inches="tight",
                                              format=fmt if fmt in FIGURE_FORMATS else "png"))
    finally:
        plt.close(fig)


# ---------------------------------------------------------------- reading
MAX_JSON_BYTES = 64 * 2**20  # no record the suite writes comes near this


def read_json(path: Path):
    """A JSON file, read without pickle and without limit-less reads (a file past MAX_JSON_BYTES, or one
    that is not a regular file, is refused)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise RunError(f"{path} is missing" if not path.exists() else f"{path} is not a regular file")
        with open(path, "rb") as f:
            raw = f.read(MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES:
            raise RunError(f"{path} is larger than {MAX_JSON_BYTES >> 20} MiB: not a record of this suite")
        return json.loads(raw)
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path} is corrupt ({e.__class__.__name__})") from None


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise RunError(f"{path} is corrupt ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


def read_metrics(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                m = json.loads(line)
            except json.JSONDecodeError:
                raise RunError(f"{path} is corrupt") from None
            if not (isinstance(m, dict) and isinstance(m.get("step"), int) and not isinstance(m["step"], bool)):
                raise RunError(f"{path} is corrupt (every line needs an integer step)")
            out.append(m)
    return out


def convergence(metrics: list[dict]) -> dict:
    """Has the run settled? Relative change of the training loss between the last two eighths of the
    run (with the restarting cosine each eighth of a 2^13-step run is one full lr cycle), and the change
    of the monosemantic and dead counts over the last doubling of steps (last two checkpoints)."""
    losses = [m["loss"] for m in metrics if "loss" in m]
    ck = [m for m in metrics if "mono" in m and m["mono"] is not None]
    out: dict = {"loss_rel_change_last_eighth": None, "mono_change_last_doubling": None,
                 "dead_change_last_doubling": None}
    n = len(losses) // 8
    if n:
        last, prev = sum(losses[-n:]) / n, sum(losses[-2 * n:-n]) / n
        out["loss_rel_change_last_eighth"] = (last - prev) / prev if prev else None
    if len(ck) >= 2:
        out["mono_change_last_doubling"] = ck[-1]["mono"] - ck[-2]["mono"]
        out["dead_change_last_doubling"] = ck[-1]["dead"] - ck[-2]["dead"]
    return out


def is_converged(conv: dict, mono_count: int) -> bool:
    """The docs' rule for a settled run (docs/science.md section 7): the training loss moved < 1% over
    the last eighth and the monosemantic count by at most max(2% of its final value, 1 neuron) over the
    last doubling. `conv` is convergence()'s dict."""
    loss, mono = conv.get("loss_rel_change_last_eighth"), conv.get("mono_change_last_doubling")
    return loss is not None and mono is not None and abs(loss) < 0.01 and abs(mono) <= max(0.02 * mono_count, 1)


CLAIM = ".result.json"  # {"kind": ...}: which command made a directory (models.rundir writes it)


def made_by(path: Path) -> str | None:
    """The kind of command recorded in a directory's claim, or None when it has none."""
    claim = Path(path) / CLAIM
    if not claim.is_file():
        return None
    rec = read_json(claim)
    if isinstance(rec, dict) and isinstance(rec.get("kind"), str):
        return rec["kind"]
    raise RunError(f"{claim} is corrupt")


def resolve(run: str | Path, runs_dir: str | Path = "runs") -> Path:
    """A run named by path, or by name under runs_dir."""
    p = Path(run)
    if p.is_dir():
        return p
    q = Path(runs_dir) / str(run)
    if q.is_dir():
        return q
    raise RunError(f"no run directory {run!r} (looked at {p} and {q})")


def is_finished(path: Path) -> bool:
    return (Path(path) / SUMMARY).exists()


def read_config(path: Path) -> TrainConfig:
    """A run's TrainConfig, read strictly: a missing or unknown field is an error naming the file."""
    p = Path(path) / CONFIG
    d = read_json(p)
    if not isinstance(d, dict) or not isinstance(d.get("config"), dict):
        raise RunError(f"{p} is corrupt: want an object with a 'config' object")
    try:
        return TrainConfig.from_dict(d["config"], strict=True)
    except (ConfigError, TypeError) as e:
        raise RunError(f"{p} is corrupt: {e}") from None


SUMMARY_KEYS = ("final_loss", "mono_count", "mono_per_N", "dead_count", "mean_bias", "steps")


def read_summary(path: Path) -> dict:
    """A finished run's summary.json, checked for the fields every report reads."""
    p = Path(path) / SUMMARY
    s = read_json(p)
    missing = [k for k in SUMMARY_KEYS if not isinstance(s, dict) or k not in s]
    if missing:
        raise RunError(f"{p} is corrupt: missing {', '.join(missing)}" if isinstance(s, dict)
                       else f"{p} is corrupt: want an object")
    if not isinstance(s["final_loss"], (int, float)) or s["final_loss"] != s["final_loss"]:
        raise RunError(f"{p} is corrupt: final_loss is not a number")
    return s


@dataclass
class Run:
    """A finished run, loaded: what a notebook gets from models.load_run(path)."""

    path: Path
    config: TrainConfig
    params: dict[str, torch.Tensor]  # W1, b1, W2
    init: dict[str, torch.Tensor]
    task_tensors: dict[str, torch.Tensor]  # P, and Q for the reprojector
    summary: dict
    extra: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. mask.W1, mask.W2 of pruned runs

    @property
    def name(self) -> str:
        return self.path.name

    def metrics(self) -> list[dict]:
        return read_metrics(self.path / METRICS)

    def checkpoint_steps(self) -> list[int]:
        return sorted(int(p.stem.split("_")[1]) for p in (self.path / CHECKPOINTS).glob("step_*.safetensors"))

    def checkpoint(self, step: int) -> dict[str, torch.Tensor]:
        return read_tensors(self.path / CHECKPOINTS / f"step_{step:07d}.safetensors")


def check_task(path: Path, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """A run's stored task tensors, which must be the ones its config's task seed draws."""
    from .tasks import make_task_tensors

    have, want = read_tensors(Path(path) / TASK), make_task_tensors(cfg)
    if set(have) != set(want) or any(not torch.equal(have[n], want[n]) for n in want):
        raise RunError(f"{Path(path) / TASK} does not match the task its config.json describes "
                       f"(task_seed {cfg.task_seed})")
    return have


def load_run(run: str | Path, runs_dir: str | Path = "runs", require_finished: bool = True) -> Run:
    """Load a run's config, task, init and final weights; refuses unfinished or corrupt runs."""
    from .model import check_shapes

    path = resolve(run, runs_dir)
    if require_finished and not is_finished(path):
        raise RunError(f"run {path} is unfinished (no {SUMMARY}); finish it with `models train ... --resume`")
    cfg = read_config(path)
    summary = read_summary(path) if is_finished(path) else {}
    task = check_task(path, cfg)
    model = read_tensors(path / MODEL)
    init = read_tensors(path / INIT)
    for name, tensors in (("model", model), ("init", init)):
        try:
            check_shapes(tensors, cfg.d_embed, cfg.k, cfg.out_dim)
        except ValueError as e:
            raise RunError(f"{path} {name}.safetensors: {e}") from None
    params = {n: model[n] for n in ("W1", "b1", "W2")}
    extra = {n: t for n, t in model.items() if n not in params}
    return Run(path=path, config=cfg, params=params, init=init, task_tensors=task, summary=summary, extra=extra)


def list_runs(runs_dir: str | Path) -> list[Path]:
    """Every directory below runs_dir holding a config.json (sweeps nest runs one level down)."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.rglob(CONFIG))


SUMMARY_COLUMNS = ("final_loss", "mono_count", "mono_per_N", "mono_per_k", "dead_count", "mean_bias",
                   "train_loss_last", "wall_s", "steps_per_s")


def run_rows(root: str | Path) -> list[dict]:
    """One flat record per run dir under root (sweep cells, IMP levels, grow sets, hop and CBFT results
    included): where it is, what made it, its config fields, its summary's numbers and its state."""
    root = Path(root)
    rows = []
    for p in list_runs(root):
        row = {"run": str(p.relative_to(root)) if p != root else p.name, "kind": None, "state": "unfinished"}
        try:
            row["kind"] = made_by(p) or "run"
            row.update(read_config(p).to_dict())
            if is_finished(p):
                s = read_summary(p)
                row.update({k: s.get(k) for k in SUMMARY_COLUMNS}, state="finished")
        except RunError:
            row["state"] = "corrupt"
        rows.append(row)
    return rows


def runs_table(root: str | Path = "runs"):
    """run_rows as a pandas DataFrame, one row per run dir (pip install -e '.[frames]')."""
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("runs_table needs pandas: pip install -e '.[frames]'") from None
    return pd.DataFrame(run_rows(root))
