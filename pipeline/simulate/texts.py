"""Synthetic free text for fill-in answers, notes and names (not questionnaire text: that lives in the config).

Some answers carry personal data (mobile numbers, ID-card numbers) on purpose: ingest must mask them.
"""

from __future__ import annotations

import numpy as np

SUGGESTIONS = [
    "希望加强执法人员培训，做到文明执法",
    "政务服务大厅窗口太少，排队时间长",
    "普法宣传多进社区、进农村，形式要接地气",
    "12345热线回复及时，但问题解决不彻底",
    "建议公开执法过程，接受群众监督",
    "法律援助申请手续太复杂",
    "希望加大对电信诈骗的打击力度",
    "小区物业纠纷调解效果不好",
    "执行难问题突出，希望法院加大执行力度",
    "网上办事系统经常卡顿，希望改进",
    "无",
    "没有意见",
    "挺好的",
    "希望多听取老百姓意见",
]
OTHER_TEXTS = ["物业管理", "交通秩序", "食品安全", "拆迁补偿", "教育收费", "医疗纠纷", "环境污染"]
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞宁晨")
NOTES_LOW = [
    "未提供相关制度文件",
    "网站栏目长期未更新",
    "现场无人值守",
    "台账不完整，缺少会议记录",
    "仅有文件，未见落实材料",
    "公开内容不全，部分链接失效",
]
NOTES_MID = ["基本按要求落实，个别材料缺失", "资料齐全但更新不及时", "已建立制度，执行记录较少"]
#: address codes of 兰州 districts/counties for synthetic ID-card numbers.
AREA_CODES = ["620102", "620103", "620104", "620105", "620111", "620121", "620122", "620123"]


def phone(rng: np.random.Generator) -> str:
    return (
        "1"
        + str(rng.choice(["38", "39", "51", "58", "77", "86", "89"]))
        + "".join(str(d) for d in rng.integers(0, 10, 8))
    )


def id_card(rng: np.random.Generator) -> str:
    """An 18-digit resident ID number with a valid GB 11643 check digit."""
    year = int(rng.integers(1950, 2004))
    body = (
        str(rng.choice(AREA_CODES))
        + f"{year}{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"
        + "".join(str(d) for d in rng.integers(0, 10, 3))
    )
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def names(rng: np.random.Generator, n: int) -> list[str]:
    s = rng.integers(0, len(SURNAMES), n)
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = rng.integers(0, len(GIVEN), n)
    two = rng.random(n) < 0.6
    return [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if t else "") for a, b, c, t in zip(s, g1, g2, two, strict=True)
    ]
