"""The evaluation's knowledge as validated data: questionnaires, case-file standard, indicators, units."""

from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.config.loader import Config, load_config

__all__ = ["Codebook", "CodebookItem", "Config", "load_config"]
