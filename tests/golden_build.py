"""Golden run dirs: a fixed tiny train run, a 2-level IMP of it and a basins interpolation, reduced to digests.

`python tests/golden_build.py` rewrites tests/golden/digests.json; tests/test_golden.py rebuilds the same dirs
and compares. Weights and metrics must match bit for bit on the machine fingerprint the digests were made on
(same CPU, torch and thread count); elsewhere each tensor's sum and norm must match within 1e-4 relative.
JSON records are compared with wall times, versions and paths taken out. Change them only on purpose.
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

GOLDEN = Path(__file__).with_name("golden") / "digests.json"
TRAIN = ["--n-features", "32", "--d-embed", "8", "--k", "32", "--eps", "0.0625", "--batch", "64",
         "--steps", "64", "--lr", "0.03", "--bias-init", "-0.5", "--bias-decay", "0.5", "--device", "cpu",
         "--quiet"]
VOLATILE = {"wall_s", "steps_per_s", "versions", "threads", "device"}


def fingerprint() -> dict:
    import torch

    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {"cpu": cpu, "torch": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads()}


def _clean(obj, root: str):
    if isinstance(obj, dict):
        return {k: _clean(v, root) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_clean(v, root) for v in obj]
    if isinstance(obj, str):
        return obj.replace(root, "<root>")
    return obj


def digest_dir(d: Path, root: Path) -> dict:
    """One entry per file: tensors (sha of the raw bytes + sum/norm per tensor), metrics lines, JSON records."""
    from safetensors.torch import load_file

    out = {}
    for p in sorted(d.rglob("*")):
        rel = str(p.relative_to(root))
        if any(part.startswith(".") for part in p.relative_to(root).parts):
            continue  # bookkeeping (locks, claims, temporary files), not results
        if p.suffix == ".safetensors":
            ts = load_file(str(p))
            out[rel] = {n: {"sha": hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest(),
                            "dtype": str(t.dtype), "shape": list(t.shape),
                            "sum": float(t.double().sum()), "norm": float(t.double().norm())}
                        for n, t in sorted(ts.items()) if n not in VOLATILE}  # a state's wall_s
        elif p.suffix == ".jsonl":
            out[rel] = [_clean(json.loads(line), str(root)) for line in p.read_text().splitlines() if line.strip()]
        elif p.suffix == ".json":
            out[rel] = _clean(json.loads(p.read_text()), str(root))
    return out


def build(root: Path) -> dict:
    """Make the golden dirs under root through the command lines (in process) and digest them."""
    import torch
    from typer.testing import CliRunner

    from basins.cli import app as basins_app
    from models.cli import app as models_app
    from pruning.cli import app as prune_app

    torch.set_num_threads(1)
    runner = CliRunner()
    for argv, app in ((["train", "--name", "a", "--runs-dir", str(root), *TRAIN], models_app),
                      (["train", "--name", "b", "--runs-dir", str(root), *TRAIN, "--seed", "1"], models_app),
                      (["imp", str(root / "a"), "--rounds", "2", "--rate", "0.5", "--out", str(root / "imp"),
                        "--quiet"], prune_app),
                      (["interpolate", str(root / "a"), str(root / "b"), "--points", "5",
                        "--out", str(root / "interp")], basins_app)):
        r = runner.invoke(app, argv)
        if r.exit_code != 0:
            raise RuntimeError(f"{argv[0]} failed: {r.stderr or r.exception}")
    return {name: digest_dir(root / name, root) for name in ("a", "imp", "interp")}


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory() as tmp:
        dirs = build(Path(tmp))
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({"fingerprint": fingerprint(), "dirs": dirs}, indent=0, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
