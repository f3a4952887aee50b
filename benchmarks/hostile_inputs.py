"""Hostile inputs against the real CLIs: does every bad input get a clean one-line refusal?

Measures how `models`, `basins` and `prune` (the console scripts beside this interpreter) answer a matrix
of bad inputs: data-loss --out/--force targets, non-finite and oversized numbers, valid JSON of the wrong
shape in run files, bad tensors, odd paths, typer's own rejections, silently ignored values, a summary.json
that is /dev/zero and two writers at once. Each case runs as a subprocess in a fresh temporary directory
(tiny fixture runs copied in, 60 s limit, a 3 GiB address-space cap) and is classified as clean,
traceback, usage_box, wrote_before_refusing, accepted, timeout or crash; 13 accept controls must pass.
Run:  /work/main/.venv/bin/python benchmarks/hostile_inputs.py --json benchmarks/results_hostile.json
      [--jobs 2] [--only SUBSTRING] [--list] [--keep]   (about 15 minutes at --jobs 2 on 2 cores)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent          # the venv's bin: models, basins, prune
TIMEOUT = 60.0                             # per process; a case past it is a failure
MEM_LIMIT = 3 * 2**30                      # RLIMIT_AS of every command: a memory bomb fails instead of swapping
BIG, DIGITS400, NAME300 = "1000000000000", "9" * 400, "x" * 300
OUTCOMES = ("clean", "traceback", "usage_box", "wrote_before_refusing", "accepted", "timeout", "crash",
            "setup_error", "no_fixture", "control_pass", "control_fail")
FAILURES = ("traceback", "usage_box", "wrote_before_refusing", "accepted", "timeout", "crash")


# ------------------------------------------------------------------------------------------ the cases
@dataclass(frozen=True)
class Case:
    id: str
    klass: str                 # the input class (1-data-loss ... 10-two-writers, or control)
    argv: tuple[str, ...]      # template: {S} the case's copy of the fixture store, {T} the case's temp dir
    setup: str = "none"        # a function of SETUPS, run in {T} after the fixtures are copied
    args: tuple = ()           # its arguments (paths relative to {T})
    expect: str = "refuse"     # refuse | accept (a control) | flag (exit 0 is fine when stdout says `corrupt`)
    check: tuple = ()          # ((name, *args), ...) for run_checks: what an accepted control must have done
    runner: str = "single"     # single | pair (two writers of one --out)
    wait_for: str = ""         # pair: start the second once the first made this path (relative to {T}); "": at once
    needs: tuple | None = None  # fixture names copied into {S}; None: the ones argv and args mention


FIXTURES = ("a", "b", "unf", "gelu", "sw", "impd", "g", "ald", "hopd")
CELL = "sw/lr=0.01__seed=0"    # a finished sweep cell
LEVEL = "impd/level_01"        # a finished IMP level (a masked run)

BASE = {k: tuple(shlex.split(v)) for k, v in {
    "train": "models train --preset tiny --steps 64 --name n --runs-dir {S} --quiet --threads 1",
    "train-resume": "models train --preset tiny --steps 200 --name unf --runs-dir {S} --resume --quiet --threads 1",
    "show": "models show a --runs-dir {S}",
    "features": "models features a --runs-dir {S} --eval-size 256 --out {T}/feat.png",
    "list": "models list --runs-dir {S}",
    "sweep": "models sweep --preset tiny --grid lr=0.01,0.03 --out {T}/sw2 --workers 1 --steps 50",
    "sweep-rerun": "models sweep --preset tiny --grid lr=0.01,0.03 --out {S}/sw --workers 1 --steps 50",
    "table": "models table {S}/sw",
    "figure": "models figure lr {S}/sw --out {T}/fig.png",
    "paper-sweep": "models paper-sweep LR1 --print --out {T}/ps",
    "align": "basins align a b --runs-dir {S} --out {T}/al",
    "interpolate": "basins interpolate a b --runs-dir {S} --points 3 --eval-size 256 --device cpu --out {T}/ip",
    "curve": "basins curve a b --runs-dir {S} --steps 20 --points 5 --eval-size 256 --out {T}/cv",
    "hop": "basins hop a b --runs-dir {S} --lambdas 0 --steps 20 --points 3 --eval-size 256 --out {T}/hop",
    "cbft": "basins cbft a --runs-dir {S} --steps 20 --finetune 0 --points 3 --out {T}/cb",
    "map": "basins map a b --runs-dir {S} --points 3 --eval-size 256 --device cpu --out {T}/map",
    "map-sweep": "basins map --sweep {S}/sw --points 3 --eval-size 256 --device cpu --out {T}/map",
    "imp": "prune imp a --runs-dir {S} --rounds 1 --rate 0.5 --out {T}/imp2 --quiet --threads 1",
    "imp-rerun": "prune imp a --runs-dir {S} --rounds 2 --rate 0.5 --out {S}/impd --quiet --threads 1",
    "imp-train": "prune imp --out {T}/imp3 --rounds 1 --quiet --threads 1 --preset tiny --steps 64",
    "imp-control": "prune imp --control reinit --ticket {S}/impd --out {T}/re --quiet --threads 1",
    "grow": "prune grow --out {T}/g2 --sparsity 0.5 --quiet --threads 1 --preset tiny --steps 64",
    "grow-rerun": "prune grow --out {S}/g --sparsity 0.5 --quiet --preset tiny --steps 64",
    "neurons": "prune neurons {S}/impd",
    "compare": "prune compare {S}/impd {S}/g --out {T}/cmp.png",
    "compare-dense": "prune compare {S}/impd {S}/a --out {T}/cmp.png",
    "compare-grow": "prune compare {S}/g --out {T}/cmp.png",
}.items()}


def setopt(argv, flag, value=None):
    """argv with `flag value` set (replaced where present, else appended); value None: a bare flag."""
    a = list(argv)
    if flag in a:
        if value is not None:
            a[a.index(flag) + 1] = value
        return tuple(a)
    return tuple(a + [flag] + ([] if value is None else [value]))


def dropopt(argv, flag, has_value=True):
    a = list(argv)
    i = a.index(flag)
    del a[i:i + 1 + has_value]
    return tuple(a)


def setpos(argv, i, value=None):
    """Replace (or, value None, drop) the positional at index i."""
    a = list(argv)
    if value is None:
        del a[i]
    else:
        a[i] = value
    return tuple(a)


def build_cases() -> list[Case]:
    """The matrix. Within each class one primary consumer of an input gets every variant and each sibling
    command that takes the same input gets one or two, so every command is covered by every class."""
    cases: list[Case] = []

    def add(id_, klass, argv, **kw):
        cases.append(Case(id=id_, klass=klass, argv=tuple(argv), **kw))

    # ---------------------------------------------------------------- 1: data loss, wrong results
    K = "1-data-loss"
    every = {"store": "{S}", "input-a": "{S}/a", "input-b": "{S}/b", "inside-input": "{S}/a/checkpoints",
             "grow-run": "{S}/g", "imp-dir": "{S}/impd", "sweep-dir": "{S}/sw", "unfinished-run": "{S}/unf",
             "unrelated-dir": "{T}/junk"}
    for c in ("align", "interpolate", "curve", "hop", "cbft", "map"):  # --out X --force
        names = every if c == "align" else ("store", "input-a", "grow-run", "unrelated-dir")
        for name in names:
            add(f"dataloss-{c}-force-{name}", K, setopt(setopt(BASE[c], "--out", every[name]), "--force"))
    for name in ("input-a", "unfinished-run"):  # hop continues an unfinished --out without --force
        add(f"dataloss-hop-noforce-{name}", K, setopt(BASE["hop"], "--out", every[name]))
    for name, (rd, nm) in {"sweep-dir": ("{S}", "sw"), "grow-run": ("{S}", "g"), "imp-level": ("{S}/impd", "level_01"),
                           "unrelated-dir": ("{T}", "junk")}.items():
        add(f"dataloss-train-force-{name}", K,
            setopt(setopt(setopt(BASE["train"], "--runs-dir", rd), "--name", nm), "--force"))
    for c, targets in (("sweep", ("store", "finished-run", "grow-run", "unrelated-dir")),
                       ("imp", ("store", "input-a", "grow-run", "unrelated-dir")),
                       ("imp-control", ("its-ticket", "finished-run", "unrelated-dir")),
                       ("grow", ("finished-run", "unfinished-run", "imp-dir", "unrelated-dir"))):
        for name in targets:  # no --force: still never into another command's result or an input
            path = {"finished-run": "{S}/a", "its-ticket": "{S}/impd"}.get(name) or every[name]
            add(f"dataloss-{c}-out-{name}", K, setopt(BASE[c], "--out", path))
    add("dataloss-grow-set-out-finished-run", K, setopt(setopt(BASE["grow"], "--out", "{S}/a"), "--seeds", "0,1"))
    ps_real = ("models", "paper-sweep", "LR1", "--workers", "1", "--steps", "8", "--batch", "16")
    add("dataloss-paper-sweep-out-finished-run", K, ps_real[:3] + ("--out", "{S}/a") + ps_real[3:])
    for name, path in (("levels-json", "{S}/impd/levels.png"), ("summary-json", "{S}/a/summary.png"),
                       ("sweep-json", "{S}/sw/sweep.png")):  # FILE.json beside it
        add(f"dataloss-compare-out-over-{name}", K, setopt(BASE["compare"], "--out", path))
    add("dataloss-figure-out-over-summary-json", K, setopt(BASE["figure"], "--out", "{S}/a/summary.json"))
    for name, grid in (("lr-rounds-equal", ("--grid", "lr=0.01,0.01000001")),
                       ("lr-spelled-twice", ("--grid", "lr=0.01,1e-2")),
                       ("zip-rounds-equal", ("--zip", "lr=0.01,0.01000001", "--zip", "l1=0,0"))):  # two cells, one dir
        add(f"dataloss-sweep-cells-collide-{name}", K,
            dropopt(dropopt(BASE["sweep"], "--grid"), "--steps") + grid + ("--steps", "50"))
    add("dataloss-sweep-seeds-twice", K, setopt(BASE["sweep"], "--seeds", "0,0"))
    add("dataloss-grow-seeds-twice", K, setopt(BASE["grow"], "--seeds", "0,0"))
    add("dataloss-imp-chain-same-run-twice", K, BASE["imp"][:3] + ("a",) + BASE["imp"][3:])
    add("dataloss-imp-chain-same-name", K, BASE["imp"][:3] + ("{T}/other/a",) + BASE["imp"][3:],
        setup="copy", args=("S/b", "other/a"))
    add("dataloss-map-same-run-twice", K, setpos(BASE["map"], 3, "a"))
    add("dataloss-sweep-rerun-other-steps", K, setopt(BASE["sweep-rerun"], "--steps", "100"))  # not the old results
    add("dataloss-sweep-rerun-other-k", K, BASE["sweep-rerun"] + ("--k", "64"))
    add("dataloss-sweep-rerun-other-preset", K, dropopt(BASE["sweep-rerun"], "--preset"))
    add("dataloss-imp-rerun-other-rate", K, setopt(BASE["imp-rerun"], "--rate", "0.3"))
    add("dataloss-grow-rerun-other-sparsity", K, setopt(BASE["grow-rerun"], "--sparsity", "0.8"))
    add("dataloss-hop-rerun-other-steps", K, setopt(setopt(BASE["hop"], "--out", "{S}/hopd"), "--steps", "40"))
    add("dataloss-train-rerun-other-steps", K, setopt(setopt(BASE["train"], "--name", "a"), "--steps", "100"))
    for name in ("unf", "a"):
        add(f"dataloss-train-resume-and-force-{name}", K, setopt(setopt(BASE["train-resume"], "--name", name), "--force"))

    # ---------------------------------------------------------------- 2: non-finite, out of range
    K = "2-non-finite"
    V = {"inf": "inf", "-inf": "-inf", "nan": "nan", "neg": "-1", "zero": "0", "huge": "1e308", "one": "1"}
    floats = [("train", "--lr", ("inf", "nan", "zero", "huge")), ("train", "--eps", ("nan", "zero")),
              ("train", "--bias-init", ("inf",)), ("train", "--bias-decay", ("inf",)), ("train", "--l1", ("inf", "neg")),
              ("train", "--data-bias-margin", ("inf", "nan", "neg")),
              ("curve", "--lr", ("inf", "nan")), ("hop", "--lambdas", ("inf", "nan")), ("hop", "--lr", ("inf",)),
              ("hop", "--tol", ("nan",)), ("hop", "--mono-margin", ("nan",)), ("cbft", "--margin", ("inf", "nan")),
              ("cbft", "--lr", ("nan",)), ("map", "--tol", ("nan",)), ("imp", "--rate", ("inf", "nan", "zero", "one")),
              ("imp", "--rate-out", ("nan",)), ("grow", "--sparsity", ("inf", "nan", "one")),
              ("grow", "--drop-fraction", ("nan",)), ("grow", "--end-fraction", ("nan",)),
              ("sweep", "--gpus-per-run", ("nan",)), ("paper-sweep", "--gpus-per-run", ("nan",))]
    for c, flag, vals in floats:
        for v in vals:
            add(f"nonfinite-{c}-{flag[2:]}-{v}", K, setopt(BASE[c], flag, V[v]))
    add("nonfinite-hop-lambdas-list-with-nan", K, setopt(BASE["hop"], "--lambdas", "0,nan"))
    for axis, v in (("lr", "nan"), ("eps", "inf"), ("l1", "inf")):
        add(f"nonfinite-sweep-grid-{axis}-{v}", K, setopt(BASE["sweep"], "--grid", f"{axis}=0.01,{v}"
                                                            if axis == "lr" else f"{axis}={v}"))
    for c, flag, v in (("sweep", "--l1", "inf"), ("grow", "--lr", "nan"), ("imp-train", "--l1", "inf"),
                       ("paper-sweep", "--lr", "nan")):
        add(f"nonfinite-{c}-extra{flag[1:]}-{v}", K, BASE[c] + (flag, v))  # train flags passed through

    # ---------------------------------------------------------------- 3: memory bombs, oversized values
    K = "3-oversized"
    bombs = [("train", "--k", BIG), ("train", "--batch", BIG), ("train", "--n-features", "200000000"),
             ("train", "--threads", BIG), ("train", "--steps", DIGITS400), ("train", "--schedule-period", DIGITS400),
             ("sweep", "--workers", BIG),
             ("sweep", "--instances", BIG), ("sweep", "--k", BIG), ("sweep", "--n-features", "200000000"),
             ("paper-sweep", "--workers", BIG), ("interpolate", "--points", BIG), ("interpolate", "--eval-size", BIG),
             ("curve", "--bends", BIG), ("curve", "--eval-size", BIG), ("curve", "--steps", BIG), ("hop", "--steps", BIG),
             ("hop", "--eval-size", BIG), ("cbft", "--steps", BIG), ("cbft", "--finetune", BIG), ("map", "--eval-size", BIG),
             ("map", "--workers", BIG), ("imp", "--rounds", BIG), ("imp-train", "--k", BIG), ("imp-train", "--steps", DIGITS400),
             ("imp-control", "--rounds", BIG), ("grow", "--k", BIG), ("grow", "--steps", DIGITS400),
             ("grow", "--n-features", "200000000")]
    for c, flag, v in bombs:
        tag = {BIG: "1e12", DIGITS400: "400digits", "1000000000": "1e9", "200000000": "2e8"}[v]
        add(f"oversized-{c}-{flag[2:]}-{tag}", K, setopt(BASE[c], flag, v))
    add("oversized-sweep-grid-k-1e12", K, setopt(BASE["sweep"], "--grid", f"k=32,{BIG}"))
    add("oversized-grow-set-workers-1e12", K, setopt(setopt(BASE["grow"], "--seeds", "0,1"), "--workers", BIG))
    edit = ("set", "n_features", "1000000000")  # a config.json edited to N = 10^9
    for c in ("align", "interpolate", "cbft", "map", "imp"):
        add(f"oversized-config-nfeatures-1e9-{c}", K, BASE[c], setup="config", args=("S/a/config.json",) + edit)
    add("oversized-config-nfeatures-1e9-figure", K, BASE["figure"], setup="config", args=(f"S/{CELL}/config.json",) + edit)
    add("oversized-config-nfeatures-1e9-neurons", K, BASE["neurons"], setup="config", args=(f"S/{LEVEL}/config.json",) + edit)

    # ---------------------------------------------------------------- 4: valid JSON, wrong shape
    K = "4-json-shape"
    TEXT = {"list-empty": "[]", "dict-empty": "{}", "null": "null", "string": '"hello"', "config-inner-list": '{"config": []}',
            "summary-fields-wrong-type": '{"final_loss": "low", "mono_per_N": [], "mono_count": "x", '
                                         '"dead_count": {}, "steps": "many"}',
            "sweep-cells-without-name": '{"cells": [{"lr": 0.01, "seed": 0}], "axes": ["lr"]}',
            "sweep-cells-not-list": '{"cells": 3, "axes": ["lr"]}',
            "sweep-name-escapes": '{"cells": [{"name": "../../a", "lr": 0.01, "seed": 0}], "axes": ["lr"]}',
            "levels-inner-null": '{"method": "imp", "levels": null}', "levels-of-empty": '{"method": "imp", "levels": [{}]}',
            "levels-without-run": '{"method": "imp", "levels": [{"level": 0}]}',
            "imp-settings-list": '{"method": "imp", "settings": [], "config": {}}',
            "grow-settings-list": '{"method": "rigl", "settings": []}',
            "metrics-no-step": '{"loss": 1.0}\n', "metrics-step-string": '{"step": "x", "loss": "y"}\n'}
    EDITS = {  # variants made from the real file: (setup, *args after the path)
        "config-missing-k": ("config", "drop", "k", ""), "config-extra-key": ("config", "set", "colour", '"red"'),
        "config-k-string": ("config", "set", "k", '"abc"'), "config-lr-string": ("config", "set", "lr", '"0.01"'),
        "config-k-float": ("config", "set", "k", "1.5"), "grow-history-int": ("json_set", "history", "3")}
    json_matrix = [  # (tag, file, consumers, variants)
        ("summary", "S/a/summary.json", ("show",), ("list-empty", "dict-empty", "string", "summary-fields-wrong-type")),
        ("summary", "S/a/summary.json", ("features",), ("dict-empty", "string")),
        ("config", "S/a/config.json", ("features",), ("config-inner-list", "config-missing-k")),
        ("summary", "S/a/summary.json", ("align",), ("list-empty", "dict-empty")),
        ("summary", "S/a/summary.json", ("imp",), ("dict-empty",)), ("summary", "S/a/summary.json", ("list",), ("list-empty",)),
        ("summary", "S/a/summary.json", ("interpolate", "curve", "hop", "cbft", "map", "compare-dense"), ("dict-empty",)),
        ("summary-cell", f"S/{CELL}/summary.json", ("table",), ("dict-empty", "summary-fields-wrong-type")),
        ("summary-cell", f"S/{CELL}/summary.json", ("figure", "map-sweep"), ("dict-empty",)),
        ("summary-level", f"S/{LEVEL}/summary.json", ("neurons", "compare", "imp-control"), ("dict-empty",)),
        ("summary-grow", "S/g/summary.json", ("compare-grow",), ("dict-empty",)),
        ("config", "S/a/config.json", ("align",), ("list-empty", "null", "config-inner-list", "config-missing-k",
                                                   "config-extra-key", "config-k-string", "config-k-float")),
        ("config", "S/unf/config.json", ("train-resume",), ("config-inner-list", "config-missing-k")),
        ("config", "S/a/config.json", ("show",), ("config-inner-list",)),
        ("config", "S/a/config.json", ("list", "interpolate", "curve", "hop", "cbft", "map", "imp", "compare-dense"),
         ("config-inner-list",)),
        ("config-cell", f"S/{CELL}/config.json", ("table", "figure", "map-sweep"), ("config-inner-list",)),
        ("config-level", f"S/{LEVEL}/config.json", ("neurons", "compare", "imp-control"), ("config-inner-list",)),
        ("config-grow", "S/g/config.json", ("compare-grow",), ("config-inner-list",)),
        ("sweep", "S/sw/sweep.json", ("table",), ("list-empty", "dict-empty", "sweep-cells-without-name",
                                                  "sweep-cells-not-list", "sweep-name-escapes")),
        ("sweep", "S/sw/sweep.json", ("figure",), ("dict-empty", "sweep-name-escapes")),
        ("levels", "S/impd/levels.json", ("neurons",), ("list-empty", "levels-inner-null", "levels-without-run")),
        ("levels", "S/impd/levels.json", ("compare", "imp-control", "imp-rerun"), ("levels-of-empty",)),
        ("imp", "S/impd/imp.json", ("imp-control",), ("list-empty", "null", "imp-settings-list")),
        ("imp", "S/impd/imp.json", ("imp-rerun",), ("imp-settings-list",)),
        ("grow", "S/g/grow.json", ("compare-grow",), ("list-empty", "grow-settings-list")),
        ("grow", "S/g/grow.json", ("grow-rerun",), ("grow-settings-list", "grow-history-int")),
        ("metrics", f"S/{CELL}/metrics.jsonl", ("table",), ("metrics-no-step",)),
        ("metrics", "S/b/metrics.jsonl", ("align",), ("metrics-no-step",)),
        ("metrics", "S/unf/metrics.jsonl", ("train-resume",), ("metrics-step-string",)),
    ]
    prefixes = ("config-", "summary-", "sweep-", "levels-", "imp-", "grow-", "metrics-")
    for tag, rel, consumers, variants in json_matrix:
        for c in consumers:
            for v in variants:
                name = v.split("-", 1)[1] if v.startswith(prefixes) else v
                kw = dict(expect="flag" if c == "list" else "refuse")  # `models list` may mark a corrupt run instead
                if v in EDITS:
                    add(f"json-{tag}-{name}-{c}", K, BASE[c], setup=EDITS[v][0], args=(rel,) + EDITS[v][1:], **kw)
                else:
                    add(f"json-{tag}-{name}-{c}", K, BASE[c], setup="text", args=(rel, TEXT[v]), **kw)
    for c, (out, fname) in {"align": ("al", "alignment.json"), "hop": ("hop", "hop.json"),
                            "map": ("map", "map.json")}.items():  # a result file of the wrong shape in --out
        add(f"json-result-{fname.split('.')[0]}-list-empty-in-out-{c}", K, BASE[c], setup="text",
            args=(f"{out}/{fname}", "[]"))

    # ---------------------------------------------------------------- 5: tensors
    K = "5-tensors"
    model_matrix = [("align", "S/a", ("f64", "bool", "nan", "shape", "extra", "missing", "truncated", "header-huge")),
                    ("interpolate", "S/a", ("nan",)), ("imp", "S/a", ("i32", "nan")),
                    ("curve", "S/a", ("nan",)), ("hop", "S/a", ("nan",)), ("cbft", "S/a", ("nan",)), ("map", "S/a", ("nan",)),
                    ("compare-dense", "S/a", ("nan",)), ("figure", f"S/{CELL}", ("nan",)),
                    ("neurons", f"S/{LEVEL}", ("nan", "shape")), ("imp-control", f"S/{LEVEL}", ("nan",)),
                    ("features", "S/a", ("nan", "shape"))]
    for c, d, variants in model_matrix:
        for v in variants:
            add(f"tensor-model-W1-{v}-{c}", K, BASE[c], setup="tensor", args=(f"{d}/model.safetensors", v, "W1"))
    add("tensor-model-mask-f32-neurons", K, BASE["neurons"], setup="tensor",
        args=(f"S/{LEVEL}/model.safetensors", "f32", "mask.W1"))
    add("tensor-init-W1-nan-align", K, BASE["align"], setup="tensor", args=("S/a/init.safetensors", "nan", "W1"))
    add("tensor-init-W1-shape-imp", K, BASE["imp"], setup="tensor", args=("S/a/init.safetensors", "shape", "W1"))
    for tag, v, name in (("garbage", "garbage", "param.W1"), ("param-W1-shape", "shape", "param.W1"),
                         ("step-huge", "step-huge", "step"), ("step-negative", "step-negative", "step"),
                         ("step-missing", "missing", "step")):
        add(f"tensor-resume-{tag}-train-resume", K, BASE["train-resume"], setup="tensor",
            args=("S/unf/resume.safetensors", v, name))
    for c, d in (("align", "S/a"), ("cbft", "S/a"), ("imp", "S/a"), ("neurons", f"S/{LEVEL}"), ("train-resume", "S/unf")):
        add(f"tensor-task-differs-{c}", K, BASE[c], setup="tensor", args=(f"{d}/task.safetensors", "scale2", "P"))
    for v in ("shape", "missing"):
        add(f"tensor-task-P-{v}-align", K, BASE["align"], setup="tensor", args=("S/a/task.safetensors", v, "P"))
    add("tensor-checkpoint-nan-imp-rewind", K, setopt(BASE["imp"], "--rewind", "8"), setup="tensor",
        args=("S/a/checkpoints/step_0000008.safetensors", "nan", "W1"))

    # ---------------------------------------------------------------- 6: paths
    K = "6-paths"
    for c in ("sweep", "align", "interpolate", "curve", "hop", "cbft", "map", "imp", "grow"):
        odd = {"is-file": "{T}/file", "name-300": "{T}/" + NAME300, "empty": "", "under-file": "{T}/file/sub",
               "newline": "{T}/a\nb"}
        names = ["is-file"] + (["name-300"] if c in ("sweep", "align", "imp") else []) \
            + (["empty"] if c in ("sweep", "align", "grow") else []) + (["under-file", "newline"] if c == "align" else [])
        for name in names:
            add(f"paths-{c}-out-{name}", K, setopt(BASE[c], "--out", odd[name]))
    for name, (flag, val) in {"runs-dir-is-file": ("--runs-dir", "{T}/file"), "runs-dir-empty": ("--runs-dir", ""),
                              "name-300": ("--name", NAME300), "name-newline": ("--name", "a\nb"),
                              "name-empty": ("--name", ""), "name-dotdot": ("--name", "..")}.items():
        add(f"paths-train-{name}", K, setopt(BASE["train"], flag, val))
    for name, path in (("txt", "{T}/x.txt"), ("a-directory", "{T}/adir"), ("name-300", "{T}/" + NAME300 + ".png")):
        add(f"paths-features-out-{name}", K, setopt(BASE["features"], "--out", path))
    add("paths-input-features-no-run", K, setpos(BASE["features"], 2, "{T}/nope"))
    for c in ("figure", "compare"):
        for name, path in (("pdf", "{T}/x.pdf"), ("a-directory", "{T}/adir"), ("name-300", "{T}/" + NAME300 + ".png")):
            add(f"paths-{c}-out-{name}", K, setopt(BASE[c], "--out", path))
    for name, argv in (("table-a-run", setpos(BASE["table"], 2, "{S}/a")),
                       ("figure-sweep-file", setpos(BASE["figure"], 3, "{T}/file")),
                       ("neurons-a-run", setpos(BASE["neurons"], 2, "{S}/a")),
                       ("align-run-file", setpos(BASE["align"], 3, "{T}/file")),
                       ("map-sweep-not-a-sweep", setopt(BASE["map-sweep"], "--sweep", "{T}/junk")),
                       ("imp-control-ticket-a-run", setopt(BASE["imp-control"], "--ticket", "{S}/a")),
                       ("list-runs-dir-missing", setopt(BASE["list"], "--runs-dir", "{T}/nope"))):
        add(f"paths-input-{name}", K, argv)

    # ---------------------------------------------------------------- 7: typer's own rejections
    K = "7-typer"
    typed = {"train": (("--n-features", "--d-embed", "--k", "--batch", "--steps", "--seed", "--task-seed", "--threads",
                        "--schedule-period"), ("--eps", "--lr", "--bias-decay", "--l1", "--data-bias-margin")),
             "sweep": (("--workers", "--max-retries", "--instances"), ("--gpus-per-run",)),
             "paper-sweep": (("--workers", "--max-retries", "--instances"), ("--gpus-per-run",)),
             "interpolate": (("--points", "--eval-size"), ()),
             "curve": (("--bends", "--steps", "--seed", "--points", "--eval-size"), ("--lr",)),
             "hop": (("--steps", "--release", "--points", "--eval-size"), ("--lr", "--tol", "--mono-margin")),
             "cbft": (("--steps", "--finetune", "--seed", "--points"), ("--margin", "--lr")),
             "map": (("--points", "--eval-size", "--workers"), ("--tol",)),
             "imp": (("--rounds", "--threads", "--workers", "--max-retries"), ("--rate", "--rate-out")),
             "grow": (("--update-every", "--threads", "--workers", "--max-retries"),
                      ("--sparsity", "--drop-fraction", "--end-fraction"))}
    for c, (ints, fls) in typed.items():
        for flag in ints + fls:
            add(f"typer-{c}-{flag[2:]}-abc", K, setopt(BASE[c], flag, "abc"))
        for flag in {ints[0], *(f for f in ints if f == "--steps")}:
            add(f"typer-{c}-{flag[2:]}-1.5", K, setopt(BASE[c], flag, "1.5"))
    for c in ("sweep", "imp-train", "grow", "paper-sweep"):  # train flags passed through as extra arguments
        for flag, v in (("--k", "abc"), ("--lr", "abc"), ("--steps", "1.5")):
            add(f"typer-{c}-extra{flag[1:]}-{v}", K, BASE[c] + (flag, v))
    for c in ("train", "show", "list", "sweep", "table", "figure", "paper-sweep", "align", "interpolate", "curve",
              "hop", "cbft", "map", "imp", "grow", "neurons", "compare", "features"):
        add(f"typer-{c}-unknown-option", K, BASE[c] + ("--colour", "3"))
    add("typer-features-eval-size-abc", K, setopt(BASE["features"], "--eval-size", "abc"))
    add("typer-missing-features-no-run", K, BASE["features"][:2])
    missing = {"train-no-name": dropopt(BASE["train"], "--name"), "sweep-no-out": dropopt(BASE["sweep"], "--out"),
               "figure-no-out": dropopt(BASE["figure"], "--out"), "figure-no-sweep": setpos(BASE["figure"], 3),
               "imp-no-out": dropopt(BASE["imp"], "--out"), "grow-no-out": dropopt(BASE["grow"], "--out"),
               "compare-no-out": dropopt(BASE["compare"], "--out"), "compare-no-dirs": ("prune", "compare", "--out", "{T}/c.png"),
               "show-no-run": BASE["show"][:2], "table-no-dir": BASE["table"][:2], "neurons-no-dir": BASE["neurons"][:2],
               "align-one-run": setpos(BASE["align"], 3), "interpolate-one-run": setpos(BASE["interpolate"], 3),
               "curve-one-run": setpos(BASE["curve"], 3), "hop-one-run": setpos(BASE["hop"], 3),
               "cbft-no-run": setpos(BASE["cbft"], 2), "paper-sweep-no-name": setpos(BASE["paper-sweep"], 2),
               "map-no-runs": ("basins", "map", "--runs-dir", "{S}", "--out", "{T}/map")}
    for name, argv in missing.items():
        add(f"typer-missing-{name}", K, argv)

    # ---------------------------------------------------------------- 8: unvalidated, silently ignored
    K = "8-unvalidated"
    for c, v in (("train", "-1"), ("train", "0"), ("imp", "0"), ("grow", "-1"), ("imp-train", "0")):
        add(f"unvalidated-{c}-threads{v}", K, setopt(BASE[c], "--threads", v))
    for c in ("train", "sweep", "imp-train", "grow"):
        add(f"unvalidated-{c}-preset-empty", K, setopt(BASE[c], "--preset", ""))
    E23 = "100000000000000000000000"
    for c, flag, tag, v in (("curve", "--seed", "neg", "-1"), ("curve", "--seed", "1e23", E23), ("cbft", "--seed", "neg", "-1"),
                            ("cbft", "--seed", "1e23", E23), ("train", "--seed", "1e23", E23),
                            ("sweep", "--seeds", "neg", "0,-1"), ("grow", "--seeds", "1e23", f"0,{E23}")):
        add(f"unvalidated-{c}-{flag[2:]}-{tag}", K, setopt(BASE[c], flag, v))
    add("unvalidated-train-precision-empty", K, setopt(BASE["train"], "--precision", ""))
    add("unvalidated-train-precision-fp16", K, setopt(BASE["train"], "--precision", "fp16"))
    add("unvalidated-curve-precision-fp16", K, setopt(BASE["curve"], "--precision", "fp16"))
    add("unvalidated-train-bias-init-data-margin-inf", K, setopt(setopt(BASE["train"], "--bias-init", "data"),
                                                                 "--data-bias-margin", "inf"))
    add("unvalidated-curve-eval-size-0", K, setopt(BASE["curve"], "--eval-size", "0"))
    add("unvalidated-curve-eval-size-neg", K, setopt(BASE["curve"], "--eval-size", "-5"))
    add("unvalidated-map-eval-size-0", K, setopt(BASE["map"], "--eval-size", "0"))
    add("unvalidated-cbft-gelu-run", K, setpos(BASE["cbft"], 2, "gelu"))
    add("unvalidated-features-gelu-run", K, setpos(BASE["features"], 2, "gelu"))
    for tag, v in (("0", "0"), ("neg", "-5"), ("2e6", "2000000")):
        add(f"unvalidated-features-eval-size-{tag}", K, setopt(BASE["features"], "--eval-size", v))
    add("unvalidated-cbft-control-gelu-run", K, setopt(setpos(BASE["cbft"], 2, "gelu"), "--control"))
    for tag, v in (("0", "0"), ("neg4", "-4"), ("3-not-power-of-2", "3"), ("beyond-steps", "4096")):
        add(f"unvalidated-imp-rewind-{tag}", K, setopt(BASE["imp"], "--rewind", v))
    for c in ("sweep", "map"):
        add(f"unvalidated-{c}-workers-0", K, setopt(BASE[c], "--workers", "0"))
    add("unvalidated-grow-set-workers-0", K, setopt(setopt(BASE["grow"], "--seeds", "0,1"), "--workers", "0"))
    add("unvalidated-sweep-gpus-per-run-local-backend", K, setopt(BASE["sweep"], "--gpus-per-run", "0.5"))
    add("unvalidated-sweep-max-retries-neg", K, setopt(BASE["sweep"], "--max-retries", "-1"))
    add("unvalidated-grow-update-every-0", K, setopt(BASE["grow"], "--update-every", "0"))
    add("unvalidated-hop-release-neg", K, setopt(BASE["hop"], "--release", "-1"))
    add("unvalidated-curve-bends-0", K, setopt(BASE["curve"], "--bends", "0"))
    add("unvalidated-interpolate-points-2", K, setopt(BASE["interpolate"], "--points", "2"))

    # ---------------------------------------------------------------- 9: a run file that is /dev/zero
    K = "9-dev-zero"
    for fname, d, consumers in (("summary.json", "S/a", ("show", "list", "align", "imp", "features")),
                                ("summary.json", f"S/{CELL}", ("table",)), ("summary.json", f"S/{LEVEL}", ("neurons",)),
                                ("summary.json", "S/unf", ("train-resume",)), ("config.json", "S/a", ("show",)),
                                ("levels.json", "S/impd", ("neurons",)), ("resume.safetensors", "S/unf", ("train-resume",))):
        where = {CELL: "cell", LEVEL: "level"}.get(d[2:], d[2:])
        for c in consumers:
            add(f"devzero-{fname.split('.')[0]}-{where}-{c}", K, BASE[c], setup="symlink",
                args=(f"{d}/{fname}", "/dev/zero"), expect="flag" if c == "list" else "refuse")

    # ---------------------------------------------------------------- 10: two writers at once
    K = "10-two-writers"
    long_sweep = setopt(BASE["sweep"], "--steps", "3000")
    add("twowriters-sweep-second-while-first-holds", K, long_sweep, runner="pair", wait_for="sw2")
    add("twowriters-sweep-started-together", K, long_sweep, runner="pair")
    add("twowriters-train-same-run", K, setopt(BASE["train"], "--steps", "6000"), runner="pair", wait_for="S/n")
    add("twowriters-imp-train", K, setopt(BASE["imp-train"], "--steps", "3000"), runner="pair", wait_for="imp3")
    add("twowriters-grow", K, setopt(BASE["grow"], "--steps", "5000"), runner="pair", wait_for="g2")
    add("twowriters-hop", K, setopt(setopt(BASE["hop"], "--steps", "3000"), "--lambdas", "0,0.001"), runner="pair",
        wait_for="hop")

    # ---------------------------------------------------------------- controls: valid inputs that must work
    K = "control"
    ok = dict(expect="accept")
    add("control-train-fresh", K, BASE["train"], check=(("exists", "{S}/n/summary.json"),), **ok)
    add("control-train-resume-unfinished", K, BASE["train-resume"], check=(
        ("exists", "{S}/unf/summary.json"), ("absent", "{S}/unf/resume.safetensors"),
        ("json", "{S}/unf/summary.json", "steps", 200)), **ok)
    add("control-train-force-own-run", K, setopt(setopt(setopt(BASE["train"], "--name", "a"), "--force"), "--steps", "200"),
        check=(("exists", "{S}/a/summary.json"),), **ok)
    add("control-show", K, BASE["show"], check=(("stdout", "eval loss"),), **ok)
    add("control-list", K, BASE["list"], needs=FIXTURES, check=(("stdout", "finished"),), **ok)
    add("control-sweep-rerun-same", K, BASE["sweep-rerun"], check=(("unchanged", f"{{S}}/{CELL}/model.safetensors"),), **ok)
    add("control-align", K, BASE["align"], check=(("exists", "{T}/al/alignment.json"), ("intact",)), **ok)
    add("control-align-force-own-result", K, setopt(setopt(BASE["align"], "--out", "{S}/ald"), "--force"),
        check=(("exists", "{S}/ald/alignment.json"), ("intact-except", "{S}/ald")), **ok)
    add("control-hop", K, BASE["hop"], check=(("exists", "{T}/hop/hop.json"),), **ok)
    add("control-imp", K, BASE["imp"], check=(("exists", "{T}/imp2/levels.json"),), **ok)
    add("control-grow", K, BASE["grow"], check=(("exists", "{T}/g2/grow.json"), ("exists", "{T}/g2/summary.json")), **ok)
    add("control-neurons", K, BASE["neurons"], check=(("exists", "{S}/impd/neurons.json"),), **ok)
    add("control-features", K, BASE["features"], check=(("exists", "{T}/feat.json"), ("exists", "{T}/feat.png"),
                                                        ("intact",)), **ok)
    add("control-compare", K, BASE["compare"], check=(("exists", "{T}/cmp.json"), ("exists", "{T}/cmp.png")), **ok)

    ids = Counter(c.id for c in cases)
    dup = [i for i, n in ids.items() if n > 1]
    assert not dup, f"duplicate case ids: {dup}"
    return cases


# ------------------------------------------------------------------------------------------ setups
def st_load(path: Path) -> tuple[dict, dict | None]:
    """A safetensors file as {name: [dtype, shape, bytes]} (stdlib only)."""
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    meta, data = head.pop("__metadata__", None), raw[8 + n:]
    return {k: [v["dtype"], list(v["shape"]), data[v["data_offsets"][0]:v["data_offsets"][1]]]
            for k, v in head.items()}, meta


def st_save(path: Path, tensors: dict, meta: dict | None = None) -> None:
    head, off, blobs = {}, 0, []
    for k, (dt, shape, b) in tensors.items():
        head[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    if meta:
        head["__metadata__"] = meta
    h = json.dumps(head).encode()
    h += b" " * (-len(h) % 8)
    path.unlink()
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def _f32(b: bytes) -> array:
    a = array("f")
    a.frombytes(b)
    return a


def tensor_variant(path: Path, variant: str, name: str) -> None:
    """Rewrite one tensor of a safetensors file (or the whole file) into a hostile variant."""
    if variant in ("truncated", "garbage", "header-huge"):
        raw = path.read_bytes()
        new = {"truncated": raw[:len(raw) // 2], "garbage": b"\x13garbage, not a safetensors file\n" * 64,
               "header-huge": struct.pack("<Q", 2**62) + raw[8:]}[variant]
        path.unlink()
        path.write_bytes(new)
        return
    t, meta = st_load(path)
    dt, shape, b = t[name]
    if variant == "missing":
        del t[name]
    elif variant == "extra":
        t["W3" if name != "P" else "Q"] = ["F32", [2], array("f", [0.0, 1.0]).tobytes()]
    elif variant == "shape":
        row = len(b) // shape[0]
        t[name] = [dt, [shape[0] - 1, *shape[1:]], b[:-row]]
    elif variant in ("step-huge", "step-negative"):
        t[name] = ["I64", [], struct.pack("<q", 10**9 if variant == "step-huge" else -5)]
    else:
        v = _f32(b) if dt == "F32" else array("f", [float(x) for x in b])  # BOOL masks -> floats
        if variant == "f64":
            t[name] = ["F64", shape, array("d", v).tobytes()]
        elif variant == "f32":
            t[name] = ["F32", shape, array("f", v).tobytes()]
        elif variant == "f16":
            t[name] = ["F16", shape, struct.pack(f"<{len(v)}e", *v)]
        elif variant == "i32":
            t[name] = ["I32", shape, array("i", [int(x * 1000) for x in v]).tobytes()]
        elif variant == "bool":
            t[name] = ["BOOL", shape, bytes(int(x > 0) for x in v)]
        elif variant in ("nan", "inf"):
            v[0] = math.nan if variant == "nan" else math.inf
            t[name] = [dt, shape, v.tobytes()]
        elif variant == "scale2":
            t[name] = [dt, shape, array("f", [2 * x for x in v]).tobytes()]
        else:
            raise ValueError(f"unknown tensor variant {variant}")
    st_save(path, t, meta)


def setup_text(T: Path, rel: str, text: str) -> None:
    p = T / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists() or p.is_symlink():
        p.unlink()
    p.write_text(text)


def setup_config(T: Path, rel: str, op: str, key: str, value: str) -> None:
    p = T / rel
    rec = json.loads(p.read_text())
    cfg = rec["config"]
    if op == "drop":
        del cfg[key]
    else:
        cfg[key] = json.loads(value)
    setup_text(T, rel, json.dumps(rec, indent=1))


def setup_json_set(T: Path, rel: str, key: str, value: str) -> None:
    rec = json.loads((T / rel).read_text())
    rec[key] = json.loads(value)
    setup_text(T, rel, json.dumps(rec, indent=1))


def setup_symlink(T: Path, rel: str, target: str) -> None:
    p = T / rel
    p.unlink(missing_ok=True)
    p.symlink_to(target)


def setup_copy(T: Path, src: str, dst: str) -> None:
    (T / dst).parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(T / src, T / dst)


SETUPS = {"none": lambda T: None, "text": setup_text, "config": setup_config, "json_set": setup_json_set,
          "tensor": lambda T, rel, v, name: tensor_variant(T / rel, v, name), "symlink": setup_symlink,
          "copy": setup_copy}


def common_setup(T: Path) -> None:
    """Every case's temp dir also holds a plain file, an empty-ish dir and an unrelated non-empty dir."""
    (T / "file").write_text("a plain file\n")
    (T / "adir").mkdir()
    (T / "adir" / "keep.txt").write_text("keep\n")
    (T / "junk").mkdir()
    (T / "junk" / "notes.txt").write_text("someone's notes, not a result\n")


