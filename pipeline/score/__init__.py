"""The core of stage 07_score: every unit scored on the indicator system, and ranked within its type.

:mod:`.system` lays the indicator tree out and says which source is meant to reach which unit; :mod:`.evidence`
scores each point per unit and source (``point_sources``); :mod:`.aggregate` fuses the sources of a point and
rolls points up to items, aspects, blocks and the overall score, renormalised over what has data, with
coverage; :mod:`.ranking` ranks the units with intervals and tiers; :mod:`.workbook` lays out ``scores.xlsx``;
:func:`.tables.score_tables` runs them.
"""

from pipeline.score.tables import Inputs, ScoreTables, score_tables

__all__ = ["Inputs", "ScoreTables", "score_tables"]
