"""pipeline.stats: every public name resolves, and a submodule's import does not drag in the rest."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import pipeline.stats as stats


def test_every_public_name_resolves_to_the_object_its_submodule_defines():
    for name in stats.__all__:
        module = importlib.import_module(f"pipeline.stats.{stats._SUBMODULE[name]}")
        assert getattr(stats, name) is getattr(module, name)
    assert sorted(stats.__all__) == sorted(stats._SUBMODULE)


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_estimator"):
        stats.no_such_estimator  # noqa: B018


def test_importing_the_weighting_code_does_not_import_scipy_stats_or_statsmodels():
    probe = "import sys, pipeline.stats.weighting; print(sorted(m for m in ('scipy.stats', 'statsmodels') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
