"""Per-neuron and per-feature tracking across the levels of an IMP (or control) directory.

Each level's neuron is mono (r_j > 0.999), poly or dead, with its preferred feature and kept in/out
weights; between consecutive levels each neuron makes one NEURON_TRANSITION and each feature (the set of
monosemantic neurons serving it) one FEATURE_TRANSITION, since retraining can move a feature elsewhere.
"""
from __future__ import annotations

from pathlib import Path

from models import runs
from models.metric import measure
from models.tasks import Task

from .imp import load_levels, run_masks

NEURON_TRANSITIONS = ("stays mono, same feature", "switches feature", "mono -> poly", "poly -> mono",
                      "stays poly", "dies", "stays dead", "revives")
FEATURE_TRANSITIONS = ("kept by a same neuron", "moved to other neurons", "lost", "gained", "unserved")
NEURONS_JSON = "neurons.json"


def neuron_state(run: runs.Run) -> dict:
    """r, preferred feature, state and kept in/out weights of every neuron of one run."""
    cfg = run.config
    mono = measure(run.params, Task(cfg, "cpu", run.task_tensors).single_feature_inputs(), cfg.nonlinearity)
    if mono is None:
        raise runs.RunError(f"{run.path}: monosemanticity is not defined for {cfg.nonlinearity}")
    m = run_masks(run)
    state = ["dead" if d else "mono" if s else "poly" for s, d in zip(mono.mono.tolist(), mono.dead.tolist())]
    return {"r": [round(v, 6) for v in mono.r.tolist()], "preferred": mono.preferred.tolist(), "state": state,
            "in_weights": m["W1"].sum(1).tolist(), "out_weights": m["W2"].sum(0).tolist()}


def neuron_transition(a_state: str, a_pref: int, b_state: str, b_pref: int) -> str:
    if a_state == "dead":
        return "stays dead" if b_state == "dead" else "revives"
    if b_state == "dead":
        return "dies"
    if a_state == "mono":
        if b_state == "mono":
            return "stays mono, same feature" if a_pref == b_pref else "switches feature"
        return "mono -> poly"
    return "poly -> mono" if b_state == "mono" else "stays poly"


def serving(level: dict, n_features: int) -> list[list[int]]:
    """Per feature, the monosemantic neurons that serve it."""
    out: list[list[int]] = [[] for _ in range(n_features)]
    for j, (s, f) in enumerate(zip(level["state"], level["preferred"])):
        if s == "mono":
            out[f].append(j)
    return out


def feature_transition(a: list[int], b: list[int]) -> str:
    if a and b:
        return "kept by a same neuron" if set(a) & set(b) else "moved to other neurons"
    if a:
        return "lost"
    return "gained" if b else "unserved"


def track(out: str | Path) -> dict:
    """Everything neurons.json holds, from an IMP directory's finished levels."""
    out = Path(out)
    data = load_levels(out)
    rows = data["levels"]
    if not rows:
        raise runs.RunError(f"{out}: no finished level to track")
    per_level, n_features, k = [], None, None
    for row in rows:
        run = runs.load_run(out / row["run"])
        n_features, k = run.config.n_features, run.config.k
        per_level.append(neuron_state(run))
    serve = [serving(lv, n_features) for lv in per_level]
    transitions, feature_transitions = [], []
    for i in range(len(per_level) - 1):
        a, b = per_level[i], per_level[i + 1]
        per_neuron = [neuron_transition(a["state"][j], a["preferred"][j], b["state"][j], b["preferred"][j])
                      for j in range(k)]
        transitions.append({"from": rows[i]["level"], "to": rows[i + 1]["level"],
                            "counts": {t: per_neuron.count(t) for t in NEURON_TRANSITIONS}, "per_neuron": per_neuron})
        per_feature = [feature_transition(serve[i][f], serve[i + 1][f]) for f in range(n_features)]
        feature_transitions.append({"from": rows[i]["level"], "to": rows[i + 1]["level"],
                                    "counts": {t: per_feature.count(t) for t in FEATURE_TRANSITIONS},
                                    "per_feature": per_feature})
    first = per_level[0]
    mono0 = [j for j in range(k) if first["state"][j] == "mono"]
    served0 = [f for f in range(n_features) if serve[0][f]]
    survival = []
    for row, lv, sv in zip(rows, per_level, serve):
        same = sum(1 for j in mono0 if lv["state"][j] == "mono" and lv["preferred"][j] == first["preferred"][j])
        survival.append({"level": row["level"], "remaining_fraction": row["remaining_fraction"],
                         "level0_mono_still_same_feature": same,
                         "level0_served_features_still_served": sum(1 for f in served0 if sv[f]),
                         "mono": lv["state"].count("mono"), "poly": lv["state"].count("poly"),
                         "dead": lv["state"].count("dead"), "features_served": sum(1 for s in sv if s),
                         "neurons_without_inputs": sum(1 for w in lv["in_weights"] if w == 0),
                         "neurons_without_outputs": sum(1 for w in lv["out_weights"] if w == 0)})
    return {"dir": str(out), "method": data["method"], "n_features": n_features, "k": k,
            "levels": [r["level"] for r in rows], "remaining_fraction": [r["remaining_fraction"] for r in rows],
            "level0_mono": len(mono0), "level0_served_features": len(served0), "survival": survival,
            "transitions": transitions, "feature_transitions": feature_transitions,
            "neurons": {key: [lv[key] for lv in per_level]
                        for key in ("state", "preferred", "r", "in_weights", "out_weights")},
            "features": {"serving": serve}}
