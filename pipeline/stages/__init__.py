"""The pipeline's stages, in run order. A stage plugs in by adding its module here and its folder to
:data:`pipeline.paths.STAGE_FOLDERS`; ``fazhi-eval run`` runs those whose module exists."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from pipeline.paths import STAGE_FOLDERS


def stage_module(name: str) -> ModuleType:
    return importlib.import_module(f"pipeline.stages.{name}")


def available_stages() -> list[str]:
    """Stage names, in order, whose module exists in this installation."""
    return [n for n in STAGE_FOLDERS if importlib.util.find_spec(f"pipeline.stages.{n}") is not None]
