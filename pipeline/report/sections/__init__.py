"""The appendix's nine sections, one module each; every module has ``NUMBER``, ``TITLE`` and
``section(inputs) -> Section`` (:mod:`pipeline.report.blocks`), built from stage tables only.

1 调查概况 (:mod:`.overview`), 2 样本结构与加权 (:mod:`.sampling`), 3 信度与效度 (:mod:`.reliability`),
4 描述统计 (:mod:`.describe`), 5 差异分析 (:mod:`.differences`), 6 指标得分 (:mod:`.scores`),
7 案卷评查 (:mod:`.casefiles`), 8 问题清单 (:mod:`.problems`), 9 方法说明 (:mod:`.methods`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = (
    "overview",
    "sampling",
    "reliability",
    "describe",
    "differences",
    "scores",
    "casefiles",
    "problems",
    "methods",
)


def modules() -> list[ModuleType]:
    """The section modules, in section order."""
    return [importlib.import_module(f"{__name__}.{name}") for name in MODULES]
