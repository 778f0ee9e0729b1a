"""Public statistics API of fazhi-eval (what notebooks and the evaluation team call).

Every estimator is a function returning a frozen dataclass or a tidy DataFrame at full precision.
Weights are sampling weights (inverse inclusion probabilities or calibrated weights), never frequency weights.

- weighting: :func:`rake`, :func:`cell_weights`
- design-based estimation: :class:`SurveyDesign` (mean, proportion, chisq, ttest, regress, regress_logistic,
  domain_means_vcov, unit_vs_peers_contrasts)
- reliability: :func:`cronbach_alpha`, :func:`omega_total`, :func:`item_analysis` (on :func:`prepare_items`)
- validity: :func:`kmo`, :func:`bartlett_sphericity`, :func:`efa`, :func:`cfa`, :func:`misassigned_items`
- rater agreement: :func:`icc`, :func:`cohen_kappa`, :func:`fleiss_kappa`
- group comparisons: :func:`welch_anova`, :func:`games_howell`, :func:`kruskal`, :func:`compare_groups`,
  :func:`unit_vs_peers`, :func:`chi2_independence`, :func:`welch_ttest`, :func:`mann_whitney`
- effect sizes and multiplicity: :func:`omega_squared`, :func:`epsilon_squared`, :func:`hedges_g`,
  :func:`cramers_v`, :func:`holm`, :func:`benjamini_hochberg`, :func:`adjust_across`
- counts and ratings of the findings' model: :func:`negative_multinomial_logpmf`,
  :func:`negative_multinomial_shape`, :func:`ordinal_cell_loglik`, :func:`ordinal_null`, :func:`level_probs`
- shared pieces: :func:`kish_n_eff`, :func:`weighted_sd`, :func:`t_quantile`, :func:`t_pvalue`,
  :class:`ConfidenceInterval`, :class:`SmallGroupRule` / :func:`small_group_flags`, :func:`treatment_patterns`

The public names are listed once, in the ``TYPE_CHECKING`` imports below: type checkers and IDEs read them
there, and at run time the name -> submodule map of :func:`__getattr__` (and ``__all__``) is derived from the
same block, so the two cannot drift apart. Submodules have no ``__all__`` of their own. Modules whose name
starts with ``_`` hold fast kernels (each naming the slower library function it equals); a public name may
live in one (``PreparedItems`` in ``_items``).
"""

# ruff: noqa: F401 (the TYPE_CHECKING imports are the package's names for type checkers, not unused)

# Submodules are imported on first use (PEP 562): a stage that needs only the weighting code does not
# pay for scipy.stats and statsmodels, which the comparison and validity modules import (~1 s).
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # THE list of public names (see the module docstring); at run time __getattr__ imports
    from pipeline.stats._items import PreparedItems, prepare_items
    from pipeline.stats._patterns import TreatmentPatterns, treatment_patterns
    from pipeline.stats.agreement import (
        FleissKappaResult,
        ICCResult,
        KappaResult,
        cohen_kappa,
        fleiss_kappa,
        icc,
    )
    from pipeline.stats.comparisons import (
        RESULT_COLUMNS,
        UNIT_COLUMNS,
        ChiSquareResult,
        OmnibusResult,
        TwoSampleResult,
        chi2_independence,
        compare_groups,
        games_howell,
        kruskal,
        mann_whitney,
        unit_vs_peers,
        welch_anova,
        welch_ttest,
    )
    from pipeline.stats.counts import negative_multinomial_logpmf, negative_multinomial_shape
    from pipeline.stats.descriptives import (
        kish_n_eff,
        kish_n_eff_from_sums,
        weighted_sd,
        weighted_sd_by_group,
        weighted_sd_pooled,
    )
    from pipeline.stats.design import (
        ChisqResult,
        DomainMeans,
        LogisticRegressionResult,
        SurveyDesign,
        TTestResult,
    )
    from pipeline.stats.domains import DomainMeanTable, design_domain_means, domain_mean_table
    from pipeline.stats.effect_sizes import (
        EffectSize,
        cramers_v,
        cramers_v_from_chi2,
        epsilon_squared,
        epsilon_squared_from_h,
        hedges_g,
        hedges_g_from_moments,
        omega_squared,
        omega_squared_from_sums,
        rank_biserial_from_u,
    )
    from pipeline.stats.frequencies import category_proportions, crosstab_test
    from pipeline.stats.inference import ConfidenceInterval, t_pvalue, t_quantile
    from pipeline.stats.league import RankIntervals, competition_ranks, rank_intervals
    from pipeline.stats.multiplicity import adjust_across, benjamini_hochberg, holm
    from pipeline.stats.ordinal import level_probs, ordinal_cell_loglik, ordinal_null
    from pipeline.stats.reliability import (
        AlphaResult,
        OmegaResult,
        bootstrap_intervals,
        cronbach_alpha,
        item_analysis,
        omega_total,
    )
    from pipeline.stats.small_groups import MIN_N, SMALL_N, GroupFlag, SmallGroupRule, small_group_flags
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


def _public_names() -> dict[str, str]:
    """Public name -> defining module, read from the ``TYPE_CHECKING`` block of this file (its syntax tree)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    )
    return {alias.name: node.module for node in block.body for alias in node.names}


#: Public name -> the module that defines it (derived from the imports above, never written by hand).
_SUBMODULE = _public_names()
__all__ = sorted(_SUBMODULE)


def __getattr__(name: str) -> object:
    """Import the submodule that defines ``name`` the first time it is asked for."""
    module = _SUBMODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline.stats' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
