"""Was raw/ simulated from the configuration in questionnaires/? (``make check-sample``; ``make run`` calls it)

The simulator records the digest of the configuration it read in ``raw/truth.json``. After an edit of
``questionnaires/`` (an item reworded, a question added) the committed sample no longer matches it; this prints a
warning for people and never fails: raw data without ``truth.json`` (real exports) is not checked, and the tests
never compare ``raw/`` with the live configuration.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipeline import paths
from pipeline.config.loader import config_digest


def stale_sample_warning(
    raw: Path = paths.DEFAULT_RAW, config_dir: Path = paths.DEFAULT_CONFIG
) -> str | None:
    """A warning when ``raw/truth.json`` names another configuration digest than ``config_dir`` has, else None."""
    truth = Path(raw) / paths.RAW_TRUTH
    try:
        recorded = json.loads(truth.read_text(encoding="utf-8")).get("config_digest")
    except (OSError, ValueError, AttributeError):
        return None
    if not recorded or not Path(config_dir).is_dir() or recorded == config_digest(Path(config_dir)):
        return None
    return (
        f"提醒 (warning): {truth} 记录的配置与 {config_dir}/ 不一致，样本数据是按修改前的问卷生成的 "
        f"(the sample in {raw}/ was simulated from another configuration); "
        "重新生成请运行 `make simulate-sample` 并提交 raw/ (regenerate it and commit raw/)"
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.sample_check [RAW [CONFIG]]``: print the warning, if any; exit 0 either way."""
    args = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    message = stale_sample_warning(*args[:2])
    if message:
        print(message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
