"""Run dirs of a fixed tiny config, a 2-level IMP and a basins interpolation equal the committed digests
(tests/golden_build.py): refactors must not change what the suite writes."""
import json

import pytest

from golden_build import GOLDEN, build, fingerprint


def _compare(got, want, path, exact):
    if isinstance(want, dict) and "sha" in want and "norm" in want:
        assert (got["dtype"], got["shape"]) == (want["dtype"], want["shape"]), path
        if exact:
            assert got["sha"] == want["sha"], f"{path}: tensor bytes differ"
        else:
            assert got["sum"] == pytest.approx(want["sum"], rel=1e-4, abs=1e-5), path
            assert got["norm"] == pytest.approx(want["norm"], rel=1e-4, abs=1e-5), path
        return
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{path}: keys {sorted(set(got) ^ set(want))}"
        for k in want:
            _compare(got[k], want[k], f"{path}/{k}", exact)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, f"{path}[{i}]", exact)
    elif isinstance(want, float) and not exact:
        assert got == pytest.approx(want, rel=1e-4, abs=1e-6), path
    else:
        assert got == want, path


def test_run_dirs_equal_the_golden_digests(tmp_path):
    golden = json.loads(GOLDEN.read_text())
    exact = golden["fingerprint"] == fingerprint()
    got = build(tmp_path)
    assert set(got) == set(golden["dirs"])
    for name in golden["dirs"]:
        _compare(got[name], golden["dirs"][name], name, exact)
