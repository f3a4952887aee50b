"""The shape of the code: packages meet only in run dirs (basins and pruning import models, never each
other or another package's private names), no import cycles, short functions."""
import ast
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "basins", "pruning")
MAX_FUNCTION_LINES = 70


def _modules():
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).glob("*.py")):
            yield pkg, path, ast.parse(path.read_text())


def _imports(pkg: str, tree: ast.AST):
    """(package, module, names) of every import of a suite module, relative ones resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg if node.level == 1 else None
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod and mod.split(".")[0] in PACKAGES:
                yield mod.split(".")[0], mod, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PACKAGES:
                    yield a.name.split(".")[0], a.name, []


def test_packages_meet_only_through_models_public_names():
    for pkg, path, tree in _modules():
        for target, mod, names in _imports(pkg, tree):
            if target == pkg:
                continue
            assert pkg != "models", f"{path.name}: models imports {mod}"
            assert target == "models", f"{pkg}/{path.name} imports {mod}: basins and pruning never import each other"
            private = [n for n in names if n.startswith("_")] + ([mod] if any(p.startswith("_") for p in mod.split(".")) else [])
            assert not private, f"{pkg}/{path.name} imports private {private} from {mod}"


def test_no_import_cycles():
    g = nx.DiGraph()
    for pkg, path, tree in _modules():
        here = f"{pkg}.{path.stem}"
        g.add_node(here)
        for target, mod, names in _imports(pkg, tree):
            subs = [f"{mod}.{n}" for n in names if (REPO / mod.replace(".", "/") / f"{n}.py").exists()]
            for m in subs or [mod]:
                if m != here and not m.endswith(".__init__") and m not in PACKAGES:
                    g.add_edge(here, m)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("pkg", PACKAGES)
def test_functions_are_short(pkg):
    long = []
    for p, path, tree in _modules():
        if p != pkg:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.name}:{node.name} ({n} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
