"""Document building helpers: type inference and document ids."""

from pathlib import Path

import pytest

from ingest.documents import derive_doc_id, guess_type


@pytest.mark.parametrize(
    ("path", "title", "expected"),
    [
        ("/lib/cases/a.md", "流程优化项目", "case"),
        ("/lib/lessons/a.md", "任意标题", "lesson"),
        ("/lib/SOP/a.md", "任意标题", "sop"),
        ("/lib/a.txt", "咨詢服務流程規範與技巧", "sop"),
        ("/lib/a.md", "数据口径不一致的教训", "lesson"),
        ("/lib/a.md", "某银行流程优化项目", "case"),
        ("/lib/a.md", "无从判断", "case"),
    ],
)
def test_type_comes_from_folder_then_title(path, title, expected):
    assert guess_type(Path(path), title) == expected


def test_doc_id_is_front_matter_id_or_a_slug_of_the_file_name():
    assert derive_doc_id(Path("/x/whatever.md"), " CASE-2023-017 ") == "CASE-2023-017"
    assert derive_doc_id(Path("/x/项目 复盘 (终稿).md"), None) == "项目-复盘-终稿"
