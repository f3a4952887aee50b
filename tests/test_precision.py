"""--precision bf16: the step's matmuls on bf16 units, everything else (weights, optimizer, evaluation,
metric) in fp32. Tolerance of a bf16 step against fp32: 3e-2 in norm, relative to the larger of the
gradient and its terms' magnitudes (each bf16 rounding costs up to 2^-9; W1's gradient passes through the
roundings of the residual's gradient, of g_h and of x)."""
import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import tiny
from models import runs
from models.model import matmul_precision, relu_loss_and_grads
from models.train import train_run

TOL = 3e-2


@settings(max_examples=20, deadline=None)
@given(B=st.integers(16, 300), d=st.integers(8, 48), n_per_d=st.integers(1, 4), k_per_n=st.integers(1, 3),
       bias=st.sampled_from([0.0, -0.5]), seed=st.integers(0, 1000))
def test_a_bf16_step_matches_fp32_within_tolerance(B, d, n_per_d, k_per_n, bias, seed):
    """On the tasks' own batches and inits (the residual is then small where the targets are zero)."""
    from models.model import init_params
    from models.tasks import Task

    cfg = tiny(n_features=d * n_per_d, d_embed=d, k=d * n_per_d * k_per_n, eps=min(1.0, 2 / (d * n_per_d)),
               bias_init=bias, seed=seed)
    params = init_params(cfg, torch.Generator().manual_seed(seed))
    x, y = Task(cfg).sample(B, torch.Generator().manual_seed(seed + 1))
    loss32, g32 = relu_loss_and_grads(params, x, y)
    loss16, g16 = relu_loss_and_grads(params, x, y, precision="bf16")
    assert abs(float(loss16) - float(loss32)) <= TOL * float(loss32) + 1e-6
    scale = _magnitudes(params, x, y)
    for n in g32:
        assert g16[n].dtype == torch.float32
        assert float((g16[n] - g32[n]).norm()) <= TOL * max(float(g32[n].norm()), scale[n]) + 1e-6, n


def _magnitudes(params, x, y) -> dict[str, float]:
    """Each gradient's norm with every sum taken over absolute values: what the bf16 roundings of its terms
    are relative to. Where a gradient is a small difference of large terms (few live neurons, cancelling
    residuals), a rounding of 2^-9 per term is large against the gradient itself but not against this."""
    h = torch.relu(x @ params["W1"].t() + params["b1"])
    g_out = (2 * (h @ params["W2"].t() - y) / x.shape[0]).abs()
    live = (h > 0).float()
    a = live * (g_out @ params["W2"].abs())
    return {"W1": float((a.t() @ x.abs()).norm()), "b1": float(a.sum(0).norm()), "W2": float((g_out.t() @ h).norm())}


def test_bf16_really_rounds_the_matmul_operands():
    g = torch.Generator().manual_seed(0)
    params = {"W1": torch.randn(256, 64, generator=g) / 8, "b1": torch.zeros(256), "W2": torch.randn(128, 256, generator=g) / 16}
    x, y = torch.randn(512, 64, generator=g), torch.rand(512, 128, generator=g)
    _, g32 = relu_loss_and_grads(params, x, y)
    _, g16 = relu_loss_and_grads(params, x, y, precision="bf16")
    err = float((g16["W1"] - g32["W1"]).norm() / g32["W1"].norm())
    assert 1e-5 < err < TOL  # rounded (not silently fp32), and close


def test_autograd_paths_run_under_bf16_autocast():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(64, 32, generator=g, requires_grad=True)
    with matmul_precision("bf16"):
        out = a @ torch.randn(32, 16, generator=g)
    assert out.dtype == torch.bfloat16
    with matmul_precision("fp32"):
        assert (a @ torch.randn(32, 16)).dtype == torch.float32


def test_a_bf16_run_saves_fp32_weights_its_metric_and_resumes_bit_for_bit(tmp_path):
    from models.metric import measure
    from models.tasks import Task

    cfg = tiny(steps=64, batch=64, k=256, precision="bf16")
    s = train_run(cfg, tmp_path / "whole", plots=False)
    run = runs.load_run(tmp_path / "whole")
    assert all(t.dtype == torch.float32 for t in run.params.values())
    assert json.loads((tmp_path / "whole" / "config.json").read_text())["config"]["precision"] == "bf16"
    m = measure(run.params, Task(cfg).single_feature_inputs(), cfg.nonlinearity)
    assert s["mono_count"] == m.mono_count and s["dead_count"] == m.dead_count
    train_run(cfg, tmp_path / "cut", stop_after=24, plots=False)
    train_run(cfg, tmp_path / "cut", resume=True, plots=False)
    cut = runs.load_run(tmp_path / "cut")
    assert all(torch.equal(run.params[n], cut.params[n]) for n in run.params)
    with pytest.raises(runs.RunError, match="differs in: precision"):
        train_run(cfg.replace(precision="fp32"), tmp_path / "half", stop_after=8, plots=False) or \
            train_run(cfg, tmp_path / "half", resume=True, plots=False)


def test_unknown_precision_is_refused_and_old_configs_read_as_fp32(tmp_path):
    from models.cli import app

    r = CliRunner().invoke(app, ["train", "--name", "x", "--runs-dir", str(tmp_path), "--preset", "tiny",
                                 "--precision", "fp8"])
    assert r.exit_code == 2 and "unknown --precision 'fp8'" in r.stderr and not (tmp_path / "x").exists()
    train_run(tiny(steps=8, batch=32), tmp_path / "old", plots=False)
    rec = json.loads((tmp_path / "old" / "config.json").read_text())
    del rec["config"]["precision"]
    (tmp_path / "old" / "config.json").write_text(json.dumps(rec))
    assert runs.read_config(tmp_path / "old").precision == "fp32"


def test_batched_bf16_instances_match_their_fp32_runs_closely(tmp_path):
    from models.batched import train_batched

    cfgs = [tiny(steps=32, batch=64, seed=s, precision="bf16") for s in (0, 1)]
    b16 = train_batched(cfgs, [tmp_path / "a", tmp_path / "b"], plots=False)
    b32 = train_batched([c.replace(precision="fp32") for c in cfgs], [tmp_path / "c", tmp_path / "d"], plots=False)
    for s16, s32 in zip(b16, b32):
        assert s16["final_loss"] == pytest.approx(s32["final_loss"], rel=TOL)
    assert all(t.dtype == torch.float32 for t in runs.load_run(tmp_path / "a").params.values())
