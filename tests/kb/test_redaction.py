"""Redaction: every secret masked, consistently aliased, and no ordinary word changed."""

import tempfile
from pathlib import Path

import pytest

from bench.redaction import measure
from kb.redaction import Redactor
from kb.slots import fill_slots

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = [
    ("华东某精密机械有限公司（化名：精工）", "制造业"),
    ("华南某供应链快运有限公司（化名：速达）", "物流"),
    ("华东某冷链物流有限公司（化名：鲜运）", "物流"),
]
ORDINARY = [
    "六、阶段成效：成品库存周转天数由 45 天降至 28 天，应付周转天数稳定在 25 天。",
    "晚间高峰时段顾客排队时间缩短 40%，顾客满意度提升。",
    "顾问团队 5 人驻场 3 周，顾问与店长逐店复核。",
    "门店毛利率提升 2.1 个百分点，年化改善毛利约 1,300 万元。",
    "汇报材料按金字塔原理组织，结论先行。",
    "统一门店陈列标准，新品陈列位按周轮换。",
    "白名单客户免于二次审批，白名单每季度复核。",
    "加盟店占门店总数的 30%，加盟店统一配送。",
    "集团同步启动财务咨询项目，财务咨询团队 4 人。",
    "精简管理层级，提高总部到网点的决策效率，投入不低于总工时的 20%。",
    "在计划部设“订单交付经理”岗位；客户方总经理判断问题不在产能。",
    "第 7 周向行长办公会汇报一次，输出 1 张端到端流程总图。",
    "灰度期规则宁严勿松；快速达成试点目标，生鲜运输损耗下降。",
]


def _redactor() -> Redactor:
    redactor = Redactor()
    for name, industry in CLIENTS:
        redactor.add_client(name, industry)
    return redactor


@pytest.mark.parametrize("sentence", ORDINARY, ids=[s[:8] for s in ORDINARY])
def test_ordinary_words_are_not_changed(sentence):
    redactor = _redactor()
    assert redactor.redact(sentence) == sentence
    assert redactor.report() == []


def test_ordinary_words_are_no_template_slots():
    text, names = fill_slots("成品库存周转天数下降，顾客高峰时段由顾问陈列白名单商品。")
    assert "人名" not in names and "机构名称" not in names, text


SECRETS = {
    "person": [
        "王建国",
        "吴先生",
        "周健",
        "韩立新",
        "何先生",
        "李娜",
        "陈女士",
        "赵总",
        "黃醫生",
    ],
    "phone": ["138-0000-2719", "021-0000-6688"],
    "email": ["zhou.jian@example.com"],
    "id_card": ["110101199003071234"],
    "client": ["华东某精密机械有限公司", "精工", "速达"],
}
PASSAGES = [
    "王建国每周听取一次汇报。",
    "华东某精密机械有限公司（下称“精工”）的总经理王建国委托我方压缩交付周期，运营副总吴先生"
    "共同确定目标；由李娜负责日常对接，精工的生产副总陈女士全程参与。",
    "项目联系人：项目经理 周健（zhou.jian@example.com，138-0000-2719），身份证号 "
    "110101199003071234；内部热线 021-0000-6688。",
    "2022 年 7 月，董事长 韩立新 决定重新制定战略；客戶方由生產運營部副主任何先生帶隊。",
    "客户方总经理赵总在启动会上提出诉求，首席醫療官黃醫生作為醫療總監參與。",
    "速达（化名）是一家区域零担快运企业。",
]


def test_secrets_are_masked_and_aliased_consistently():
    redactor = _redactor()
    redactor.learn(PASSAGES)
    redacted = [redactor.redact(p) for p in PASSAGES]
    text = "\n".join(redacted)
    for value in (v for values in SECRETS.values() for v in values):
        assert value not in text, value
    report = {r["original"]: r for r in redactor.report()}
    assert set(SECRETS) <= {r["kind"] for r in report.values()}
    assert redacted[0] == f"{report['王建国']['alias']}每周听取一次汇报。"
    assert report["王建国"]["count"] == 2 and report["周健"]["kind"] == "person"
    client = report["华东某精密机械有限公司（化名：精工）"]
    assert client["alias"] == "某制造业企业A" and client["count"] == 3
    assert text.count("某制造业企业A") == 3
    aliases = [r["alias"] for r in report.values() if r["kind"] == "person"]
    assert len(aliases) == len(set(aliases)) == len(SECRETS["person"])


def test_corpus_export_masks_every_secret_and_changes_no_ordinary_word():
    with tempfile.TemporaryDirectory() as folder:
        result = measure(ROOT / "corpus", Path(folder))
    assert result.passages > 600 and result.replaced["person"] > 60
    assert result.false == []
    assert dict(result.missed) == {}
    assert len(result.masked) > 100 and all(result.masked.values())
