"""The evaluators' checkpoint rows, passed through with their free-text ``note`` masked again.

:func:`pipeline.ingest.privacy.mask_series` is idempotent (ingest masks the notes first): masking here makes sure no
phone, ID-card, e-mail or IP leaves the clean stage even if an upstream table missed one.
"""

from __future__ import annotations

import pandas as pd

from pipeline.ingest.privacy import mask_series


def masked_checkpoints(checkpoints: pd.DataFrame) -> pd.DataFrame:
    """The 01_ingest ``checkpoints`` table with ``note`` (when present) masked; every other column as given."""
    if "note" not in checkpoints.columns:
        return checkpoints
    return checkpoints.assign(note=mask_series(checkpoints["note"]))
