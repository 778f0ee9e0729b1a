"""A :class:`~pipeline.ingest.draft.Draft` as YAML text: the questionnaire file and a ``cleaning.yaml`` to start from.

The text is written line by line (not through a YAML dumper) so that the ``# TODO`` comments for the person who
finishes the draft sit where the decision is made; every scalar goes through :func:`scalar`, which quotes it when
plain YAML would read it as something else, so the result always parses back to the values in the draft.
"""

from __future__ import annotations

import json

import yaml

from pipeline.ingest.draft import Draft, DraftOption, DraftQuestion

_SPECIAL = set(":#{}[],&*!|>'\"%@`?")


def scalar(value: object) -> str:
    """One YAML scalar for a flow or block context: numbers and booleans as such, strings plain when that reads
    back as the same string, else double-quoted (JSON escapes are valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    s = str(value)
    plain = (
        s
        and s == s.strip()
        and not (set(s) & _SPECIAL)
        and not s.startswith(("-", "~"))
        and "\n" not in s
        and yaml.safe_load(s) == s
    )
    return s if plain else json.dumps(s, ensure_ascii=False)


def _flow(pairs: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in pairs.items()) + "}"


def _option(o: DraftOption) -> str:
    pairs: dict[str, object] = {"code": o.code, "text": o.text}
    for flag in ("missing", "other", "exclusive"):
        if getattr(o, flag):
            pairs[flag] = True
    return _flow(pairs)


def _codes(codes: tuple[int, ...] | list[int]) -> str:
    return "[" + ", ".join(str(c) for c in codes) + "]"


def _todo(lines: list[str], indent: str, notes: tuple[str, ...] | list[str], where: str = "") -> None:
    for note in notes:
        lines.append(f"{indent}# TODO {where}{note}")


def _question(q: DraftQuestion) -> list[str]:
    lines: list[str] = []
    _todo(lines, "  ", q.notes, f"第{q.number}题: ")
    lines.append(f"  - number: {q.number}")
    if q.id is not None:
        lines.append(f"    id: {q.id}")
    lines.append(f"    type: {q.type}")
    lines.append(f"    text: {scalar(q.text)}")
    if q.variable:
        lines.append(f"    variable: {q.variable}")
    if q.response_set:
        lines.append(f"    response_set: {q.response_set}")
    elif q.options:
        lines.append("    options:")
        lines += [f"      - {_option(o)}" for o in q.options]
    if q.max_choices is not None:
        lines.append(f"    max_choices: {q.max_choices}")
    if q.rows:
        lines.append("    rows:")
        lines += [f"      - {_flow({'id': r.id, 'text': r.text, 'reverse': False})}" for r in q.rows]
    return lines


def questionnaire_yaml(draft: Draft) -> str:
    """The questionnaire file (``public.yaml``/``staff.yaml`` schema) of a draft, with ``# TODO`` comments."""
    lines = [
        f"# 问卷配置草稿 (draft): 由 fazhi-eval codebook draft 从 {', '.join(draft.sources)} 生成。",
        "# 逐条处理 '# TODO' 后删去该注释，再运行 fazhi-eval validate。题号、题干、选项文字须与问卷星中完全一致。",
        f"instrument: {draft.instrument}",
        f"title: {scalar(draft.title)}  # TODO 核对问卷标题 (取自导出文件名)",
        "",
    ]
    if draft.response_sets:
        lines.append("response_sets:")
        for name, rs in draft.response_sets.items():
            lines.append(f"  {name}:")
            lines.append("    ordered: true")
            lines.append("    options:")
            lines += [f"      - {_option(o)}" for o in rs.options]
            if rs.likert.family == "frequency":
                lines.append("    # TODO 频率量表：'经常' 一端是否为有利的一端？不是则把分数倒过来")
            lines.append("    scoring:")
            lines.append("      scores: " + _flow({str(c): s for c, s in rs.scores.items()}))
            if rs.satisfied:
                lines.append(f"      satisfied: {_codes(rs.satisfied)}")
            if rs.basic_satisfied:
                lines.append(f"      basic_satisfied: {_codes(rs.basic_satisfied)}")
    else:
        lines.append("response_sets: {}")
    lines += [
        "",
        "# TODO 哪些题是人口学题 (variable)、哪些题为指标观测点提供依据 (feeds: [观测点 id]) 请逐题确定",
        "",
    ]
    lines.append("questions:")
    for q in draft.questions:
        lines += _question(q)
    lines += [
        "",
        "# TODO 量表 (scales): 把同一维度的矩阵行归为一组，如 - {id: S_law, name: 依法行政, items: [Q9_1, Q9_2]}",
        "scales: []",
    ]
    return "\n".join(lines) + "\n"


