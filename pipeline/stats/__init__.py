"""Public statistics API of fazhi-eval (what notebooks and the evaluation team call).

Every estimator is a function returning a frozen dataclass or a tidy DataFrame at full precision.
Weights are sampling weights (inverse inclusion probabilities or calibrated weights), never frequency weights.
"""

# --- exports (each module adds its own line below; keep one line per module) ---
from pipeline.stats.reliability import AlphaResult, OmegaResult, cronbach_alpha, item_analysis, omega_total  # noqa: E402,F401
from pipeline.stats.agreement import FleissKappaResult, ICCResult, KappaResult, cohen_kappa, fleiss_kappa, icc  # noqa: E402,F401
from pipeline.stats.weighting import RakeResult, cell_weights, rake  # noqa: F401
from pipeline.stats.effect_sizes import EffectSize, cramers_v, epsilon_squared, hedges_g, omega_squared  # noqa: E402,F401
from pipeline.stats.multiplicity import adjust_across, benjamini_hochberg, holm  # noqa: E402,F401
from pipeline.stats.comparisons import ChiSquareResult, OmnibusResult, TwoSampleResult, chi2_independence, compare_groups, games_howell, kruskal, mann_whitney, unit_vs_rest, welch_anova, welch_ttest  # noqa: E402,F401
from pipeline.stats.validity import BartlettResult, CFAResult, EFAResult, KMOResult, bartlett_sphericity, cfa, efa, kmo, misassigned_items  # noqa: E402,F401
from pipeline.stats.design import ChisqResult, DomainMeans, SurveyDesign, TTestResult  # noqa: F401
