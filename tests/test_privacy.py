"""Pseudonyms, masking of free text and 来自IP splitting (pipeline.ingest.privacy)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.ingest import privacy


def test_pseudonym_is_keyed_deterministic_and_treats_integral_floats_as_ints():
    k1, k2 = b"k" * 32, b"j" * 32
    assert (
        privacy.pseudonym(3, k1)
        == privacy.pseudonym(3.0, k1)
        == privacy.pseudonym("3", k1)
        == privacy.pseudonym("3.0", k1)
    )
    assert privacy.pseudonym(3, k1) != privacy.pseudonym(3, k2)
    assert len(privacy.pseudonym("x", k1)) == privacy.PSEUDONYM_HEX
    assert privacy.pseudonym(None, k1) == privacy.pseudonym(float("nan"), k1) == ""


def test_pseudonym_series_equals_elementwise():
    key = b"k" * 32
    s = pd.Series([1.0, 2.0, 1.0, None], dtype=object)
    assert privacy.pseudonym_series(s, key).tolist() == [privacy.pseudonym(v, key) for v in s]


def test_key_comes_from_env_var_else_from_config_digest(monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    assert privacy.project_key("abc") == privacy.project_key("abc") != privacy.project_key("abd")
    default = privacy.project_key("abc")
    monkeypatch.setenv(privacy.KEY_ENV, "secret")
    assert privacy.project_key("abc") == privacy.project_key("abd") != default


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13912345678", "电话[电话]"),
        ("手机 139-1234-5678 或 +86 13912345678", "手机 [电话] 或 [电话]"),
        ("座机0931-8881234", "座机[电话]"),
        ("身份证62010219900307123X", "身份证[身份证]"),
        ("老身份证620102900307123", "老身份证[身份证]"),
        ("邮箱 zhang.san@example.com", "邮箱 [邮箱]"),
        ("来自 223.104.1.2 的访问", "来自 [IP] 的访问"),
        ("地址 2408:8456:3c10:1c9::1", "地址 [IP]"),
        ("拨打12345热线、12348热线，2023年7月12日", "拨打12345热线、12348热线，2023年7月12日"),
        ("版本 1.2.3 共 100 人", "版本 1.2.3 共 100 人"),
        ("10:23:45 提交", "10:23:45 提交"),
    ],
)
def test_mask_text_hides_phones_ids_emails_and_ips_only(text, masked):
    assert privacy.mask_text(text) == masked
    assert privacy.mask_series(pd.Series([text, None])).tolist() == [masked, None]


@pytest.mark.parametrize(
    ("cell", "parts"),
    [
        ("223.104.1.2(甘肃-兰州)", ("223.104.1.2", "甘肃", "兰州")),
        ("223.104.1.2（甘肃－兰州）", ("223.104.1.2", "甘肃", "兰州")),
        ("223.104.1.2(甘肃)", ("223.104.1.2", "甘肃", "未知")),
        ("223.104.1.2", ("223.104.1.2", "未知", "未知")),
        ("", (None, "未知", "未知")),
        (None, (None, "未知", "未知")),
    ],
)
def test_ip_parts_split_ip_province_city(cell, parts):
    assert privacy.ip_parts(cell) == parts


def test_ip_columns_hash_the_ip_and_never_return_it():
    key = b"k" * 32
    got = privacy.ip_columns(pd.Series(["223.104.1.2(甘肃-兰州)", None, "223.104.1.2(甘肃-兰州)"]), key)
    assert got["ip_key"].iloc[0] == got["ip_key"].iloc[2] == privacy.pseudonym("223.104.1.2", key)
    assert got["ip_key"].iloc[1] == ""
    assert got["ip_city"].tolist() == ["兰州", "未知", "兰州"]
    assert not got.apply(lambda c: c.str.contains("223.104", regex=False)).any().any()


def test_pseudonym_series_of_arrow_strings_equals_elementwise():
    key = b"k" * 32
    values = ["1", " 7 ", "3.0", "a b", "", None, "x", "1"]
    s = pd.Series(values, dtype=pd.StringDtype(na_value=float("nan")))
    got = privacy.pseudonym_series(s, key)
    assert got.tolist() == [privacy.pseudonym(v, key) for v in values]
    assert got.dtype == pd.StringDtype(na_value=float("nan"))


@pytest.mark.parametrize("dtype", [object, pd.StringDtype(na_value=float("nan"))])
def test_ip_columns_of_plain_and_other_cells_equal_ip_parts_cell_by_cell(dtype):
    key = b"k" * 32
    cells = [
        "223.104.1.2(甘肃-兰州)",
        " 10.0.0.1 （北京）",
        "2408:8456::1(甘肃－兰州)",
        "223.104.1.2(甘肃-兰州)",
        "1.0",
        None,
        "42.91.87.129(甘肃)",
        "",
        "42.91.87.130",
    ]
    got = privacy.ip_columns(pd.Series(cells, dtype=dtype), key)
    for cell, (k, p, c) in zip(cells, got.itertuples(index=False), strict=True):
        ip, province, city = privacy.ip_parts(cell)
        assert (k, p, c) == (privacy.pseudonym(ip, key) if ip else "", province, city), cell


def test_every_run_warns_while_the_key_is_unset_and_says_why_and_how(monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    warning = privacy.default_key_warning()
    assert warning is not None and warning["code"] == "pseudonym_key_default"
    assert privacy.KEY_ENV in warning["message"] and "配置文件" in warning["message"]
    assert "export" in warning["message"]
    monkeypatch.setenv(privacy.KEY_ENV, "secret")
    assert privacy.default_key_warning() is None


def test_setting_or_changing_the_key_re_runs_ingest_but_never_stores_the_key(monkeypatch):
    from pipeline.runner import stage_key

    manifest = {"analysis_config_digest": "c", "config_files": {}, "seed": 1, "inputs": {}, "stages": {}}
    keys = []
    for value in (None, "secret", "another secret"):
        if value is None:
            monkeypatch.delenv(privacy.KEY_ENV, raising=False)
        else:
            monkeypatch.setenv(privacy.KEY_ENV, value)
        keys.append(stage_key("ingest", manifest, "code"))
        assert "secret" not in privacy.key_fingerprint()
    assert len(set(keys)) == 3


def test_run_report_masks_personal_data_in_the_error_it_records():
    from pipeline.run_report import build_report

    report = build_report(
        {}, failed={"stage": "ingest", "error": "未知单位 '１３９８７６５４３２１' (第 5 行)"}
    )
    assert report["failed"]["error"] == "未知单位 '[电话]' (第 5 行)"
