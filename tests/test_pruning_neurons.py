"""pruning.neurons: transitions are exhaustive and consistent with the levels' own counts."""
import json

import pytest

from conftest import tiny
from models import runs
from pruning.imp import ImpSettings, plan_imp, run_imp
from pruning.neurons import (FEATURE_TRANSITIONS, NEURON_TRANSITIONS, feature_transition, neuron_transition,
                             track)


def test_neuron_transitions_cover_every_case():
    assert neuron_transition("mono", 3, "mono", 3) == "stays mono, same feature"
    assert neuron_transition("mono", 3, "mono", 4) == "switches feature"
    assert neuron_transition("mono", 3, "poly", 3) == "mono -> poly"
    assert neuron_transition("poly", 1, "mono", 2) == "poly -> mono"
    assert neuron_transition("poly", 1, "poly", 2) == "stays poly"
    assert neuron_transition("mono", 3, "dead", -1) == neuron_transition("poly", 1, "dead", -1) == "dies"
    assert neuron_transition("dead", -1, "dead", -1) == "stays dead"
    assert neuron_transition("dead", -1, "mono", 0) == "revives"
    states = [("mono", 0), ("mono", 1), ("poly", 0), ("dead", -1)]
    seen = {neuron_transition(*a, *b) for a in states for b in states}
    assert seen == set(NEURON_TRANSITIONS)


def test_feature_transitions():
    assert feature_transition([1, 5], [5]) == "kept by a same neuron"
    assert feature_transition([1], [7, 8]) == "moved to other neurons"
    assert feature_transition([1], []) == "lost"
    assert feature_transition([], [2]) == "gained"
    assert feature_transition([], []) == "unserved"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    out = tmp_path_factory.mktemp("n") / "imp"
    run_imp(plan_imp(ImpSettings(rounds=2, rate=0.5), out, config=tiny(steps=128, batch=128, lr=0.03), plots=False))
    from typer.testing import CliRunner

    from pruning.cli import app

    r = CliRunner().invoke(app, ["neurons", str(out)])
    assert r.exit_code == 0, r.stderr
    return out, track(out)


def test_tracking_agrees_with_the_levels(tracked):
    out, data = tracked
    assert json.loads((out / "neurons.json").read_text()) == json.loads(json.dumps(data))
    assert (out / "neurons.png").stat().st_size > 20_000
    levels = json.loads((out / "levels.json").read_text())["levels"]
    k, n = data["k"], data["n_features"]
    for lv, row, states in zip(data["survival"], levels, data["neurons"]["state"]):
        assert lv["mono"] == row["mono_count"] == states.count("mono")
        assert lv["dead"] == row["dead_count"] and lv["mono"] + lv["poly"] + lv["dead"] == k
        assert lv["features_served"] == n - row["feature_histogram"]["0"]
    assert data["level0_mono"] == levels[0]["mono_count"] > 0  # the lr 0.03 start is partly monosemantic
    for i, (t, ft) in enumerate(zip(data["transitions"], data["feature_transitions"])):
        assert sum(t["counts"].values()) == k and sum(ft["counts"].values()) == n
        a, b = data["neurons"]["state"][i], data["neurons"]["state"][i + 1]
        assert t["counts"]["dies"] == sum(1 for x, y in zip(a, b) if x != "dead" and y == "dead")
        stay = t["counts"]["stays mono, same feature"] + t["counts"]["switches feature"]
        assert stay == sum(1 for x, y in zip(a, b) if x == y == "mono")
        served_after = sum(ft["counts"][c] for c in ("kept by a same neuron", "moved to other neurons", "gained"))
        assert served_after == data["survival"][i + 1]["features_served"]
    assert set(data["transitions"][0]["counts"]) == set(NEURON_TRANSITIONS)
    assert set(data["feature_transitions"][0]["counts"]) == set(FEATURE_TRANSITIONS)


def test_neurons_needs_levels(tmp_path):
    with pytest.raises(runs.RunError, match="levels.json"):
        track(tmp_path)
