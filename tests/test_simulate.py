"""The simulator writes a realistic, deterministic raw set whose planted truth can be recovered."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import CONFIG_DIR

import pipeline.simulate as simulate
from pipeline.clean.rules import speeder_threshold
from pipeline.config import load_config
from pipeline.config.codebook import Codebook
from pipeline.config.models import Questionnaire, Units
from pipeline.errors import ConfigError
from pipeline.simulate import simulate_raw
from pipeline.simulate.latent import draw_latent
from pipeline.simulate.public import simulate_public
from pipeline.simulate.responses import SKIPPED, Responses
from pipeline.simulate.staff import simulate_staff
from pipeline.simulate.wjx_writer import export_columns, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
PLANT_SAMPLE = ROOT / "pipeline" / "simulate" / "plant_sample.yaml"
SMALL = 0.1
RATE_TOL = 0.012  # absolute tolerance on injected-problem rates at scale 1
SHIFT_RATIO = (0.5, 1.5)  # observed / expected standardized shift of a planted effect


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG_DIR)


@pytest.fixture(scope="module")
def raw(config, tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    simulate_raw(config, out, seed=7, scale=SMALL, plant=PLANT_SAMPLE)
    return out


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read(path: Path, **kw) -> pd.DataFrame:
    return pd.read_excel(path, engine="calamine", **kw)


def _one(folder: Path, pattern: str) -> Path:
    (path,) = sorted(folder.glob(pattern))
    return path


def test_same_seed_gives_identical_bytes(config, raw, tmp_path):
    simulate_raw(config, tmp_path, seed=7, scale=SMALL, plant=PLANT_SAMPLE)
    assert _digests(tmp_path) == _digests(raw)


def test_different_seed_gives_different_answers(config, raw, tmp_path):
    simulate_raw(config, tmp_path, seed=8, scale=SMALL, plant=PLANT_SAMPLE)
    a, b = _digests(raw), _digests(tmp_path)
    xlsx_a = {v for k, v in a.items() if k.endswith(".xlsx")}
    xlsx_b = {v for k, v in b.items() if k.endswith(".xlsx")}
    assert len(xlsx_a) == 10 and xlsx_a.isdisjoint(xlsx_b)


def test_writes_every_source_folder_and_truth(raw):
    assert len(list((raw / "public").glob("*_按文本_*.xlsx"))) == 1
    assert (raw / "public" / "纸质问卷录入.xlsx").exists()
    assert len(list((raw / "staff").glob("*_按序号_*.xlsx"))) == 1
    assert len(list((raw / "casefiles").glob("评查组*_案卷评查表.xlsx"))) == 4
    assert len(list((raw / "checkpoints").glob("*.xlsx"))) == 3
    truth = json.loads((raw / "truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == 7 and len(truth["plants"]) == 27
    assert yaml.safe_load((raw / "population_truth.yaml").read_text(encoding="utf-8"))["variables"]


def test_text_mode_cells_are_codebook_option_texts(config, raw):
    cb = config.codebook("public")
    truth = json.loads((raw / "truth.json").read_text(encoding="utf-8"))["public"]
    broken = {(m["序号"], m["column"]) for m in truth["malformed_cells_text_mode"]}
    df = _read(_one(raw / "public", "*_按文本_*.xlsx"), dtype=str)
    assert list(df.columns[:6]) == ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
    for item in cb.items:
        if item.type not in ("matrix", "single"):
            continue
        head = f"{item.number}({item.row_text})" if item.type == "matrix" else None
        col = head if head in df.columns else next(c for c in df.columns if c.startswith(f"{item.number}、"))
        allowed = set(item.code_by_text) | {"(跳过)"}
        bad = [
            (s, v)
            for s, v in zip(df["序号"].astype(int), df[col], strict=True)
            if isinstance(v, str) and v not in allowed and (s, item.id) not in broken
        ]
        assert not bad, (item.id, bad[:3])
    assert df["所用时间"].str.fullmatch(r"\d+秒|abc").all()
    assert df["提交答卷时间"].str.fullmatch(r"2023/\d{1,2}/\d{1,2} \d\d:\d\d:\d\d").all()
    assert df["来自IP"].str.fullmatch(r"[\d.]+\(.+-.+\)").all()


def test_code_mode_uses_codes_and_minus_three_for_the_skipped_block(config, raw):
    cb = config.codebook("staff")
    df = _read(_one(raw / "staff", "*_按序号_*.xlsx"))
    rule = cb.questionnaire.skip_logic[0]
    block = cb.block_items(rule)
    for item in cb.items:
        if item.type in ("matrix", "single"):
            head = f"第{item.number}题({item.row_text})" if item.type == "matrix" else None
            col = (
                head
                if head in df.columns
                else next(c for c in df.columns if c.startswith(f"{item.number}、"))
            )
            vals = set(pd.to_numeric(df[col]).dropna().astype(int))
            assert vals <= item.valid_codes | {SKIPPED}, (item.id, vals - item.valid_codes)
    first = df[f"第{block[0].number}题({block[0].row_text})"]
    assert (first == SKIPPED).mean() > 0.2
    post = df[next(c for c in df.columns if c.startswith(f"{cb.item(rule.show_if_any[0].item).number}、"))]
    cert = df[next(c for c in df.columns if c.startswith(f"{cb.item(rule.show_if_any[1].item).number}、"))]
    shown = post.isin(rule.show_if_any[0].in_) | cert.isin(rule.show_if_any[1].in_)
    assert not (shown & (first == SKIPPED)).any()
    truth = json.loads((raw / "truth.json").read_text(encoding="utf-8"))["staff"]
    violators = np.array(truth["skip_violations"])
    assert len(violators) >= 2
    answered_hidden = df.loc[~shown & (first != SKIPPED), "序号"].astype(int)
    assert set(answered_hidden) == set(violators.tolist())


def test_injected_problem_rates_at_scale_one(config):
    rng = np.random.default_rng(3)
    latent = draw_latent(config.indicators, config.units, rng, [])
    pub = simulate_public(config, latent, rng, 1.0)
    t, n = pub.truth, pub.truth["n_records"]
    assert 2700 <= t["n_records"] <= 3100
    assert abs(len(t["speeders"]) / n - 0.03) < RATE_TOL
    assert abs(len(t["straight_liners"]) / n - 0.02) < RATE_TOL
    assert abs(len(t["duplicates"]) / n - 0.01) < RATE_TOL
    assert abs(len(t["attention_fail_planted"]) / n - 0.03) < RATE_TOL
    assert min(t["district_sizes"].values()) >= 200
    online = pub.online
    speed = np.array(t["speeders"]) - 1
    limit, _ = speeder_threshold(pd.Series(online.meta["duration"]), config.cleaning)  # the clean stage's cut
    assert (online.meta["duration"][speed] < limit).all()
    for d in t["duplicates"]:
        a, b = d["序号"] - 1, d["duplicate_of"] - 1
        assert online.meta["ip"][a] == online.meta["ip"][b]
        gap = (online.meta["submitted"][a] - online.meta["submitted"][b]).astype(int)
        assert 0 < gap <= config.cleaning.duplicate.window_minutes * 60
        assert all(online.codes[i][a] == online.codes[i][b] for i in online.codes)
    assert 0.025 <= pub.paper.n / (pub.paper.n + n) <= 0.075
    assert t["pii"]


def test_online_sample_is_younger_and_more_educated_than_the_population(raw):
    pop = yaml.safe_load((raw / "population_truth.yaml").read_text(encoding="utf-8"))["variables"]
    age = pop["age_group"]
    assert age["online_sample_share"][0] > age["population_share"][0] + 0.05
    assert age["online_sample_share"][-1] < age["population_share"][-1]


def _public_mean_z(pub, district_code: int, items: list[str]) -> float:
    """Mean over items of the planted district's mean code, standardized by each item's pooled SD."""
    cb = pub.online.codebook
    d = pub.online.codes[cb.by_variable("district").id]
    vals = []
    for i in items:
        c = pub.online.codes[i].astype(float)
        c[(c < 1) | (c > 5)] = np.nan
        if cb.item(i).reverse:
            c = 6 - c
        vals.append(np.nanmean(c[d == district_code]) / np.nanstd(c))
    return float(np.mean(vals))


def test_planted_problem_lowers_the_planted_units_answers(config, tmp_path):
    cb = config.codebook("public")
    district = cb.by_variable("district").options[0]
    affected = [it.id for it in cb.items if any(p.startswith("9.4.") for p in it.feeds)]
    spec = tmp_path / "plant.yaml"
    effect = -2.0
    spec.write_text(
        f"- {{indicator: '9.4', units: ['{district.unit}'], effect: {effect}}}\n", encoding="utf-8"
    )
    plants = simulate.load_plants(spec, config.indicators, config.units)
    runs = {}
    for name, pl in (("plain", []), ("planted", plants)):
        rng = np.random.default_rng(11)
        latent = draw_latent(config.indicators, config.units, rng, pl)
        runs[name] = (latent, simulate_public(config, latent, rng, 1.0))
    lat0, lat1 = runs["plain"][0], runs["planted"][0]
    diff = lat1.quality - lat0.quality
    assert diff[lat1.unit_index(district.unit), lat1.item_index("9.4")] == pytest.approx(effect)
    assert np.count_nonzero(diff) == 1
    shift = _public_mean_z(runs["planted"][1], district.code, affected) - _public_mean_z(
        runs["plain"][1], district.code, affected
    )
    expected = 0.45 * (1 - 0.25) * effect  # loading × district weight × effect (likert.py, public.py)
    assert SHIFT_RATIO[0] <= shift / expected <= SHIFT_RATIO[1]
    others = runs["planted"][1].online.codes["D_district"] != district.code
    assert (
        runs["planted"][1].online.codes[affected[0]][others]
        == runs["plain"][1].online.codes[affected[0]][others]
    ).all()


def test_planted_staff_items_drop_for_the_planted_unit(config):
    unit = config.units.units[0].code
    plant = [simulate.latent.Plant("9.1", (unit,), -2.0)]
    means = []
    for pl in ([], plant):
        rng = np.random.default_rng(5)
        latent = draw_latent(config.indicators, config.units, rng, pl)
        staff, _ = simulate_staff(config, latent, rng, 1.0)
        cb = staff.codebook
        u = staff.codes[cb.by_variable("unit").id] == cb.by_variable("unit").options[0].code
        items = [it for it in cb.items if any(p.startswith("9.1.") for p in it.feeds)]
        vals = []
        for it in items:
            c = staff.codes[it.id][u].astype(float)
            c[(c < 1) | (c > 5)] = np.nan
            vals.append(np.nanmean(6 - c if it.reverse else c))
        means.append(np.mean(vals))
    assert means[1] < means[0] - 0.4


def test_unknown_plant_indicator_is_reported_by_name(config, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("- {indicator: '99.9', units: all, effect: -1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="99.9"):
        simulate_raw(config, tmp_path / "out", seed=1, scale=SMALL, plant=spec)


def test_large_public_sample_is_written_as_csv_with_bom(config, tmp_path, monkeypatch):
    monkeypatch.setattr(simulate, "CSV_THRESHOLD", 100)
    written = simulate_raw(config, tmp_path, seed=2, scale=SMALL)
    (csv,) = [p for p in written if p.suffix == ".csv" and p.parent.name == "public"]
    assert csv.read_bytes()[:3] == b"\xef\xbb\xbf"
    frame = pd.read_csv(csv, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns[:3]) == ["序号", "提交答卷时间", "所用时间"]
    assert frame["所用时间"].str.endswith("秒").mean() > 0.99


def test_casefile_sheets_have_title_rows_double_scoring_and_vetoes(config, raw):
    frames = []
    for path in sorted((raw / "casefiles").glob("*.xlsx")):
        cells = _read(path, header=None, dtype=str)
        head = cells.index[cells.iloc[:, 0] == "案卷编号"][0]
        assert head in (1, 2)
        frame = cells.iloc[head + 1 :].set_axis(cells.iloc[head].tolist(), axis=1)
        frames.append(frame)
    df = pd.concat(frames)
    n_files = df["案卷编号"].nunique()
    assert 150 <= n_files <= 260
    double = (df.groupby("案卷编号").size() == 2).mean()
    assert 0.1 <= double <= 0.3
    veto_cols = [c for c in df.columns if str(c).startswith("V0")]
    assert set(df[veto_cols].stack().unique()) <= {"是", "否"}
    assert any(str(c).startswith("B2 ") for c in df.columns)
    scores = pd.to_numeric(df["得分"])
    assert 75 <= scores.mean() <= 90


def test_checkpoint_rows_are_unit_by_applicable_point(config, raw):
    for path in sorted((raw / "checkpoints").glob("*.xlsx")):
        df = _read(path, dtype=str)
        assert list(df.columns[:5]) == ["单位", "观测点编号", "观测点", "评估结果", "备注"]
        assert set(df["评估结果"].str.strip()) <= set(config.indicators.checkpoint_scores)
        assert not df.duplicated(["单位", "观测点编号"]).any()


def test_writer_on_a_tiny_questionnaire_covers_both_modes(tmp_path):
    q = Questionnaire.model_validate(
        {
            "instrument": "public",
            "title": "测试",
            "questions": [
                {
                    "number": 1,
                    "id": "A",
                    "type": "single",
                    "text": "性别",
                    "options": [{"code": 1, "text": "男"}, {"code": 2, "text": "女"}],
                },
                {
                    "number": 2,
                    "id": "B",
                    "type": "multiple",
                    "text": "爱好",
                    "options": [{"code": 1, "text": "运动"}, {"code": 2, "text": "其他", "other": True}],
                },
                {
                    "number": 3,
                    "type": "matrix",
                    "text": "评价",
                    "options": [{"code": 1, "text": "差"}, {"code": 2, "text": "好"}],
                    "rows": [{"id": "M1", "text": "甲(乙)"}],
                },
                {"number": 4, "id": "T", "type": "text", "text": "建议"},
            ],
        }
    )
    units = Units.model_validate(
        {
            "unit_types": {"district": "县区"},
            "units": [
                {"code": "1", "name": "甲区", "type": "district", "headcount": 1, "enforcement": False}
            ],
        }
    )
    cb = Codebook.from_config(q, units)
    r = Responses(cb, 3)
    r.codes = {"A": np.array([1, 2, -1]), "M1": np.array([2, SKIPPED, 1])}
    r.multi = {"B": np.array([[1, 1], [0, 0], [SKIPPED, SKIPPED]], dtype=np.int8)}
    r.other = {"B": np.array(["钓鱼", "", ""], dtype=object)}
    r.texts = {"T": np.array(["好", "", ""], dtype=object)}
    r.meta = {
        "submitted": np.array(["2023-07-12T10:23:45"] * 3, dtype="datetime64[s]"),
        "duration": np.array([125, 30, 61]),
        "channel": np.array(["微信"] * 3, dtype=object),
        "channel_detail": np.array(["N/A"] * 3, dtype=object),
        "ip": np.array(["223.104.1.2(甘肃-兰州)"] * 3, dtype=object),
    }
    text = dict(export_columns(r, "text", matrix_style="di", trailing_space=frozenset({1})))
    assert list(text["1、性别 "]) == ["男", "女", None]
    assert list(text["2、爱好"]) == ["运动┋其他〖钓鱼〗", None, "(跳过)"]
    assert list(text["第3题(甲(乙))"]) == ["好", "(跳过)", "差"]
    assert list(text["4、建议"]) == ["好", "(空)", "(空)"]
    assert text["提交答卷时间"][0] == "2023/7/12 10:23:45" and text["所用时间"][0] == "125秒"
    code = dict(export_columns(r, "code"))
    assert list(code["第2题(其他)"]) == [1, 0, SKIPPED]
    assert list(code["3(甲(乙))"]) == [2, SKIPPED, 1]
    path = write_xlsx(list(code.items()), tmp_path / "x.xlsx")
    assert list(_read(path).columns)[:2] == ["序号", "提交答卷时间"]