def needs_of(case: Case) -> tuple[str, ...]:
    """The fixtures a case reads: run names and {S}/NAME paths in its argv, S/NAME paths in its setup."""
    if case.needs is not None:
        return case.needs
    found = set()
    for prev, tok in zip(case.argv[1:], case.argv[2:]):
        if tok == "{S}" and prev == "--out":
            found |= {"a", "b", "g"}  # the store as --out: give it runs to lose
        if tok in FIXTURES:
            found.add(tok)
        for f in FIXTURES:
            if f"{{S}}/{f}" == tok or tok.startswith(f"{{S}}/{f}/") or tok.startswith(f"{{S}}/{f},"):
                found.add(f)
    for a in case.args:
        if isinstance(a, str) and a.startswith("S/"):
            found.add(a.split("/")[1])
    if case.setup == "copy":
        found.add(case.args[0].split("/")[1])
    return tuple(sorted(found))


# ------------------------------------------------------------------------------------------ running
def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root: files by (size, mtime_ns), links by target, dirs by existence (no __pycache__)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for d in dirnames:
            p = os.path.join(dirpath, d)
            snap[os.path.relpath(p, root)] = ("link", os.readlink(p)) if os.path.islink(p) else ("dir",)
        for f in filenames:
            p = os.path.join(dirpath, f)
            st = os.lstat(p)
            snap[os.path.relpath(p, root)] = ("link", os.readlink(p)) if os.path.islink(p) else \
                ("file", st.st_size, st.st_mtime_ns)
    return snap


