"""Shared by the pruning tests: run-dir plots off (they cost ~1.5 s a run and are tested in test_train)."""
import pytest


@pytest.fixture(autouse=True, scope="module")
def no_run_plots():
    import models.plots

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models.plots, "training_plot", lambda *a, **k: None)
        mp.setattr(models.plots, "sfa_plot", lambda *a, **k: None)
        yield
