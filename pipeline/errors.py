"""Errors that reach a user: each names where the problem is, so nobody needs a traceback.

``FazhiError`` is the base; the CLI catches it, prints ``str(error)`` and exits with ``exit_code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """Where in an input a problem sits. Every field is optional; ``str()`` joins the ones given."""

    file: str | Path | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(Path(self.file).name if isinstance(self.file, Path) else str(self.file))
        if self.sheet is not None:
            parts.append(f"工作表 {self.sheet}")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.column is not None:
            parts.append(f"列 {self.column}")
        return ", ".join(parts)


class FazhiError(Exception):
    """Base of all errors meant for a user rather than a developer."""

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None):
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location and str(location) else message)


class DataError(FazhiError, ValueError):
    """Input data cannot be used as given (wrong column, unknown code, impossible value).

    Also a ``ValueError`` so that library callers may catch it the usual way.
    """


class ConfigError(FazhiError):
    """The configuration in ``questionnaires/`` is invalid; ``problems`` lists every one found."""

    exit_code = 1

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(
            f"配置有 {n} 处问题 ({n} problem(s) in the configuration):\n" + "\n".join(self.problems)
        )


class ConvergenceError(FazhiError, RuntimeError):
    """An iterative estimator did not reach its tolerance; the message says how far it got."""
