"""docs/questionnaire-guide.md cannot drift from the code: every YAML block of the guide is checked here.

Each ```yaml block starts with a marker comment:

``# 完整示例: <file>``
    a whole configuration file. Validated by its model; a questionnaire also by ``load_config`` on a folder
    holding only it (the guide says one questionnaire is a valid configuration).
``# 完整示例: <file> · 组: <name>``
    one file of a group: the files of a group are written to one folder and must pass ``load_config`` together.
``# 片段: <file>``
    part of a file: its top-level keys are laid over a minimal document of that file, which must then validate
    (a questionnaire through ``load_config``, so the cross-file checks hold too).

The guide's sample ``validate`` output and error message are checked against what the code prints.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import load_config
from pipeline.config.checks import summary
from pipeline.config.loader import FILES, QUESTIONNAIRE_FILES
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "questionnaire-guide.md"

_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)
_MARKER = re.compile(r"^# (完整示例|片段): (\S+\.yaml)(?: · 组: (\S+))?\s*$")

#: The smallest valid document of each file a fragment is laid over.
_QUESTION = {"id": "X1", "type": "text", "text": "意见建议", "required": False}
BASES: dict[str, dict[str, Any]] = {
    "public.yaml": {"instrument": "public", "title": "t", "questions": [_QUESTION]},
    "staff.yaml": {"instrument": "staff", "title": "t", "questions": [_QUESTION]},
    "cleaning.yaml": {},
    "analysis.yaml": {},
}


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def blocks() -> list[tuple[str, str, str | None, str]]:
    """(kind, file, group, text) of every ```yaml block of the guide."""
    out = []
    for text in _BLOCK.findall(guide_text()):
        first = text.splitlines()[0]
        m = _MARKER.match(first)
        assert m, f"a yaml block of the guide lacks its marker comment: {first!r}"
        out.append((m.group(1), m.group(2), m.group(3), text))
    return out


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def load(folder: Path):
    try:
        return load_config(folder)
    except ConfigError as exc:  # show every problem, not just that there were some
        pytest.fail("\n".join(exc.problems))


def _ids(kind: str):
    chosen = [b for b in blocks() if b[0] == kind and b[2] is None]
    return pytest.mark.parametrize(
        "block", chosen, ids=[f"{b[1]}-{i}" for i, b in enumerate(chosen, start=1)]
    )


def test_the_guide_has_checked_examples_of_every_file() -> None:
    found = blocks()
    assert len(found) >= 15
    complete = {file for kind, file, _, _ in found if kind == "完整示例"}
    assert complete == set(FILES) - {"staff.yaml"}  # staff.yaml has the same model as public.yaml
    assert any(kind == "片段" and file == "staff.yaml" for kind, file, _, _ in found)


@_ids("完整示例")
def test_complete_example_validates(block, tmp_path: Path) -> None:
    _, file, _, text = block
    data = yaml.safe_load(text)
    model = FILES[file].model_validate(data)
    assert set(model.model_dump(by_alias=True, exclude_unset=True)) == set(
        data
    )  # every key of the example taken
    if file in QUESTIONNAIRE_FILES:
        assert load(write(tmp_path / "config", {file: text})).instruments == (file.removesuffix(".yaml"),)


@pytest.mark.parametrize("group", sorted({b[2] for b in blocks() if b[2]}))
def test_group_of_examples_validates_together(group: str, tmp_path: Path) -> None:
    files: dict[str, str] = {}
    for _, file, g, text in blocks():
        if g == group:
            assert file not in files, f"group {group} gives {file} twice"
            files[file] = text
    config = load(write(tmp_path / "config", files))
    assert config.instruments


@_ids("片段")
def test_fragment_validates_inside_a_minimal_file(block, tmp_path: Path) -> None:
    _, file, _, text = block
    data = {**BASES[file], **yaml.safe_load(text)}
    model = FILES[file].model_validate(data)
    assert set(model.model_dump(by_alias=True, exclude_unset=True)) == set(
        data
    )  # every key of the fragment taken
    if file in QUESTIONNAIRE_FILES:
        config = load(write(tmp_path / "config", {file: yaml.safe_dump(data, allow_unicode=True)}))
        assert config.instruments == (file.removesuffix(".yaml"),)


def _group_folder(group: str, tmp_path: Path) -> Path:
    return write(tmp_path / "我的配置", {f: t for _, f, g, t in blocks() if g == group})


def test_the_sample_validate_output_is_what_validate_prints(tmp_path: Path) -> None:
    """The walk-through's validate screen, line by line (the digest and lines shortened with (...) aside)."""
    folder = _group_folder("草稿", tmp_path)
    printed = summary(load(folder)).replace(str(folder), "我的配置").splitlines()
    guide = guide_text()
    start = guide.index("配置有效 (configuration valid): 我的配置")
    shown = guide[start : guide.index("```", start)].splitlines()
    assert len(shown) > 8
    for line in shown:
        if "sha256" in line:
            continue
        if line.endswith("(...)"):
            assert any(p.startswith(line.removesuffix("(...)")) for p in printed), line
        else:
            assert line in printed, line


def test_the_sample_error_message_is_what_validate_reports(tmp_path: Path) -> None:
    """Section 1's error: the minimal questionnaire with its matrix naming an unknown response set."""
    minimal = next(t for k, f, g, t in blocks() if k == "完整示例" and f == "public.yaml" and g is None)
    folder = write(
        tmp_path / "config", {"public.yaml": minimal.replace("response_set: SAT5", "response_set: SAT7")}
    )
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    guide = guide_text()
    assert len(info.value.problems) == 1
    assert info.value.problems[0] in guide
    assert str(info.value).splitlines()[0] in guide


def test_readme_links_the_guide() -> None:
    assert "docs/questionnaire-guide.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_complete_questionnaire_and_its_analysis_leave_nothing_to_warn_about(tmp_path: Path) -> None:
    """Section 2.10 says switching off unit_vs_peers and adjusted silences the walk-through's two warnings."""
    config = load(_group_folder("完整问卷", tmp_path))
    assert config.warnings == ()
    plan = config.plan("public")
    assert plan.weighting == "none" and plan.groupings == ("gender", "age_group", "contact")
    assert plan.categorical == ("satisfied_P25", "aware_P25", "contact")
