"""pipeline.stats: its public names are listed once, every one resolves, and importing the weighting code does
not drag in scipy.stats or statsmodels."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline.stats as stats

STATS_DIR = Path(stats.__file__).parent


def _submodules() -> list[str]:
    return sorted(f"pipeline.stats.{m.name}" for m in pkgutil.iter_modules([str(STATS_DIR)]))


def test_every_public_name_resolves_to_the_object_its_module_defines():
    assert stats.__all__ == sorted(stats._SUBMODULE)
    for name in stats.__all__:
        module = importlib.import_module(stats._SUBMODULE[name])
        value = getattr(stats, name)
        assert value is getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):  # defined there, not imported from elsewhere
            assert value.__module__ == module.__name__, name


def test_the_type_checking_imports_are_the_only_list_of_public_names():
    tree = ast.parse((STATS_DIR / "__init__.py").read_text(encoding="utf-8"))
    block = next(
        n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"
    )
    imported = {a.name: n.module for n in block.body for a in n.names}
    assert all(a.asname is None for n in block.body for a in n.names)  # no renaming: one name, one object
    assert imported == stats._SUBMODULE
    # no second list: submodules carry no __all__, __init__ assigns no other collection of names
    for module in _submodules():
        assert not hasattr(importlib.import_module(module), "__all__"), f"{module} defines __all__"
    assigned = {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
    }
    assert assigned == {"_SUBMODULE", "__all__"}


def test_every_public_function_and_class_of_a_public_submodule_is_exported():
    # a new public statistic cannot be forgotten in the list: defined without "_" in a public module = exported
    for module_name in _submodules():
        if module_name.rsplit(".", 1)[1].startswith("_"):
            continue  # private kernels: only the names listed are public
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if name.startswith("_") or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if value.__module__ == module_name:
                assert stats._SUBMODULE.get(name) == module_name, f"{module_name}.{name} is not exported"


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_estimator"):
        stats.no_such_estimator  # noqa: B018


@pytest.mark.parametrize(
    "module", ["weighting", "descriptives", "small_groups", "inference", "reliability", "_items"]
)
def test_importing_the_light_modules_does_not_import_scipy_stats_or_statsmodels(module):
    probe = (
        f"import sys, pipeline.stats.{module}; "
        "print(sorted(m for m in ('scipy.stats', 'statsmodels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_importing_the_package_imports_no_submodule():
    probe = (
        "import sys, pipeline.stats; print(sorted(m for m in sys.modules if m.startswith('pipeline.stats.')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_result_classes_name_their_p_value_pvalue_and_return_their_interval_as_one_type():
    for name in stats.__all__:
        value = getattr(stats, name)
        if not dataclasses.is_dataclass(value):
            continue
        fields = {f.name for f in dataclasses.fields(value)}
        assert not fields & {"p", "p_value", "pval"}, f"{name}: call the p-value 'pvalue'"
        if {"ci_low", "ci_high"} <= fields:
            assert inspect.signature(value.confidence_interval).return_annotation in (
                "ConfidenceInterval",
                stats.ConfidenceInterval,
            ), name


def test_confidence_interval_is_a_low_high_pair():
    res = stats.welch_ttest([1.0, 2.0, 4.0, 3.5], [2.0, 5.0, 6.0, 7.5])
    ci = res.confidence_interval()
    assert isinstance(ci, stats.ConfidenceInterval)
    assert (ci.low, ci.high) == (res.ci_low, res.ci_high) == tuple(ci)


@pytest.mark.parametrize("module", _submodules())
def test_docstring_examples_of_every_stats_module_run(module):
    import doctest

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
