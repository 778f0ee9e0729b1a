"""Run options: the settings of one run that are not configuration files, typed and in one place.

A run's results depend on the configuration (``questionnaires/``), the inputs, the seed and the options marked
here as affecting a stage; those options are hashed into that stage's reuse key
(:func:`pipeline.runner.stage_key`), so changing one re-runs the stages it affects and no other. Options that
only decide how the work is executed (``workers``) give the same tables and are never hashed.

Every option has a command-line flag (``fazhi-eval run --n-boot 500``); notebooks and tests build
``RunOptions(n_boot=500)`` directly.

Examples
--------
>>> opts = RunOptions(min_n=5)
>>> opts.affecting("compare")
{'small_n': None, 'min_n': 5}
>>> opts.affecting("weight")
{}
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pipeline.errors import ConfigError
from pipeline.stats.small_groups import MIN_N, SMALL_N

N_BOOT = 2000
"""Default number of bootstrap replicates of alpha's interval."""


def _option(default: Any, *, stages: tuple[str, ...], flag: str, help: str) -> Any:
    return field(default=default, metadata={"stages": stages, "flag": flag, "help": help})


@dataclass(frozen=True)
class RunOptions:
    """Options of one run (see the module docstring). ``stages`` in each field's metadata lists the stages
    whose results it changes; an empty tuple marks an execution-only option."""

    n_boot: int = _option(
        N_BOOT,
        stages=("reliability",),
        flag="--n-boot",
        help=f"alpha 的 bootstrap 重抽样次数 (bootstrap replicates for alpha's interval; default {N_BOOT})",
    )
    small_n: int | None = _option(
        None,
        stages=("compare", "describe", "score"),
        flag="--small-n",
        help="小样本提示阈值: n (加权时为有效样本量) 低于此值的组标记 small "
        f"(default: analysis.yaml small_cells.mark_below, 未设定时 {SMALL_N})",
    )
    min_n: int | None = _option(
        None,
        stages=("compare", "describe", "score"),
        flag="--min-n",
        help="不予报告阈值: n (加权时为有效样本量) 低于此值的组不报告估计值 "
        f"(default: analysis.yaml small_cells.suppress_below, 未设定时 {MIN_N})",
    )
    strict_codes: bool = _option(
        False,
        stages=("ingest",),
        flag="--strict-codes",
        help="遇到码本之外的选项即报错 (default: 记为 −9，由 clean 剔除)",
    )
    korn_graubard: bool = _option(
        False,
        stages=("describe",),
        flag="--korn-graubard",
        help='描述统计的比例区间用 Korn–Graubard (svyciprop method="beta") (default: logit)',
    )
    workers: int | None = _option(
        None,
        stages=(),
        flag="--workers",
        help="进程数: 1 = 单进程, 2 = 两个进程 (default: 自动, 两核且数据量大时用两个进程); 结果相同",
    )

    def __post_init__(self) -> None:
        problems = []
        if self.n_boot < 0:
            problems.append(f"n_boot must be >= 0, got {self.n_boot}")
        if self.min_n is not None and self.min_n < 0:
            problems.append(f"need min_n >= 0, got {self.min_n}")
        if self.min_n is not None and self.small_n is not None and self.small_n < self.min_n:
            problems.append(f"need min_n <= small_n, got min_n={self.min_n}, small_n={self.small_n}")
        if self.workers is not None and self.workers < 1:
            problems.append(f"workers must be >= 1, got {self.workers}")
        if problems:
            raise ConfigError([f"run options: {p}" for p in problems])

    def small_cells(self, config: Any) -> tuple[int, int]:
        """(small_n, min_n): these options where given, else ``analysis.yaml: small_cells`` of ``config``
        (``mark_below``, ``suppress_below``)."""
        cells = config.analysis.small_cells
        small = self.small_n if self.small_n is not None else cells.mark_below
        minimum = self.min_n if self.min_n is not None else cells.suppress_below
        if small < minimum:
            raise ConfigError([f"run options: need min_n <= small_n, got min_n={minimum}, small_n={small}"])
        return small, minimum

    def affecting(self, stage: str) -> dict[str, Any]:
        """The options that change ``stage``'s results, by name (what its reuse key hashes)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if stage in f.metadata["stages"]}


def option_fields() -> tuple:
    """The fields of :class:`RunOptions` (name, default, and ``metadata``: stages, flag, help)."""
    return fields(RunOptions)
