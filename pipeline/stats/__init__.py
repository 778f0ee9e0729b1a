"""Public statistics API of fazhi-eval (what notebooks and the evaluation team call).

Every estimator is a function returning a frozen dataclass or a tidy DataFrame at full precision.
Weights are sampling weights (inverse inclusion probabilities or calibrated weights), never frequency weights.
"""

# --- exports (each module adds its own line below; keep one line per module) ---
from pipeline.stats.reliability import AlphaResult, OmegaResult, cronbach_alpha, item_analysis, omega_total  # noqa: E402,F401
from pipeline.stats.agreement import FleissKappaResult, ICCResult, KappaResult, cohen_kappa, fleiss_kappa, icc  # noqa: E402,F401
from pipeline.stats.weighting import RakeResult, cell_weights, rake  # noqa: F401