def cleaning_yaml(draft: Draft) -> str:
    """A ``cleaning.yaml`` to start from: rules whose input the export lacks are ``off``, with the reason."""
    f = draft.facts
    lines = [
        "# 数据清洗规则草稿 (draft): 由 fazhi-eval codebook draft 生成；模型见 pipeline/config/cleaning.py。",
        "# action: exclude = 剔除；flag = 只标记；off = 不检查。关掉的规则注明了原因：导出中有了相应的列后再打开。",
        "",
        "duplicate:",
        "  action: exclude",
        "  by_respondent: true",
    ]
    if f.has_ip and f.has_submit_time:
        lines.append("  by_ip: true")
    else:
        lines.append("  by_ip: false            # 导出中 来自IP 或 提交答卷时间 为空：无法按 IP 与时间判重")
    lines.append("")
    if f.has_ip and f.has_submit_time:
        lines += ["ip_burst:", "  action: flag"]
    else:
        lines += ["ip_burst:", "  action: 'off'           # 导出中 来自IP 或 提交答卷时间 为空"]
    lines.append("")
    if f.has_duration:
        lines += ["speeder:", "  action: exclude", "  min_seconds: 60         # TODO 按问卷长度核对"]
    else:
        lines += ["speeder:", "  action: 'off'           # 导出中 所用时间 为空：无法判断作答过快"]
    lines.append("")
    if draft.has_matrix:
        n_rows = sum(len(q.rows) for q in draft.questions if q.type == "matrix")
        lines += [
            "straightline:",
            "  action: exclude",
            f"  min_items: {min(10, n_rows)}            # TODO 矩阵共 {n_rows} 行",
            "  require_reverse: true   # TODO 须在问卷中标出反向题 (reverse: true)，否则改为 false",
        ]
    else:
        lines += ["straightline:", "  action: 'off'           # 问卷没有矩阵量表题"]
    lines += [
        "",
        "attention:",
        "  action: 'off'           # 问卷未设注意力检验题 (attention_check)；TODO 若有，在问卷中写出后改为 exclude",
        "",
        "invalid_code:",
        "  action: exclude",
        "",
        "missing:",
        "  action: exclude",
        "  max_missing_share: 0.3",
        "",
        "location:",
        "  province: 甘肃          # TODO 调查所在省份",
    ]
    if f.has_ip:
        lines.append("  outside_province: flag")
    else:
        lines.append("  outside_province: 'off' # 导出中 来自IP 为空：无法判断 IP 属地")
    variables = draft.variables()
    if "district" in variables:
        lines.append(f"  no_district: exclude    # 县区题 {variables['district']} (TODO 核对)")
    else:
        lines.append("  no_district: 'off'      # 未识别出县区题 (variable: district)")
    if "unit" in variables:
        lines.append(f"  unknown_unit: exclude   # 单位题 {variables['unit']} (TODO 核对)")
    else:
        lines.append("  unknown_unit: 'off'     # 未识别出单位题 (variable: unit)")
    lines.append("")
    if f.has_skipped:
        lines += [
            "skip_logic:",
            "  action: exclude         # TODO 导出中有 (跳过) 的题：在问卷中写出 skip_logic",
        ]
    else:
        lines += ["skip_logic:", "  action: 'off'           # 导出中没有被跳过的题 (问卷无跳题逻辑)"]
    lines += ["", "circuit_breaker:", "  max_excluded_share: 0.3", "  min_file_records: 50"]
    blank = [
        name
        for name, has in (
            ("所用时间", f.has_duration),
            ("提交答卷时间", f.has_submit_time),
            ("来自IP", f.has_ip),
        )
        if not has
    ]
    if blank:
        lines.append(f"  meta_columns: 'off'     # 导出中 {'、'.join(blank)} 为空：不检查问卷星的元数据列")
    else:
        lines.append("  meta_columns: check")
    return "\n".join(lines) + "\n"
