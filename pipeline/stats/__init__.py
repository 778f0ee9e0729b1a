"""Public statistics API of fazhi-eval (what notebooks and the evaluation team call).

Every estimator is a function returning a frozen dataclass or a tidy DataFrame at full precision.
Weights are sampling weights (inverse inclusion probabilities or calibrated weights), never frequency weights.

- weighting: :func:`rake`, :func:`cell_weights`
- design-based estimation: :class:`SurveyDesign` (mean, proportion, chisq, ttest, regress, domain_means_vcov)
- reliability: :func:`cronbach_alpha`, :func:`omega_total`, :func:`item_analysis`
- validity: :func:`kmo`, :func:`bartlett_sphericity`, :func:`efa`, :func:`cfa`, :func:`misassigned_items`
- rater agreement: :func:`icc`, :func:`cohen_kappa`, :func:`fleiss_kappa`
- group comparisons: :func:`welch_anova`, :func:`games_howell`, :func:`kruskal`, :func:`compare_groups`,
  :func:`unit_vs_rest`, :func:`chi2_independence`, :func:`welch_ttest`, :func:`mann_whitney`
- effect sizes and multiplicity: :func:`omega_squared`, :func:`epsilon_squared`, :func:`hedges_g`,
  :func:`cramers_v`, :func:`holm`, :func:`benjamini_hochberg`, :func:`adjust_across`
"""

# ruff: noqa: F401 (the TYPE_CHECKING imports are the package's names for type checkers, not unused)

# Submodules are imported on first use (PEP 562): a stage that needs only the weighting code does not
# pay for scipy.stats and statsmodels, which the comparison and validity modules import (~1 s).
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and IDEs read; at run time __getattr__ below imports
    from pipeline.stats.agreement import (
        FleissKappaResult,
        ICCResult,
        KappaResult,
        cohen_kappa,
        fleiss_kappa,
        icc,
    )
    from pipeline.stats.comparisons import (
        ChiSquareResult,
        OmnibusResult,
        TwoSampleResult,
        chi2_independence,
        compare_groups,
        games_howell,
        kruskal,
        mann_whitney,
        unit_vs_rest,
        welch_anova,
        welch_ttest,
    )
    from pipeline.stats.design import ChisqResult, DomainMeans, SurveyDesign, TTestResult
    from pipeline.stats.effect_sizes import EffectSize, cramers_v, epsilon_squared, hedges_g, omega_squared
    from pipeline.stats.multiplicity import adjust_across, benjamini_hochberg, holm
    from pipeline.stats.reliability import (
        AlphaResult,
        OmegaResult,
        cronbach_alpha,
        item_analysis,
        omega_total,
    )
    from pipeline.stats.validity import (
        BartlettResult,
        CFAResult,
        EFAResult,
        KMOResult,
        bartlett_sphericity,
        cfa,
        efa,
        kmo,
        misassigned_items,
    )
    from pipeline.stats.weighting import RakeResult, cell_weights, rake

#: Public names by the submodule that defines them (the same as the imports above, which type checkers read).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "agreement": ("FleissKappaResult", "ICCResult", "KappaResult", "cohen_kappa", "fleiss_kappa", "icc"),
    "comparisons": (
        "ChiSquareResult",
        "OmnibusResult",
        "TwoSampleResult",
        "chi2_independence",
        "compare_groups",
        "games_howell",
        "kruskal",
        "mann_whitney",
        "unit_vs_rest",
        "welch_anova",
        "welch_ttest",
    ),
    "design": ("ChisqResult", "DomainMeans", "SurveyDesign", "TTestResult"),
    "effect_sizes": ("EffectSize", "cramers_v", "epsilon_squared", "hedges_g", "omega_squared"),
    "multiplicity": ("adjust_across", "benjamini_hochberg", "holm"),
    "reliability": ("AlphaResult", "OmegaResult", "cronbach_alpha", "item_analysis", "omega_total"),
    "validity": (
        "BartlettResult",
        "CFAResult",
        "EFAResult",
        "KMOResult",
        "bartlett_sphericity",
        "cfa",
        "efa",
        "kmo",
        "misassigned_items",
    ),
    "weighting": ("RakeResult", "cell_weights", "rake"),
}
_SUBMODULE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_SUBMODULE)


def __getattr__(name: str) -> object:
    """Import the submodule that defines ``name`` the first time it is asked for."""
    module = _SUBMODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline.stats' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"pipeline.stats.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
