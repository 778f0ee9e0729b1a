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

# Submodules are imported on first use (PEP 562): a stage that needs only the weighting code does not
# pay for scipy.stats and statsmodels, which the comparison and validity modules import (~1 s).
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_SUBMODULE = {
    "AlphaResult": "reliability",
    "BartlettResult": "validity",
    "CFAResult": "validity",
    "ChiSquareResult": "comparisons",
    "ChisqResult": "design",
    "DomainMeans": "design",
    "EFAResult": "validity",
    "EffectSize": "effect_sizes",
    "FleissKappaResult": "agreement",
    "ICCResult": "agreement",
    "KMOResult": "validity",
    "KappaResult": "agreement",
    "OmegaResult": "reliability",
    "OmnibusResult": "comparisons",
    "RakeResult": "weighting",
    "SurveyDesign": "design",
    "TTestResult": "design",
    "TwoSampleResult": "comparisons",
    "adjust_across": "multiplicity",
    "bartlett_sphericity": "validity",
    "benjamini_hochberg": "multiplicity",
    "cell_weights": "weighting",
    "cfa": "validity",
    "chi2_independence": "comparisons",
    "cohen_kappa": "agreement",
    "compare_groups": "comparisons",
    "cramers_v": "effect_sizes",
    "cronbach_alpha": "reliability",
    "efa": "validity",
    "epsilon_squared": "effect_sizes",
    "fleiss_kappa": "agreement",
    "games_howell": "comparisons",
    "hedges_g": "effect_sizes",
    "holm": "multiplicity",
    "icc": "agreement",
    "item_analysis": "reliability",
    "kmo": "validity",
    "kruskal": "comparisons",
    "mann_whitney": "comparisons",
    "misassigned_items": "validity",
    "omega_squared": "effect_sizes",
    "omega_total": "reliability",
    "rake": "weighting",
    "unit_vs_rest": "comparisons",
    "welch_anova": "comparisons",
    "welch_ttest": "comparisons",
}

__all__ = [
    "AlphaResult",
    "BartlettResult",
    "CFAResult",
    "ChiSquareResult",
    "ChisqResult",
    "DomainMeans",
    "EFAResult",
    "EffectSize",
    "FleissKappaResult",
    "ICCResult",
    "KMOResult",
    "KappaResult",
    "OmegaResult",
    "OmnibusResult",
    "RakeResult",
    "SurveyDesign",
    "TTestResult",
    "TwoSampleResult",
    "adjust_across",
    "bartlett_sphericity",
    "benjamini_hochberg",
    "cell_weights",
    "cfa",
    "chi2_independence",
    "cohen_kappa",
    "compare_groups",
    "cramers_v",
    "cronbach_alpha",
    "efa",
    "epsilon_squared",
    "fleiss_kappa",
    "games_howell",
    "hedges_g",
    "holm",
    "icc",
    "item_analysis",
    "kmo",
    "kruskal",
    "mann_whitney",
    "misassigned_items",
    "omega_squared",
    "omega_total",
    "rake",
    "unit_vs_rest",
    "welch_anova",
    "welch_ttest",
]


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
