"""Index-side normalisation and tokens, user dictionary and synonyms."""

from pathlib import Path

from kb.text import STOPWORDS, TextPipeline, char_bigrams, normalize_for_index


def test_normalisation_is_one_char_per_char_and_simplified():
    original = "諮詢服務（標準版）ＡＢＣ後臺"
    normalized = normalize_for_index(original)
    assert len(normalized) == len(original)
    assert normalized == "咨询服务(标准版)abc后台"


def test_tokens_are_the_same_for_both_scripts():
    pipeline = TextPipeline()
    assert pipeline.index_tokens("服務成果的整理與歸檔") == pipeline.index_tokens(
        "服务成果的整理与归档"
    )


def test_tokens_drop_stopwords_and_add_bigrams():
    tokens = TextPipeline().index_tokens("我们的供应链成本控制")
    assert "的" not in tokens and "我们" not in tokens
    assert "供应链" in tokens and "成本" in tokens
    assert "应链" in tokens
    assert not set(char_bigrams("包括哪些")) - {"包括", "括哪", "哪些"}
    assert "包括" in STOPWORDS


def test_user_dictionary_and_synonyms(tmp_path: Path):
    pipeline = TextPipeline(tmp_path)
    assert "成果包" not in pipeline.words("对于复杂项目采用成果包归档")
    (tmp_path / "userdict.txt").write_text("成果包 50 n\n", encoding="utf-8")
    (tmp_path / "synonyms.txt").write_text("客户,顾客,甲方\n", encoding="utf-8")
    pipeline.load_resources(tmp_path)
    assert "成果包" in pipeline.words("对于复杂项目采用成果包归档")
    assert "客户" in pipeline.words("甲方满意度提升")
    assert {"客户", "顾客", "甲方"} <= set(pipeline.highlight_terms("顾客满意度"))


def test_resource_files_are_created_with_help(tmp_path: Path):
    pipeline = TextPipeline(tmp_path)
    assert (tmp_path / "userdict.txt").read_text(encoding="utf-8").startswith("#")
    assert (tmp_path / "synonyms.txt").exists()
    assert len(pipeline.config_hash) == 12
