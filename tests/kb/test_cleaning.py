"""Cleaning of extracted text: stray pinyin and scraped-page furniture."""

from kb.cleaning import clean_text, join_wrapped, remove_page_furniture, remove_stray_pinyin
from tests.conftest import SEED


def test_stray_pinyin_after_cjk_is_removed():
    assert remove_stray_pinyin("咨詢服務(wù)流程規(guī)範") == "咨詢服務流程規範"
    assert remove_stray_pinyin("全角括號（guān）也處理") == "全角括號也處理"


def test_parentheses_that_are_not_pinyin_are_kept():
    text = "客戶畫像(CustomerPersona)模型(Smith,2018)，計劃(PDCA)與客户(de)"
    assert remove_stray_pinyin(text) == text


def test_page_furniture_lines_are_removed_in_both_scripts():
    raw = "\n".join(
        [
            "咨詢服務流程規範(標準版)_第1頁",
            "已閱讀5頁,還剩12頁未讀, 繼續免費閱讀",
            "下载本文档",
            "版權說明:本文檔由用戶提供並上傳",
            "正文第一段。",
            "溫馨提示",
            "  • 1. 本站所有資源如無特殊說明",
            "  • 2. 本站的文檔不包含任何第三方提供的附件",
            "評論",
            "0/150",
            "提交評論",
        ]
    )
    assert remove_page_furniture(raw).strip() == "正文第一段。"


def test_body_lines_that_mention_pages_survive():
    text = "本报告共分三章，第1页为摘要。\n详见附录。"
    assert remove_page_furniture(text) == text


def test_seed_is_clean_and_keeps_its_script():
    cleaned = clean_text(SEED.read_text(encoding="utf-8"))
    assert "(wù)" not in cleaned and "(guī)" not in cleaned
    assert "已閱讀" not in cleaned and "溫馨提示" not in cleaned and "提交評論" not in cleaned
    assert "服務成果的整理與歸檔" in cleaned
    assert cleaned.startswith("咨詢服務流程規范與技巧")


def test_join_wrapped_lines():
    assert join_wrapped("项目组完成了\n流程梳理") == "项目组完成了流程梳理"
    assert join_wrapped("process\nowner") == "process owner"