def diff(before: dict, after: dict) -> dict[str, list[str]]:
    return {"new": sorted(set(after) - set(before)), "deleted": sorted(set(before) - set(after)),
            "changed": sorted(p for p in set(before) & set(after) if before[p] != after[p])}


_LIMIT = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({0}, {0})); "
          "os.execv(sys.argv[1], sys.argv[1:])")


def start(argv: list[str], cwd: Path, env: dict) -> subprocess.Popen:
    """The command under an address-space cap, in its own session (so a timeout kills its workers too)."""
    prog = str(BIN / argv[0])
    return subprocess.Popen([sys.executable, "-c", _LIMIT.format(MEM_LIMIT), prog, *argv[1:]], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def finish(p: subprocess.Popen, timeout: float) -> tuple[int | None, str, str, bool, float]:
    t0 = time.perf_counter()
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        _killpg(p)
        out, err = p.communicate()
    _killpg(p)  # stragglers (pool workers) of a finished command
    dec = lambda b: b.decode("utf-8", "replace")
    return p.returncode, dec(out), dec(err), timed_out, time.perf_counter() - t0


def _killpg(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass


def is_usage_box(err: str) -> bool:
    return "Usage:" in err and "Error" in err and len(err.strip().splitlines()) > 1


def refusal_class(rc: int | None, out: str, err: str, timed_out: bool, wrote: bool) -> str:
    """The class of an output, for an input that must be refused."""
    if timed_out:
        return "timeout"
    if "Traceback" in out or "Traceback" in err:
        return "traceback"
    if rc == 0:
        return "accepted"
    lines = err.strip().splitlines()
    if is_usage_box(err):
        return "usage_box"
    if len(lines) > 1:
        return "traceback"
    if rc is None or rc < 0 or len(lines) != 1 or not lines[0].startswith("error:"):
        return "crash"  # killed by a signal, silent, or one line that is not an error line
    return "wrote_before_refusing" if wrote else "clean"


def classify(case: Case, rc, out, err, timed_out, changes, check_failures) -> str:
    """The one classifier: what a case's outcome is."""
    wrote = any(changes.values())
    if case.expect == "accept":
        ok = rc == 0 and not timed_out and "Traceback" not in out + err and not check_failures
        return "control_pass" if ok else "control_fail"
    if case.expect == "flag" and rc == 0 and not timed_out and "Traceback" not in out + err and "corrupt" in out \
            and not wrote:
        return "clean"  # e.g. `models list` marks a corrupt run in its table: a report, not a refusal
    return refusal_class(rc, out, err, timed_out, wrote)


def fill(tok: str, T: Path, S: Path) -> str:
    return tok.replace("{S}", str(S)).replace("{T}", str(T))


def run_checks(case: Case, T: Path, S: Path, out: str, before: dict, after: dict) -> list[str]:
    """The failures of a control's checks (empty when it did its job)."""
    fails = []
    ch = diff(before, after)
    damaged = ch["deleted"] + ch["changed"]
    for name, *a in case.check:
        p = Path(fill(a[0], T, S)) if a else None
        if name == "exists" and not p.exists():
            fails.append(f"missing {a[0]}")
        elif name == "absent" and p.exists():
            fails.append(f"still there: {a[0]}")
        elif name == "stdout" and a[0] not in out:
            fails.append(f"stdout lacks {a[0]!r}")
        elif name == "json":
            try:
                got = json.loads(p.read_text()).get(a[1])
            except (OSError, ValueError, AttributeError) as e:
                got = f"unreadable ({e.__class__.__name__})"
            if got != a[2]:
                fails.append(f"{a[0]}: {a[1]} = {got!r}, not {a[2]!r}")
        elif name == "unchanged":
            rel = os.path.relpath(p, T)
            if rel in ch["changed"] or rel in ch["deleted"]:
                fails.append(f"{a[0]} was rewritten")
        elif name == "intact" and damaged:
            fails.append(f"inputs changed: {damaged[:3]}")
        elif name == "intact-except":
            rel = os.path.relpath(p, T)
            bad = [d for d in damaged if not (d == rel or d.startswith(rel + "/"))]
            if bad:
                fails.append(f"inputs changed: {bad[:3]}")
    return fails


class Slots:
    """At most n subprocesses at once; a two-writer case takes two slots."""

    def __init__(self, n: int):
        self.free, self.cv = n, threading.Condition()

    def take(self, k: int) -> None:
        with self.cv:
            self.cv.wait_for(lambda: self.free >= k)
            self.free -= k

    def give(self, k: int) -> None:
        with self.cv:
            self.free += k
            self.cv.notify_all()


def run_case(case: Case, store: Path, root: Path, env: dict, missing: set[str], slots: Slots, keep: bool) -> dict:
    rec = {"id": case.id, "input_class": case.klass, "command": shlex.join(case.argv), "expect": case.expect,
           "setup": case.setup if not case.args else f"{case.setup}{list(case.args)}"}
    need = needs_of(case)
    if missing & set(need):
        return {**rec, "exit_code": None, "outcome": "no_fixture", "stderr": f"fixture(s) {sorted(missing & set(need))} "
                                                                          "failed to build", "wall_s": 0.0}
    T = root / "cases" / case.id
    S = T / "S"
    T.mkdir(parents=True)
    try:
        S.mkdir()
        for f in need:
            shutil.copytree(store / f, S / f, symlinks=True)
        common_setup(T)
        SETUPS[case.setup](T, *case.args)
    except Exception as e:  # a setup that cannot apply (e.g. a fixture without the file) is reported, not run
        return {**rec, "exit_code": None, "outcome": "setup_error", "stderr": f"{type(e).__name__}: {e}"[:300],
                "wall_s": 0.0}
    argv = [fill(t, T, S) for t in case.argv]
    before = snapshot(T)
    k = 2 if case.runner == "pair" else 1
    slots.take(min(k, slots_total))
    try:
        if case.runner == "pair":
            res = run_pair(case, argv, T, env)
        else:
            rc, out, err, timed_out, wall = finish(start(argv, T, env), TIMEOUT)
            res = dict(rc=rc, out=out, err=err, timed_out=timed_out, wall=wall)
    finally:
        slots.give(min(k, slots_total))
    after = snapshot(T)
    changes = diff(before, after)
    checks = run_checks(case, T, S, res["out"], before, after) if case.expect == "accept" else []
    if case.runner == "pair":
        outcome = res.pop("outcome")
    else:
        outcome = classify(case, res["rc"], res["out"], res["err"], res["timed_out"], changes, checks)
    damaged = changes["deleted"] + changes["changed"]  # paths that existed before: inputs, fixtures, unrelated files
    last = [ln for ln in res["err"].splitlines() if ln.strip()][-1:]
    rec.update({"exit_code": res["rc"], "outcome": outcome, "stderr": res["err"][:300],
                "stderr_last_line": last[0][:300] if last else "",
                "stdout_tail": res["out"][-300:], "wall_s": round(res["wall"], 2),
                "written": {k2: v[:5] + ([f"... {len(v) - 5} more"] if len(v) > 5 else []) for k2, v in changes.items() if v},
                "inputs_damaged": damaged[:5] + ([f"... {len(damaged) - 5} more"] if len(damaged) > 5 else [])})
    if checks:
        rec["check_failures"] = checks
    if "pair" in res:
        rec["pair"] = res["pair"]
    if not keep:
        shutil.rmtree(T, ignore_errors=True)
    return rec


def run_pair(case: Case, argv: list[str], T: Path, env: dict) -> dict:
    """Two writers: the second starts once the first has made case.wait_for (or at once). Clean when exactly
    one of them succeeds and the other is refused with one error line."""
    wait_for = case.wait_for
    t0 = time.perf_counter()
    p1 = start(argv, T, env)
    if wait_for:
        while not (T / wait_for).exists() and p1.poll() is None and time.perf_counter() - t0 < TIMEOUT:
            time.sleep(0.05)
    overlap = p1.poll() is None  # the first still runs as the second starts
    p2 = start(argv, T, env)
    t2 = time.perf_counter() - t0
    r1, r2 = finish(p1, TIMEOUT), finish(p2, TIMEOUT)
    outs = [dict(zip(("rc", "out", "err", "timed_out", "wall"), r)) for r in (r1, r2)]
    winners = [o for o in outs if o["rc"] == 0]
    losers = [o for o in outs if o["rc"] != 0]
    if any(o["timed_out"] for o in outs):
        outcome = "timeout"
    elif any("Traceback" in o["out"] + o["err"] for o in outs):
        outcome = "traceback"
    elif len(winners) == 2:
        outcome = "accepted"   # both wrote into one --out
    elif len(winners) == 1:
        outcome = refusal_class(losers[0]["rc"], losers[0]["out"], losers[0]["err"], False, False)
    else:
        outcome = refusal_class(outs[0]["rc"], outs[0]["out"], outs[0]["err"], False, False)
        outcome = "crash" if outcome == "clean" else outcome  # neither writer finished
    shown = losers[0] if losers else outs[1]
    return {"rc": shown["rc"], "out": shown["out"], "err": shown["err"], "wall": max(o["wall"] for o in outs),
            "outcome": outcome, "timed_out": False,
            "pair": [{"exit_code": o["rc"], "stderr": o["err"][:300], "timed_out": o["timed_out"]} for o in outs]
            + [{"second_started": f"{t2:.2f} s after the first" + (f", once {wait_for} existed" if wait_for else ""),
                "first_still_running_then": overlap}]}


slots_total = 1


# ------------------------------------------------------------------------------------------ fixtures
def build_fixtures(store: Path, env: dict) -> tuple[set[str], list[str]]:
    """The shared fixture runs, built once; returns the names that failed and a log."""
    S = str(store)
    cmds = {
        "a": f"models train --preset tiny --steps 200 --name a --runs-dir {S} --quiet --threads 1",
        "b": f"models train --preset tiny --steps 200 --seed 1 --name b --runs-dir {S} --quiet --threads 1",
        "gelu": f"models train --preset tiny --nonlinearity gelu --steps 32 --name gelu --runs-dir {S} --quiet --threads 1",
        "sw": f"models sweep --preset tiny --steps 50 --grid lr=0.01,0.03 --out {S}/sw --workers 1",
        "impd": f"prune imp {S}/a --rounds 2 --rate 0.5 --out {S}/impd --quiet --threads 1",
        "g": f"prune grow --preset tiny --steps 64 --sparsity 0.5 --out {S}/g --quiet",
        "ald": f"basins align a b --runs-dir {S} --out {S}/ald",
        "hopd": f"basins hop a b --runs-dir {S} --lambdas 0 --steps 20 --points 3 --eval-size 256 --out {S}/hopd",
    }
    failed, log = set(), []
    for name, cmd in cmds.items():
        rc, out, err, _, wall = finish(start(shlex.split(cmd), store, env), 300)
        log.append(f"fixture {name}: exit {rc} in {wall:.1f} s" + ("" if rc == 0 else f": {err.strip()[-300:]}"))
        if rc != 0:
            failed.add(name)
    ok = build_unfinished(store, env, log)
    if not ok:
        failed.add("unf")
    return failed, log


_UNFINISHED = """
import sys
from models.config import TrainConfig, preset
from models.train import train_run
train_run(TrainConfig(**{**preset("tiny"), "steps": 200}, preset="tiny"), sys.argv[1], stop_after=128)
"""


def build_unfinished(store: Path, env: dict, log: list[str]) -> bool:
    """unf: `--preset tiny --steps 200` stopped after 128 steps with its resume state (the library's stop_after);
    if that API is gone, a copy of `a` without summary.json (unfinished, but no resume state)."""
    d = store / "unf"
    p = subprocess.run([sys.executable, "-c", _UNFINISHED, str(d)], cwd=store, env=env, capture_output=True,
                       text=True, timeout=300)
    if p.returncode == 0 and (d / "resume.safetensors").exists() and not (d / "summary.json").exists():
        log.append("fixture unf: stopped after 128 of 200 steps, resume state kept")
        return True
    log.append(f"fixture unf: stop_after failed ({p.stderr.strip().splitlines()[-1:]}); using a copy of a "
               "without summary.json")
    shutil.rmtree(d, ignore_errors=True)
    if not (store / "a").is_dir():
        return False
    shutil.copytree(store / "a", d)
    (d / "summary.json").unlink()
    return True


# ------------------------------------------------------------------------------------------ report
def print_summary(results: list[dict], wall: float) -> None:
    counts = Counter(r["outcome"] for r in results)
    hostile = [r for r in results if r["expect"] != "accept"]
    controls = [r for r in results if r["expect"] == "accept"]
    print(f"\n{len(results)} cases ({len(hostile)} hostile, {len(controls)} controls) in {wall / 60:.1f} min")
    print("\noutcome                 cases")
    for o in OUTCOMES:
        if counts[o]:
            print(f"  {o:<22}{counts[o]:>5}")
    cols = [o for o in ("clean", *FAILURES, "setup_error", "no_fixture") if any(r["outcome"] == o for r in hostile)]
    for title, key in (("command", lambda r: " ".join(shlex.split(r["command"])[:2])),
                       ("input class", lambda r: r["input_class"])):
        rows = defaultdict(Counter)
        for r in hostile:
            rows[key(r)][r["outcome"]] += 1
        width = max(len(k) for k in rows) + 2
        short = {"wrote_before_refusing": "wrote", "usage_box": "usage", "setup_error": "setup", "no_fixture": "nofix",
                 "traceback": "tracebk"}
        print(f"\n{title:<{width}}" + "".join(f"{short.get(c, c):>9}" for c in cols) + f"{'total':>7}")
        for k in sorted(rows, key=lambda s: (len(s.split("-")[0]) if title != "command" else 0, s)):
            print(f"{k:<{width}}" + "".join(f"{rows[k][c]:>9}" for c in cols) + f"{sum(rows[k].values()):>7}")
    print("\ncontrols (valid inputs that must work):")
    for r in controls:
        note = "" if r["outcome"] == "control_pass" else \
            f"  exit {r['exit_code']}: {(r.get('check_failures') or [r['stderr'].strip().splitlines()[-1:] or ''])}"
        print(f"  {r['outcome']:<13} {r['id']}{note}")
    lost = [r for r in hostile if r.get("inputs_damaged")]
    if lost:
        print(f"\ninputs deleted or rewritten ({len(lost)} cases):")
        for r in lost:
            print(f"  {r['outcome']:<22} {r['id']}: {', '.join(r['inputs_damaged'][:3])}")
    for o in FAILURES:
        ids = [r["id"] for r in hostile if r["outcome"] == o]
        if ids:
            print(f"\n{o} ({len(ids)}): " + ", ".join(ids[:25]) + (f", ... {len(ids) - 25} more" if len(ids) > 25 else ""))


def suite_version() -> dict:
    repo = BIN.parent.parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.split("\n")
        return {"repo": str(repo), "head": head, "modified_files": [d[3:] for d in dirty if d.strip()]}
    except OSError:
        return {"repo": str(repo)}


def main() -> None:
    global slots_total
    ap = argparse.ArgumentParser(description="Hostile inputs against the models/basins/prune CLIs.")
    ap.add_argument("--json", type=Path, help="write every case's result here")
    ap.add_argument("--only", help="run the cases whose id (or command line) contains this")
    ap.add_argument("--jobs", type=int, default=1, help="cases at once (default 1; this machine has 2 cores)")
    ap.add_argument("--list", action="store_true", help="print the cases and exit")
    ap.add_argument("--keep", action="store_true", help="keep each case's temporary directory")
    a = ap.parse_args()
    cases = build_cases()
    if a.only:
        cases = [c for c in cases if a.only in c.id or a.only in shlex.join(c.argv)]
    if a.list:
        for c in cases:
            print(f"{c.id:<64} {c.klass:<16} {c.expect:<7} {shlex.join(c.argv)}".replace("\n", "\\n")
                  + (f"   [{c.setup} {list(c.args)}]" if c.setup != "none" else ""))
        print(f"{len(cases)} cases")
        return
    if a.jobs < 1:
        ap.error("--jobs must be at least 1")
    slots_total = a.jobs
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    env = {**os.environ, "MPLCONFIGDIR": str(root / "mpl"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "100"}
    store = root / "store"
    store.mkdir()
    t0 = time.perf_counter()
    suite_at_start = suite_version()  # the suite may change while the matrix runs: both ends are recorded
    print(f"building fixtures in {store} ...", flush=True)
    missing, log = build_fixtures(store, env)
    print("\n".join(log), flush=True)
    slots = Slots(a.jobs)
    results: list[dict] = []
    lock = threading.Lock()

    def one(c: Case) -> dict:
        r = run_case(c, store, root, env, missing, slots, a.keep)
        with lock:
            results.append(r)
            print(f"[{len(results):>4}/{len(cases)}] {r['outcome']:<22} {r.get('wall_s', 0):>5.1f}s  {c.id}", flush=True)
        return r

    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        list(pool.map(one, cases))
    wall = time.perf_counter() - t0
    order = {c.id: i for i, c in enumerate(cases)}
    results.sort(key=lambda r: order[r["id"]])
    print_summary(results, wall)
    if a.json:
        counts = Counter(r["outcome"] for r in results)
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({
            "meta": {"suite_at_start": suite_at_start, "suite_at_end": suite_version(), "bin": str(BIN), "jobs": a.jobs, "timeout_s": TIMEOUT,
                     "mem_limit_bytes": MEM_LIMIT, "wall_s": round(wall, 1), "fixtures": log,
                     "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "only": a.only},
            "summary": {"cases": len(results), "outcomes": {o: counts[o] for o in OUTCOMES if counts[o]},
                        "controls": {r["id"]: r["outcome"] for r in results if r["expect"] == "accept"}},
            "cases": results}, indent=1) + "\n")
        print(f"\nwrote {a.json}")
    if not a.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"kept {root}")


if __name__ == "__main__":
    main()
