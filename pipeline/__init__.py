"""fazhi-eval: the analysis pipeline of a third-party rule-of-law evaluation (法治建设第三方评估).

Public entry points for analysts::

    from pipeline import stats          # estimators: weighting, design-based means, reliability, comparisons
    from pipeline.config import load_config
"""

__version__ = "0.1.0"
