"""Bias-decay modes: per-neuron decay touches only dead neurons, adaptive decay follows how far the weights
move, both resume bit for bit, in both trainers, and bad modes are refused in one line."""
import pytest
import torch

from conftest import tiny


def _one_step(cfg, b1_offset):
    """One train_step from a fixed state whose neurons 0..9 no sample can activate; returns b1 before and
    after, and which neurons the batch left dead (a zero task gradient on b1)."""
    from models import seeds
    from models.optim import make_optimizer
    from models.train import start_run, train_step

    _, task, init = start_run(cfg, torch.device("cpu"))
    init["b1"][:10] = b1_offset
    params = {n: t.clone().requires_grad_(True) for n, t in init.items()}
    opt = make_optimizer(cfg.optimizer, params)
    train_step(cfg, params, opt, task, seeds.generator(cfg.seed, seeds.DATA), 0, {})
    return init["b1"], params["b1"].detach(), params["b1"].grad == 0


def test_per_neuron_decay_touches_only_dead_neurons():
    cfg = tiny(lr=0.01, bias_decay=5.0, bias_decay_mode="per-neuron")
    before, decayed, dead = _one_step(cfg, -50.0)
    _, plain, _ = _one_step(cfg.replace(bias_decay=0.0), -50.0)
    factor = 1 - 5.0 * 0.01
    assert dead[:10].all() and (~dead).sum() > 50
    assert torch.allclose(decayed[dead], before[dead] * factor)  # dead: decayed (and no task update)
    assert torch.equal(decayed[~dead], plain[~dead])  # live: exactly the task's update, no decay
    assert not torch.equal(plain[~dead], before[~dead])
    # the fixed mode decays every neuron
    _, fixed, _ = _one_step(cfg.replace(bias_decay_mode="fixed"), -50.0)
    assert torch.allclose(fixed, plain * factor)


def _adaptive(window_moves, decay=0.5, lr=0.01):
    """An adaptive BiasDecay driven by hand: W1 and W2 move by the given relative amounts per window."""
    from models.bias_decay import BiasDecay, adaptive_window

    cfg = tiny(lr=lr, bias_decay=decay, bias_decay_mode="adaptive", schedule_period=4, steps=4096)
    w = adaptive_window(cfg)
    params = {"W1": torch.ones(8, 4), "b1": -torch.ones(8), "W2": torch.ones(6, 8)}
    bd = BiasDecay(cfg, 1 - decay * lr, params)
    scales = []
    for move in window_moves:
        for s in range(w):
            if s == w - 1:  # the weights reach the window's displacement at its last step
                params["W1"] = params["W1"] * (1 + move)
                params["W2"] = params["W2"] * (1 + move)
            bd.apply(len(scales) * w + s, params)
        scales.append(float(bd.state["scale"]))
    return scales, params["b1"], w


def test_adaptive_decay_is_monotone_in_the_measured_movement():
    scales, _, _ = _adaptive([0.1, 0.2, 0.1, 0.05, 0.025, 0.0])
    assert scales[0] == 1.0 and scales[1] == 1.0  # the first window is the reference; more is clamped to 1
    assert scales[2] == pytest.approx(1.0, rel=1e-3)
    assert scales[3] < scales[2] and scales[4] < scales[3] and scales[5] == 0.0
    moves = [0.1, 0.09, 0.07, 0.03, 0.0]
    s = _adaptive(moves)[0]
    assert all(a >= b for a, b in zip(s, s[1:]))  # smaller movement, smaller decay


def test_adaptive_decay_is_a_constant_decay_when_the_movement_is_constant():
    """Equal relative movement every window: s stays 1, b1 shrinks by (1 - decay * lr) every step, all run."""
    moves = [0.1] * 5
    scales, b1, w = _adaptive(moves)
    assert scales == pytest.approx([1.0] * 5, rel=1e-5)
    assert torch.allclose(b1, -torch.ones(8) * (1 - 0.5 * 0.01) ** (w * len(moves)), rtol=1e-4)


@pytest.mark.parametrize("mode", ["per-neuron", "adaptive"])
def test_resume_equals_uninterrupted(tmp_path, mode):
    from models import runs
    from models.train import train_run

    cfg = tiny(steps=200, lr=0.01, bias_init=-1.0, bias_decay=0.5, bias_decay_mode=mode, schedule_period=16)
    train_run(cfg, tmp_path / "whole", plots=False)
    assert train_run(cfg, tmp_path / "cut", stop_after=70, plots=False) == {}
    train_run(cfg, tmp_path / "cut", resume=True, plots=False)
    a, b = runs.load_run(tmp_path / "whole"), runs.load_run(tmp_path / "cut")
    assert all(torch.equal(a.params[n], b.params[n]) for n in a.params)
    assert a.metrics() == b.metrics()
    assert runs.read_config(tmp_path / "cut").bias_decay_mode == mode


@pytest.mark.parametrize("mode", ["per-neuron", "adaptive"])
def test_batched_trainer_follows_each_mode(tmp_path, mode):
    from models import runs
    from models.batched import train_batched
    from models.train import train_run

    base = tiny(steps=128, bias_init=-1.0, bias_decay_mode=mode, schedule_period=16)
    cfgs = [base.replace(lr=0.01, bias_decay=0.5, seed=0), base.replace(lr=0.003, bias_decay=0.1, seed=1)]
    whole = [tmp_path / f"w{i}" for i in range(2)]
    train_batched(cfgs, whole, plots=False)
    for i, c in enumerate(cfgs):  # each instance trains as its own run does (up to bmm rounding)
        train_run(c, tmp_path / f"u{i}", plots=False)
        a, b = runs.load_run(whole[i]), runs.load_run(tmp_path / f"u{i}")
        assert torch.allclose(a.params["b1"], b.params["b1"], atol=1e-4), i
    cut = [tmp_path / f"c{i}" for i in range(2)]
    assert train_batched(cfgs, cut, stop_after=50, plots=False) == []
    train_batched(cfgs, cut, resume=True, plots=False)
    for a, b in zip(whole, cut):
        assert all(torch.equal(runs.load_run(a).params[n], runs.load_run(b).params[n]) for n in ("W1", "b1", "W2"))


def test_modes_are_checked():
    from models.config import ConfigError

    with pytest.raises(ConfigError, match="unknown --bias-decay-mode 'often'"):
        tiny(bias_decay_mode="often")
    with pytest.raises(ConfigError, match="per-neuron needs relu"):
        tiny(bias_decay_mode="per-neuron", nonlinearity="gelu")


def test_mode_is_a_sweep_axis():
    from models.sweep import expand

    cells = expand(tiny(), ["bias_decay_mode=fixed,per-neuron,adaptive"], [], [0])
    assert [c.config.bias_decay_mode for c in cells] == ["fixed", "per-neuron", "adaptive"]
    assert cells[1].name == "bias_decay_mode=per-neuron__seed=0"
